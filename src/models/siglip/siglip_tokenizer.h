// siglip_tokenizer.h - transformers' slow SiglipTokenizer: its text canonicalisation around a
// SentencePiece model (spiece.model) loaded with add_dummy_prefix turned off.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "zeroclip/tokenizer.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace zeroclip {

// What SiglipTokenizer hands to SentencePiece: invalid UTF-8 replaced (as Python's decode with
// "replace"), a literal "▁" turned into a space, "▁" prepended, ASCII punctuation removed,
// whitespace runs (Python's str.isspace) collapsed to one space, stripped, each character
// lowercased as Python's str.lower does.
std::string canonicalize_siglip_text(std::string_view text);

class SiglipTokenizer final : public TextTokenizer {
public:
    // Throws zeroclip::Error naming the file when it is missing or not a SentencePiece model.
    static std::unique_ptr<SiglipTokenizer> from_file(const std::filesystem::path& spiece_model);
    ~SiglipTokenizer() override;

    // The pieces' ids of the canonical text, without </s>.
    std::vector<int32_t> encode(std::string_view text) const override;

    // encode() truncated to context_length - 1, then </s>. The text tower pads to its length.
    std::vector<int32_t> encode_for_model(std::string_view text, int context_length) const override;

    int32_t vocab_size() const override;
    int32_t eos_id() const { return eos_id_; }

private:
    SiglipTokenizer() = default;
    std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
    int unk_prefix_pieces_ = 0;  // pieces of "<unk>" alone, dropped from the front of each encoding
    int32_t eos_id_ = 1;
};

}  // namespace zeroclip
