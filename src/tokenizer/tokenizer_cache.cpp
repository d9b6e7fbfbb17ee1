// The compiled tokenizer in the cache: section 0 = {bos, eos}, section 1 = BytePairEncoder bytes.
#include "tokenizer/tokenizer_cache.h"

#include <cstring>
#include <fstream>

#include <xxhash.h>

#include "cache/cache_file.h"
#include "cache/cache_notes.h"

namespace zeroclip {

namespace {

// Real files are ~1.6 MB together; hashing them takes well under a millisecond.
constexpr std::uintmax_t kMaxHashedBytes = 64u << 20;

bool add_file(XXH3_state_t* state, const std::filesystem::path& path) {
    std::error_code ec;
    const std::uintmax_t size = std::filesystem::file_size(path, ec);
    if (ec || size > kMaxHashedBytes) return false;
    std::ifstream in(path, std::ios::binary);
    std::string bytes(size_t(size), '\0');
    if (!in.read(bytes.data(), std::streamsize(size))) return false;
    const uint64_t length = size;
    XXH3_128bits_update(state, &length, sizeof length);
    XXH3_128bits_update(state, bytes.data(), bytes.size());
    return true;
}

std::filesystem::path path_of(const CacheOptions& cache, const std::string& key) {
    return cache_dir_of(cache) / cache_file_name("tokenizer", key);
}

}  // namespace

std::optional<std::string> tokenizer_cache_key(const std::filesystem::path& vocab_json,
                                               const std::filesystem::path& merges_txt) {
    XXH3_state_t* state = XXH3_createState();
    XXH3_128bits_reset(state);
    const bool ok = add_file(state, vocab_json) && add_file(state, merges_txt);
    const XXH128_hash_t hash = XXH3_128bits_digest(state);
    XXH3_freeState(state);
    if (!ok) return std::nullopt;
    char hex[33];
    std::snprintf(hex, sizeof hex, "%016llx%016llx", static_cast<unsigned long long>(hash.high64),
                  static_cast<unsigned long long>(hash.low64));
    return std::string("zeroclip ") + ZEROCLIP_VERSION + "\ntokenizer " + hex;
}

std::optional<CompiledTokenizer> load_cached_tokenizer(const CacheOptions& cache, const std::string& key) {
    std::string problem;
    const auto file = MappedCacheFile::open(path_of(cache, key), key, problem);
    if (file && file->section_count() == 2 && file->section(0).size() == 2 * sizeof(int32_t)) {
        if (auto bpe = BytePairEncoder::from_bytes(file->section(1))) {
            int32_t special[2];
            std::memcpy(special, file->section(0).data(), sizeof special);
            if (special[0] >= 0 && special[0] < bpe->vocab_size() && special[1] >= 0 && special[1] < bpe->vocab_size())
                return CompiledTokenizer{std::move(*bpe), special[0], special[1]};
        }
        problem = "corrupt (bad tokenizer tables)";
    }
    if (!problem.empty()) cache_note(cache, "the compiled tokenizer in " + cache_dir_of(cache).string() + " was " +
                                                problem + "; rebuilding it");
    return std::nullopt;
}

void store_cached_tokenizer(const CacheOptions& cache, const std::string& key, const BytePairEncoder& bpe,
                            int32_t bos, int32_t eos) {
    const int32_t special[2] = {bos, eos};
    const std::string bytes = bpe.to_bytes();
    const std::string problem =
        write_cache_file(path_of(cache, key), key, "tokenizer (vocab.json + merges.txt, compiled)",
                         {std::as_bytes(std::span<const int32_t>(special)), std::as_bytes(std::span(bytes))});
    if (!problem.empty()) cache_write_failed(cache, problem);
}

}  // namespace zeroclip
