// tokenizer/bpe.h - byte-level BPE over a Hugging Face vocab.json + merges.txt pair.
//
// CLIP flavour: a word is the UTF-8 bytes of one pre-token, each byte mapped to a printable
// character (GPT-2's bytes_to_unicode), and the last symbol carries the "</w>" suffix.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace zeroclip {

class BytePairEncoder {
public:
    // Throws zeroclip::Error naming the file on a missing, oversized or malformed file.
    BytePairEncoder(const std::filesystem::path& vocab_json, const std::filesystem::path& merges_txt);

    // What encoding needs (merges and byte symbols, not the vocabulary's strings) as bytes, for
    // the tokenizer cache, and back: from_bytes checks every id and returns nullopt on bytes
    // to_bytes did not write.
    std::string to_bytes() const;
    static std::optional<BytePairEncoder> from_bytes(std::span<const std::byte> bytes);

    // Appends the ids of one pre-tokenised word (its raw UTF-8 bytes) to `out`.
    void encode_word(std::string_view word, std::vector<int32_t>& out) const;

    // The id of a token of the vocabulary (of an encoder built from the files; one restored
    // by from_bytes has no vocabulary strings and answers nullopt).
    std::optional<int32_t> token_id(std::string_view token) const;
    // Largest id + 1, so that every id this encoder returns indexes a table of that size.
    int32_t vocab_size() const { return vocab_size_; }

private:
    BytePairEncoder() = default;
    struct Merge {
        uint64_t pair = kEmpty;  // pair_key(left, right)
        int32_t rank = 0;
        int32_t merged_id = 0;
    };
    static constexpr uint64_t kEmpty = ~uint64_t(0);  // no valid pair: ids are < 2^24
    static uint64_t pair_key(int32_t left, int32_t right) {
        return (uint64_t(uint32_t(left)) << 32) | uint32_t(right);
    }
    static size_t slot_of(uint64_t pair, size_t mask) { return size_t((pair * 0x9E3779B97F4A7C15ull) >> 32) & mask; }
    // Builds the open-addressing merge table from (pair, rank, merged) entries.
    void build_merge_table(const std::vector<Merge>& merges);
    const Merge* find_merge(int32_t left, int32_t right) const;

    std::unordered_map<std::string, int32_t> vocab_;
    // Merges by pair: linear probing in a power-of-two table at most half full (flat, so that
    // restoring it from the cache is a copy).
    std::vector<Merge> merge_table_;
    int32_t vocab_size_ = 0;
    // Initial symbol ids of a byte inside a word and at its end ("</w>" appended).
    int32_t byte_ids_[256] = {};
    int32_t end_byte_ids_[256] = {};
};

// GPT-2's reversible byte -> printable character mapping, as UTF-8.
const std::string& byte_to_unicode(uint8_t byte);

}  // namespace zeroclip
