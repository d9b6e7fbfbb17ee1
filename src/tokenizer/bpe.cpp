// tokenizer/bpe.cpp - loading vocab.json / merges.txt and merging the symbols of one word.
#include "tokenizer/bpe.h"

#include "zeroclip/error.h"
#include "util/regular_file.h"
#include "util/json_text.h"

#include <nlohmann/json.hpp>

#include <array>
#include <cstring>
#include <fstream>
#include <queue>

namespace zeroclip {

namespace {

// Real files are ~1 MB (vocab.json) and ~0.5 MB (merges.txt); refuse anything absurd.
constexpr std::uintmax_t kMaxFileBytes = 64u << 20;
// Far above any real vocabulary; keeps vocab_size() a sane table size.
constexpr int64_t kMaxTokenId = (int64_t(1) << 24) - 1;
// The unknown token of OpenAI CLIP checkpoints (HF's CLIPTokenizer default).
constexpr std::string_view kUnkToken = "<|endoftext|>";
constexpr std::string_view kEndOfWord = "</w>";

std::string read_whole_file(const std::filesystem::path& path) {
    std::error_code ec;
    const std::uintmax_t size = std::filesystem::file_size(path, ec);
    if (ec) throw Error("tokenizer: cannot open " + path.string() + ": " + ec.message());
    if (size > kMaxFileBytes) throw Error("tokenizer: " + path.string() + " is too large");
    require_regular_file(path);
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("tokenizer: cannot open " + path.string());
    std::string data(size_t(size), '\0');
    if (!in.read(data.data(), std::streamsize(size))) throw Error("tokenizer: cannot read " + path.string());
    return data;
}

std::unordered_map<std::string, int32_t> parse_vocab(const std::filesystem::path& path) {
    nlohmann::json json;
    try {
        json = nlohmann::json::parse(read_whole_file(path));
    } catch (const nlohmann::json::exception& e) {
        throw Error("tokenizer: " + path.string() + " is not valid JSON: " + e.what());
    }
    if (!json.is_object()) throw Error("tokenizer: " + path.string() + " must be a JSON object of token -> id");
    std::unordered_map<std::string, int32_t> vocab;
    vocab.reserve(json.size());
    for (const auto& [token, id] : json.items()) {
        if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > kMaxTokenId) {
            throw Error("tokenizer: " + path.string() + ": token " + json_text(token) +
                        " has an invalid id " + json_text(id));
        }
        vocab.emplace(token, int32_t(id.get<int64_t>()));
    }
    return vocab;
}

}  // namespace

const std::string& byte_to_unicode(uint8_t byte) {
    // Printable Latin-1 bytes map to themselves; the others to U+0100.. in byte order.
    static const std::array<std::string, 256> table = [] {
        std::array<std::string, 256> t;
        int next_extra = 256;
        for (int b = 0; b < 256; ++b) {
            const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            const int cp = printable ? b : next_extra++;
            if (cp < 0x80) t[b] = std::string(1, char(cp));
            else t[b] = {char(0xC0 | (cp >> 6)), char(0x80 | (cp & 0x3F))};
        }
        return t;
    }();
    return table[byte];
}

BytePairEncoder::BytePairEncoder(const std::filesystem::path& vocab_json, const std::filesystem::path& merges_txt)
    : vocab_(parse_vocab(vocab_json)) {
    for (const auto& entry : vocab_) vocab_size_ = std::max(vocab_size_, entry.second + 1);

    // Like HF's BPE: a symbol missing from the vocabulary becomes the unknown token.
    const std::optional<int32_t> unk = token_id(kUnkToken);
    for (int b = 0; b < 256; ++b) {
        const std::string& symbol = byte_to_unicode(uint8_t(b));
        const auto inner = token_id(symbol);
        const auto end = token_id(symbol + std::string(kEndOfWord));
        if ((!inner || !end) && !unk) {
            throw Error("tokenizer: " + vocab_json.string() + " lacks byte symbol " +
                        json_text(symbol) + " and the unknown token " + std::string(kUnkToken));
        }
        byte_ids_[b] = inner ? *inner : *unk;
        end_byte_ids_[b] = end ? *end : *unk;
    }

    // merges.txt: "#version" header lines, then one "left right" pair per line, best first.
    const std::string text = read_whole_file(merges_txt);
    std::unordered_map<uint64_t, Merge> merges;
    size_t line_number = 0;
    int32_t rank = 0;
    for (size_t pos = 0; pos < text.size();) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        std::string_view line(text.data() + pos, end - pos);
        pos = end + 1;
        ++line_number;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.starts_with("#version")) continue;

        const auto where = [&] { return "tokenizer: " + merges_txt.string() + ":" + std::to_string(line_number); };
        const size_t space = line.find(' ');
        if (space == 0 || space == std::string_view::npos || space + 1 == line.size() ||
            line.find(' ', space + 1) != std::string_view::npos) {
            throw Error(where() + ": expected two tokens separated by one space");
        }
        const std::string_view left = line.substr(0, space);
        const std::string_view right = line.substr(space + 1);
        const auto left_id = token_id(left);
        const auto right_id = token_id(right);
        const auto merged_id = token_id(std::string(left) + std::string(right));
        if (!left_id || !right_id || !merged_id) {
            throw Error(where() + ": merge \"" + std::string(line) + "\" uses a token missing from " +
                        vocab_json.string());
        }
        // A repeated pair keeps its last rank, as in HF's map construction.
        merges.insert_or_assign(pair_key(*left_id, *right_id), Merge{pair_key(*left_id, *right_id), rank++, *merged_id});
    }
    std::vector<Merge> entries;
    entries.reserve(merges.size());
    for (const auto& item : merges) entries.push_back(item.second);
    build_merge_table(entries);
}

void BytePairEncoder::build_merge_table(const std::vector<Merge>& merges) {
    size_t size = 16;
    while (size < 2 * merges.size()) size *= 2;
    merge_table_.assign(size, Merge{});
    for (const Merge& m : merges) {
        size_t slot = slot_of(m.pair, size - 1);
        while (merge_table_[slot].pair != kEmpty && merge_table_[slot].pair != m.pair) slot = (slot + 1) & (size - 1);
        merge_table_[slot] = m;
    }
}

namespace {

// to_bytes layout: a version, vocab_size, the 2 x 256 byte symbol ids, then the merge table.
constexpr uint32_t kBytesVersion = 1;

template <typename T>
void append(std::string& out, const T* data, size_t count) {
    out.append(reinterpret_cast<const char*>(data), count * sizeof(T));
}

}  // namespace

std::string BytePairEncoder::to_bytes() const {
    std::string out;
    const int32_t head[] = {int32_t(kBytesVersion), vocab_size_, int32_t(merge_table_.size())};
    append(out, head, 3);
    append(out, byte_ids_, 256);
    append(out, end_byte_ids_, 256);
    append(out, merge_table_.data(), merge_table_.size());
    return out;
}

std::optional<BytePairEncoder> BytePairEncoder::from_bytes(std::span<const std::byte> bytes) {
    int32_t head[3];
    constexpr size_t kFixed = sizeof head + 2 * 256 * sizeof(int32_t);
    if (bytes.size() < kFixed) return std::nullopt;
    std::memcpy(head, bytes.data(), sizeof head);
    const size_t table = size_t(uint32_t(head[2]));
    if (head[0] != int32_t(kBytesVersion) || head[1] <= 0 || head[1] > kMaxTokenId + 1 || table < 16 ||
        (table & (table - 1)) != 0 || bytes.size() != kFixed + table * sizeof(Merge))
        return std::nullopt;
    BytePairEncoder bpe;
    bpe.vocab_size_ = head[1];
    std::memcpy(bpe.byte_ids_, bytes.data() + sizeof head, sizeof bpe.byte_ids_);
    std::memcpy(bpe.end_byte_ids_, bytes.data() + sizeof head + sizeof bpe.byte_ids_, sizeof bpe.end_byte_ids_);
    bpe.merge_table_.resize(table);
    std::memcpy(bpe.merge_table_.data(), bytes.data() + kFixed, table * sizeof(Merge));
    const auto valid = [&](int32_t id) { return id >= 0 && id < bpe.vocab_size_; };
    for (int b = 0; b < 256; ++b)
        if (!valid(bpe.byte_ids_[b]) || !valid(bpe.end_byte_ids_[b])) return std::nullopt;
    size_t used = 0;
    for (const Merge& m : bpe.merge_table_) {
        if (m.pair == kEmpty) continue;
        ++used;
        if (!valid(int32_t(m.pair >> 32)) || !valid(int32_t(uint32_t(m.pair))) || !valid(m.merged_id) || m.rank < 0)
            return std::nullopt;
    }
    if (2 * used > table) return std::nullopt;  // probing needs empty slots to stop
    return bpe;
}

std::optional<int32_t> BytePairEncoder::token_id(std::string_view token) const {
    const auto it = vocab_.find(std::string(token));
    if (it == vocab_.end()) return std::nullopt;
    return it->second;
}

const BytePairEncoder::Merge* BytePairEncoder::find_merge(int32_t left, int32_t right) const {
    const uint64_t pair = pair_key(left, right);
    const size_t mask = merge_table_.size() - 1;
    for (size_t slot = slot_of(pair, mask);; slot = (slot + 1) & mask) {
        const Merge& m = merge_table_[slot];
        if (m.pair == pair) return &m;
        if (m.pair == kEmpty) return nullptr;
    }
}

void BytePairEncoder::encode_word(std::string_view word, std::vector<int32_t>& out) const {
    const int32_t n = int32_t(word.size());
    if (n == 0) return;

    // Symbols form a linked list over the word's bytes; a merge absorbs the right symbol.
    struct Symbol {
        int32_t id, prev, next;
        bool alive;
    };
    std::vector<Symbol> symbols(word.size());
    for (int32_t i = 0; i < n; ++i) {
        const uint8_t byte = uint8_t(word[size_t(i)]);
        symbols[size_t(i)] = {i + 1 < n ? byte_ids_[byte] : end_byte_ids_[byte], i - 1, i + 1 < n ? i + 1 : -1, true};
    }

    // Lowest rank first, then leftmost: the order of HF's merge queue (and of OpenAI's loop).
    struct Candidate {
        int32_t rank, left;
        bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
    };
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
    const auto push_pair = [&](int32_t left) {
        const int32_t right = symbols[size_t(left)].next;
        if (right < 0) return;
        if (const Merge* m = find_merge(symbols[size_t(left)].id, symbols[size_t(right)].id)) queue.push({m->rank, left});
    };
    for (int32_t i = 0; i + 1 < n; ++i) push_pair(i);

    while (!queue.empty()) {
        const Candidate c = queue.top();
        queue.pop();
        Symbol& left = symbols[size_t(c.left)];
        if (!left.alive || left.next < 0) continue;
        Symbol& right = symbols[size_t(left.next)];
        // Stale entry: ranks are unique per pair, so an equal rank means the pair is still there.
        const Merge* m = find_merge(left.id, right.id);
        if (!m || m->rank != c.rank) continue;
        left.id = m->merged_id;
        right.alive = false;
        left.next = right.next;
        if (right.next >= 0) symbols[size_t(right.next)].prev = c.left;
        if (left.prev >= 0) push_pair(left.prev);
        push_pair(c.left);
    }

    for (int32_t i = 0; i >= 0; i = symbols[size_t(i)].next) out.push_back(symbols[size_t(i)].id);
}

}  // namespace zeroclip
