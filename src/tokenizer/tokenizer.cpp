// tokenizer/tokenizer.cpp - CLIPTokenizerFast's pipeline: normalise, split, byte-level BPE.
//
// Invalid UTF-8 input is decoded like Python's bytes.decode("utf-8", "replace") (each maximal
// ill-formed subsequence becomes U+FFFD): HF's tokenizer only ever sees Python str.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "zeroclip/tokenizer.h"

#include "tokenizer/bpe.h"
#include "tokenizer/final_sigma.h"
#include "tokenizer/tokenizer_cache.h"
#include "zeroclip/error.h"

#include <pcre2.h>
#include <utf8proc.h>

#include <cstdlib>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace zeroclip {

namespace {

constexpr std::string_view kStartToken = "<|startoftext|>";
constexpr std::string_view kEndToken = "<|endoftext|>";

// CLIP's split pattern without its special-token alternatives: those are matched beforehand, as
// HF's added tokens are. Text between matches (whitespace) is dropped. The ByteLevel
// pre-tokenizer that follows in HF re-splits each piece with GPT-2's pattern, which never cuts
// a piece produced by this one, so it is omitted.
constexpr const char* kSplitPattern = R"('s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+)";

// Bounds the per-word cache; CLIP prompts use a few thousand distinct words.
constexpr size_t kMaxCachedWords = 1 << 16;
constexpr size_t kMaxCachedWordBytes = 64;

void append_utf8(std::string& out, utf8proc_int32_t cp) {
    utf8proc_uint8_t buf[4];
    out.append(reinterpret_cast<const char*>(buf), size_t(utf8proc_encode_char(cp, buf)));
}

// Valid UTF-8 with each maximal ill-formed subsequence replaced by U+FFFD (Unicode's
// "substitution of maximal subparts", which Python follows).
std::string to_valid_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    size_t i = 0;
    while (i < s.size()) {
        const uint8_t lead = uint8_t(s[i]);
        int trail = 0;
        uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the first continuation byte
        if (lead < 0x80) trail = 0;
        else if (lead >= 0xC2 && lead <= 0xDF) trail = 1;
        else if (lead == 0xE0) trail = 2, lo = 0xA0;
        else if (lead == 0xED) trail = 2, hi = 0x9F;  // no surrogates
        else if (lead >= 0xE1 && lead <= 0xEF) trail = 2;
        else if (lead == 0xF0) trail = 3, lo = 0x90;
        else if (lead == 0xF4) trail = 3, hi = 0x8F;  // nothing above U+10FFFF
        else if (lead >= 0xF1 && lead <= 0xF3) trail = 3;
        else trail = -1;

        size_t end = i + 1;
        bool complete = trail >= 0;
        for (int k = 0; k < trail; ++k, ++end) {
            const uint8_t b = end < s.size() ? uint8_t(s[end]) : 0;
            if (end >= s.size() || b < (k == 0 ? lo : 0x80) || b > (k == 0 ? hi : 0xBF)) {
                complete = false;
                break;
            }
        }
        if (complete) out.append(s.substr(i, end - i));
        else append_utf8(out, 0xFFFD);
        i = end;
    }
    return out;
}

// HF's normaliser: NFC, then each character's full lowercase mapping, with the one context rule
// that Rust's str::to_lowercase applies: final sigma. Its whitespace-run collapsing and the strip are left out: the split drops all
// whitespace anyway.
std::string normalize(std::string_view text) {
    bool ascii = true;
    for (char c : text) ascii = ascii && uint8_t(c) < 0x80;
    std::string out;
    if (ascii) {
        out.reserve(text.size());
        for (char c : text) out.push_back(c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c);
        return out;
    }

    const std::string valid = to_valid_utf8(text);
    utf8proc_uint8_t* nfc = nullptr;
    const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(valid.data()),
                                            utf8proc_ssize_t(valid.size()), &nfc,
                                            utf8proc_option_t(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
    if (n < 0) throw Error(std::string("tokenizer: NFC normalisation failed: ") + utf8proc_errmsg(n));
    std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owned(nfc, &std::free);

    std::vector<int32_t> code_points;
    code_points.reserve(size_t(n));
    for (utf8proc_ssize_t pos = 0; pos < n;) {
        utf8proc_int32_t cp = 0;
        pos += utf8proc_iterate(nfc + pos, n - pos, &cp);
        code_points.push_back(cp);
    }
    out.reserve(size_t(n) + 8);
    for (size_t i = 0; i < code_points.size(); ++i) {
        const int32_t cp = code_points[i];
        if (cp == 0x130) {
            // The only unconditional multi-character lowercase mapping (SpecialCasing.txt).
            append_utf8(out, 'i');
            append_utf8(out, 0x307);
        } else if (cp == 0x3A3 && is_final_sigma(code_points, i)) {
            append_utf8(out, 0x3C2);
        } else {
            append_utf8(out, utf8proc_tolower(cp));
        }
    }
    return out;
}

}  // namespace

struct Tokenizer::Impl {
    Impl(BytePairEncoder bpe_, int32_t bos_, int32_t eos_, pcre2_code* split_)
        : bpe(std::move(bpe_)), bos(bos_), eos(eos_), split(split_) {}
    ~Impl() { pcre2_code_free(split); }
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;

    void encode_segment(std::string_view segment, std::vector<int32_t>& out) const;
    void encode_word(std::string_view word, std::vector<int32_t>& out) const;

    BytePairEncoder bpe;
    int32_t bos, eos;
    pcre2_code* split;

    mutable std::shared_mutex cache_mutex;
    mutable std::unordered_map<std::string, std::vector<int32_t>> cache;
};

void Tokenizer::Impl::encode_word(std::string_view word, std::vector<int32_t>& out) const {
    if (word.size() > kMaxCachedWordBytes) {
        bpe.encode_word(word, out);
        return;
    }
    const std::string key(word);
    {
        std::shared_lock lock(cache_mutex);
        if (const auto it = cache.find(key); it != cache.end()) {
            out.insert(out.end(), it->second.begin(), it->second.end());
            return;
        }
    }
    std::vector<int32_t> ids;
    bpe.encode_word(word, ids);
    out.insert(out.end(), ids.begin(), ids.end());
    std::unique_lock lock(cache_mutex);
    if (cache.size() >= kMaxCachedWords) cache.clear();
    cache.emplace(key, std::move(ids));
}

void Tokenizer::Impl::encode_segment(std::string_view segment, std::vector<int32_t>& out) const {
    if (segment.empty()) return;
    std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> match(
        pcre2_match_data_create_from_pattern(split, nullptr), &pcre2_match_data_free);
    if (!match) throw Error("tokenizer: out of memory");
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(segment.data());
    size_t offset = 0;
    while (offset < segment.size()) {
        const int rc = pcre2_match(split, subject, segment.size(), offset, PCRE2_NO_UTF_CHECK, match.get(), nullptr);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) throw Error("tokenizer: split regex failed with PCRE2 error " + std::to_string(rc));
        const PCRE2_SIZE* span = pcre2_get_ovector_pointer(match.get());
        encode_word(segment.substr(span[0], span[1] - span[0]), out);
        offset = span[1];  // every alternative consumes at least one character
    }
}

Tokenizer Tokenizer::from_files(const std::filesystem::path& vocab_json, const std::filesystem::path& merges_txt) {
    BytePairEncoder bpe(vocab_json, merges_txt);
    const auto bos = bpe.token_id(kStartToken);
    const auto eos = bpe.token_id(kEndToken);
    if (!bos || !eos) {
        throw Error("tokenizer: " + vocab_json.string() + " lacks " +
                    std::string(!bos ? kStartToken : kEndToken));
    }
    return from_encoder(std::move(bpe), *bos, *eos);
}

Tokenizer Tokenizer::from_encoder(BytePairEncoder bpe, int32_t bos, int32_t eos) {
    int error = 0;
    PCRE2_SIZE error_offset = 0;
    pcre2_code* split = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(kSplitPattern), PCRE2_ZERO_TERMINATED,
                                      PCRE2_UTF | PCRE2_UCP, &error, &error_offset, nullptr);
    if (!split) throw Error("tokenizer: cannot compile the split regex (PCRE2 error " + std::to_string(error) + ")");
    pcre2_jit_compile(split, PCRE2_JIT_COMPLETE);  // optional speed-up: without JIT, pcre2_match interprets
    return Tokenizer(std::make_unique<Impl>(std::move(bpe), bos, eos, split));
}

Tokenizer Tokenizer::from_directory(const std::filesystem::path& model_dir, const CacheOptions& cache) {
    const auto vocab = model_dir / "vocab.json", merges = model_dir / "merges.txt";
    const auto key = cache.enabled ? tokenizer_cache_key(vocab, merges) : std::nullopt;
    if (!key) return from_files(vocab, merges);
    if (auto cached = load_cached_tokenizer(cache, *key)) return from_encoder(std::move(cached->bpe), cached->bos, cached->eos);
    Tokenizer tokenizer = from_files(vocab, merges);
    store_cached_tokenizer(cache, *key, tokenizer.impl_->bpe, tokenizer.impl_->bos, tokenizer.impl_->eos);
    return tokenizer;
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

std::vector<int32_t> Tokenizer::encode(std::string_view text) const {
    const std::string normalized = normalize(text);
    const std::string_view rest_all(normalized);
    std::vector<int32_t> ids;

    // Special tokens are found in the normalised text (HF's added tokens with normalized=true),
    // and the text around them is split on its own.
    size_t start = 0;
    for (size_t pos = rest_all.find("<|"); pos != std::string_view::npos; pos = rest_all.find("<|", pos)) {
        const std::string_view rest = rest_all.substr(pos);
        int32_t special = -1;
        size_t length = 0;
        if (rest.starts_with(kStartToken)) special = impl_->bos, length = kStartToken.size();
        else if (rest.starts_with(kEndToken)) special = impl_->eos, length = kEndToken.size();
        if (special < 0) {
            pos += 2;
            continue;
        }
        impl_->encode_segment(rest_all.substr(start, pos - start), ids);
        ids.push_back(special);
        start = pos = pos + length;
    }
    impl_->encode_segment(rest_all.substr(start), ids);
    return ids;
}

std::vector<int32_t> Tokenizer::encode_for_model(std::string_view text, int context_length) const {
    if (context_length < 2) {
        throw Error("tokenizer: context_length must be at least 2, got " + std::to_string(context_length));
    }
    std::vector<int32_t> body = encode(text);
    if (body.size() > size_t(context_length) - 2) body.resize(size_t(context_length) - 2);
    std::vector<int32_t> ids;
    ids.reserve(body.size() + 2);
    ids.push_back(impl_->bos);
    ids.insert(ids.end(), body.begin(), body.end());
    ids.push_back(impl_->eos);
    return ids;
}

int32_t Tokenizer::bos_id() const { return impl_->bos; }
int32_t Tokenizer::eos_id() const { return impl_->eos; }
int32_t Tokenizer::vocab_size() const { return impl_->bpe.vocab_size(); }

}  // namespace zeroclip
