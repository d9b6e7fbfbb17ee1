// tokenizer_cache.h - the tokenizer compiled (merge table, byte symbols, special ids) in the
// cache, so that loading it skips parsing vocab.json and merges.txt.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "tokenizer/bpe.h"
#include "zeroclip/cache.h"

namespace zeroclip {

struct CompiledTokenizer {
    BytePairEncoder bpe;
    int32_t bos;
    int32_t eos;
};

// A key over both files' bytes; nullopt when one cannot be read (the parser then says why).
std::optional<std::string> tokenizer_cache_key(const std::filesystem::path& vocab_json,
                                               const std::filesystem::path& merges_txt);

// The cached tokenizer of `key`, or nullopt (with a note when a file was there but unusable).
std::optional<CompiledTokenizer> load_cached_tokenizer(const CacheOptions& cache, const std::string& key);

// Writes it (a note, once, when the cache cannot be written).
void store_cached_tokenizer(const CacheOptions& cache, const std::string& key, const BytePairEncoder& bpe,
                            int32_t bos, int32_t eos);

}  // namespace zeroclip
