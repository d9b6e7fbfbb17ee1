// tokenizer/bpe.h - byte-level BPE over a Hugging Face vocab.json + merges.txt pair.
//
// CLIP flavour: a word is the UTF-8 bytes of one pre-token, each byte mapped to a printable
// character (GPT-2's bytes_to_unicode), and the last symbol carries the "</w>" suffix.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace zeroclip {

class BytePairEncoder {
public:
    // Throws zeroclip::Error naming the file on a missing, oversized or malformed file.
    BytePairEncoder(const std::filesystem::path& vocab_json, const std::filesystem::path& merges_txt);

    // Appends the ids of one pre-tokenised word (its raw UTF-8 bytes) to `out`.
    void encode_word(std::string_view word, std::vector<int32_t>& out) const;

    std::optional<int32_t> token_id(std::string_view token) const;
    // Largest id + 1, so that every id this encoder returns indexes a table of that size.
    int32_t vocab_size() const { return vocab_size_; }

private:
    struct Merge {
        int32_t rank;
        int32_t merged_id;
    };
    static uint64_t pair_key(int32_t left, int32_t right) {
        return (uint64_t(uint32_t(left)) << 32) | uint32_t(right);
    }
    const Merge* find_merge(int32_t left, int32_t right) const;

    std::unordered_map<std::string, int32_t> vocab_;
    std::unordered_map<uint64_t, Merge> merges_;
    int32_t vocab_size_ = 0;
    // Initial symbol ids of a byte inside a word and at its end ("</w>" appended).
    int32_t byte_ids_[256] = {};
    int32_t end_byte_ids_[256] = {};
};

// GPT-2's reversible byte -> printable character mapping, as UTF-8.
const std::string& byte_to_unicode(uint8_t byte);

}  // namespace zeroclip
