// zeroclip/tokenizer.h - text to token ids: the interface every family's tokenizer implements,
// and CLIP's byte-level BPE tokenizer (CLIPTokenizerFast semantics).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string_view>
#include <vector>

#include "zeroclip/cache.h"

namespace zeroclip {

class BytePairEncoder;

class TextTokenizer {
public:
    virtual ~TextTokenizer() = default;

    // Token ids of `text` without special tokens and without truncation.
    virtual std::vector<int32_t> encode(std::string_view text) const = 0;

    // The ids the text tower reads, with the family's special tokens, truncated to
    // `context_length` (not padded: a family that pads does so in its text tower).
    virtual std::vector<int32_t> encode_for_model(std::string_view text, int context_length) const = 0;

    virtual int32_t vocab_size() const = 0;
};

// The tokenizer of a model directory's family (config.json's model_type): CLIP's BPE or SigLIP's
// SentencePiece. Throws zeroclip::Error naming the missing or invalid file. `cache` holds CLIP's
// compiled tokenizer (Tokenizer::from_directory); SigLIP's loads without it.
std::unique_ptr<TextTokenizer> load_tokenizer(const std::filesystem::path& model_dir,
                                              const CacheOptions& cache = {});

class Tokenizer final : public TextTokenizer {
public:
    // Loads a Hugging Face `vocab.json` + `merges.txt` pair. Throws zeroclip::Error naming the file.
    static Tokenizer from_files(const std::filesystem::path& vocab_json,
                                const std::filesystem::path& merges_txt);
    // Loads vocab.json + merges.txt from a model directory: from the cache (zeroclip/cache.h)
    // when it holds them compiled (keyed by both files' content), else parsed and then cached.
    static Tokenizer from_directory(const std::filesystem::path& model_dir, const CacheOptions& cache = {});

    Tokenizer(Tokenizer&&) noexcept;
    Tokenizer& operator=(Tokenizer&&) noexcept;
    ~Tokenizer();

    // Token ids of `text` without start/end tokens and without truncation.
    // NFC, whitespace runs -> one space, strip, lowercase, CLIP split regex, BPE with </w>;
    // "<|startoftext|>" / "<|endoftext|>" inside the text map to their special ids.
    std::vector<int32_t> encode(std::string_view text) const override;

    // <|startoftext|> ids... <|endoftext|>, truncated to `context_length` with the end token kept last.
    std::vector<int32_t> encode_for_model(std::string_view text, int context_length) const override;

    int32_t bos_id() const;
    int32_t eos_id() const;
    int32_t vocab_size() const override;

private:
    struct Impl;
    explicit Tokenizer(std::unique_ptr<Impl> impl);
    static Tokenizer from_encoder(BytePairEncoder bpe, int32_t bos, int32_t eos);
    std::unique_ptr<Impl> impl_;
};

}  // namespace zeroclip
