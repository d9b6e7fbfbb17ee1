// SiglipTokenizer (slow, transformers): canonicalise, SentencePiece behind an "<unk>" prefix, </s>.
#include "models/siglip/siglip_tokenizer.h"

#include <sentencepiece_processor.h>
#include <utf8proc.h>

#include <fstream>
#include <iterator>

#include "zeroclip/error.h"

namespace zeroclip {

namespace {

constexpr std::string_view kUnderline = "\xE2\x96\x81";  // U+2581, SentencePiece's space
constexpr std::uintmax_t kMaxModelBytes = 64u << 20;

void append_utf8(std::string& out, int32_t cp) {
    utf8proc_uint8_t buf[4];
    out.append(reinterpret_cast<const char*>(buf), size_t(utf8proc_encode_char(cp, buf)));
}

// Code points of `s`, each maximal ill-formed subsequence decoded as U+FFFD (what Python's
// bytes.decode("utf-8", "replace") does: transformers only ever sees str).
std::vector<int32_t> decode_utf8(std::string_view s) {
    std::vector<int32_t> out;
    out.reserve(s.size());
    size_t i = 0;
    while (i < s.size()) {
        const uint8_t lead = uint8_t(s[i]);
        int trail = 0;
        uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the first continuation byte
        int32_t cp = 0;
        if (lead < 0x80) trail = 0, cp = lead;
        else if (lead >= 0xC2 && lead <= 0xDF) trail = 1, cp = lead & 0x1F;
        else if (lead == 0xE0) trail = 2, lo = 0xA0, cp = lead & 0x0F;
        else if (lead == 0xED) trail = 2, hi = 0x9F, cp = lead & 0x0F;
        else if (lead >= 0xE1 && lead <= 0xEF) trail = 2, cp = lead & 0x0F;
        else if (lead == 0xF0) trail = 3, lo = 0x90, cp = lead & 0x07;
        else if (lead == 0xF4) trail = 3, hi = 0x8F, cp = lead & 0x07;
        else if (lead >= 0xF1 && lead <= 0xF3) trail = 3, cp = lead & 0x07;
        else trail = -1;
        size_t end = i + 1;
        bool complete = trail >= 0;
        for (int k = 0; k < trail; ++k, ++end) {
            const uint8_t b = end < s.size() ? uint8_t(s[end]) : 0;
            if (end >= s.size() || b < (k == 0 ? lo : 0x80) || b > (k == 0 ? hi : 0xBF)) {
                complete = false;
                break;
            }
            cp = (cp << 6) | (b & 0x3F);
        }
        out.push_back(complete ? cp : 0xFFFD);
        i = end;
    }
    return out;
}

// Python's str.isspace: bidirectional class WS, B or S, or category Zs.
bool is_python_space(int32_t cp) {
    if (cp < 0x80) return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20);
    if (cp == 0x85 || cp == 0xA0) return true;
    const utf8proc_property_t* p = utf8proc_get_property(cp);
    return p->category == UTF8PROC_CATEGORY_ZS || p->bidi_class == UTF8PROC_BIDI_CLASS_WS ||
           p->bidi_class == UTF8PROC_BIDI_CLASS_B || p->bidi_class == UTF8PROC_BIDI_CLASS_S;
}

// Python's string.punctuation.
bool is_ascii_punctuation(int32_t cp) {
    return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) || (cp >= 0x5B && cp <= 0x60) ||
           (cp >= 0x7B && cp <= 0x7E);
}

}  // namespace

std::string canonicalize_siglip_text(std::string_view text) {
    // SiglipTokenizer.tokenize: "▁" -> " ", then "▁" prepended (add_prefix_space).
    std::vector<int32_t> chars{0x2581};
    for (int32_t cp : decode_utf8(text)) chars.push_back(cp == 0x2581 ? 0x20 : cp);

    // canonicalize_text: punctuation removed, re.sub(r"\s+", " "), strip().
    std::vector<int32_t> kept;
    kept.reserve(chars.size());
    for (int32_t cp : chars) {
        if (is_ascii_punctuation(cp)) continue;
        if (is_python_space(cp)) {
            if (!kept.empty() && kept.back() == 0x20) continue;
            cp = 0x20;
        }
        kept.push_back(cp);
    }
    size_t first = 0, last = kept.size();
    while (first < last && kept[first] == 0x20) ++first;
    while (last > first && kept[last - 1] == 0x20) --last;

    // do_lower_case: str.lower() per character (U+0130 is the one unconditional
    // multi-character lowercase mapping).
    std::string out;
    out.reserve(last - first + 8);
    for (size_t i = first; i < last; ++i) {
        if (kept[i] == 0x130) {
            append_utf8(out, 'i');
            append_utf8(out, 0x307);
        } else {
            append_utf8(out, utf8proc_tolower(kept[i]));
        }
    }
    return out;
}

SiglipTokenizer::~SiglipTokenizer() = default;

std::unique_ptr<SiglipTokenizer> SiglipTokenizer::from_file(const std::filesystem::path& spiece_model) {
    const std::string name = spiece_model.string();
    std::error_code ec;
    const auto size = std::filesystem::file_size(spiece_model, ec);
    if (ec) throw Error(name + ": cannot open the SentencePiece model");
    if (size > kMaxModelBytes) throw Error(name + ": larger than 64 MiB: not a SentencePiece model");
    std::ifstream in(spiece_model, std::ios::binary);
    std::string proto((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) throw Error(name + ": read error");
    // SiglipTokenizer loads the model with normalizer_spec.add_dummy_prefix = false. Protobuf
    // merges a repeated message field into the earlier one, so appending
    // `normalizer_spec { add_dummy_prefix: false }` (field 3 { field 3: 0 }) overrides just that flag.
    proto.append("\x1A\x02\x18\x00", 4);

    std::unique_ptr<SiglipTokenizer> tok(new SiglipTokenizer());
    tok->sp_ = std::make_unique<sentencepiece::SentencePieceProcessor>();
    const auto status = tok->sp_->LoadFromSerializedProto(proto);
    if (!status.ok()) throw Error(name + ": not a SentencePiece model (" + status.ToString() + ")");
    tok->eos_id_ = tok->sp_->PieceToId("</s>");
    if (tok->eos_id_ == tok->sp_->unk_id()) throw Error(name + ": the SentencePiece model has no </s> piece");
    std::vector<std::string> pieces;
    if (!tok->sp_->Encode("<unk>", &pieces).ok()) throw Error(name + ": cannot encode \"<unk>\"");
    tok->unk_prefix_pieces_ = static_cast<int>(pieces.size());
    return tok;
}

std::vector<int32_t> SiglipTokenizer::encode(std::string_view text) const {
    // An empty text is tokenized as nothing; any other goes through the canonicalisation.
    if (text.empty()) return {};
    const std::string canonical = canonicalize_siglip_text(text);
    // SiglipTokenizer._tokenize: SentencePiece without its dummy prefix sees "<unk>" + text so
    // that a leading "▁" is kept as the text's own; the "<unk>" pieces are then dropped.
    std::vector<std::string> pieces;
    const auto status = sp_->Encode("<unk>" + canonical, &pieces);
    if (!status.ok()) throw Error("tokenizer: SentencePiece failed: " + status.ToString());
    std::vector<int32_t> ids;
    if (pieces.size() < size_t(unk_prefix_pieces_)) {
        for (const auto& p : pieces) ids.push_back(sp_->PieceToId(p));
        return ids;
    }
    ids.reserve(pieces.size() - unk_prefix_pieces_);
    for (size_t i = unk_prefix_pieces_; i < pieces.size(); ++i) ids.push_back(sp_->PieceToId(pieces[i]));
    return ids;
}

std::vector<int32_t> SiglipTokenizer::encode_for_model(std::string_view text, int context_length) const {
    if (context_length < 1) throw Error("tokenizer: context length must be at least 1");
    std::vector<int32_t> ids = encode(text);
    if (ids.size() > size_t(context_length - 1)) ids.resize(context_length - 1);
    ids.push_back(eos_id_);
    return ids;
}

int32_t SiglipTokenizer::vocab_size() const { return sp_->GetPieceSize(); }

}  // namespace zeroclip
