// Class weights in the cache: one section of float32 [labels, dim].
#include "pipeline/class_weight_cache.h"

#include <cstring>

#include <xxhash.h>

#include "cache/cache_file.h"
#include "cache/cache_notes.h"

namespace zeroclip {

std::string class_weights_key(Clip& clip, const std::vector<std::string>& prompts, size_t labels) {
    const std::string tower = clip.model().text_tower_key();
    if (tower.empty()) return {};
    XXH3_state_t* state = XXH3_createState();
    XXH3_128bits_reset(state);
    for (const std::string& prompt : prompts) {
        const std::vector<int32_t> ids = clip.tokenize(prompt);
        const uint64_t count = ids.size();
        XXH3_128bits_update(state, &count, sizeof count);
        XXH3_128bits_update(state, ids.data(), ids.size() * sizeof(int32_t));
    }
    const XXH128_hash_t hash = XXH3_128bits_digest(state);
    XXH3_freeState(state);
    char hex[33];
    std::snprintf(hex, sizeof hex, "%016llx%016llx", static_cast<unsigned long long>(hash.high64),
                  static_cast<unsigned long long>(hash.low64));
    return tower + "\nclass weights v1: " + std::to_string(labels) + " labels x " +
           std::to_string(prompts.size() / std::max<size_t>(1, labels)) + " templates, prompt tokens " + hex;
}

std::optional<Matrix> load_class_weights(const CacheOptions& cache, const std::string& key, int labels, int dim) {
    const auto path = cache_dir_of(cache) / cache_file_name("labels", key);
    std::string problem;
    const auto file = MappedCacheFile::open(path, key, problem);
    if (file) {
        if (file->section_count() == 1 && file->section(0).size() == size_t(labels) * dim * sizeof(float)) {
            Matrix weights{labels, dim, std::vector<float>(size_t(labels) * dim)};
            std::memcpy(weights.data.data(), file->section(0).data(), file->section(0).size());
            return weights;
        }
        problem = "corrupt (wrong size)";
    }
    if (!problem.empty())
        cache_note(cache, "the label embeddings in " + path.string() + " were " + problem + "; rebuilding them");
    return std::nullopt;
}

void store_class_weights(const CacheOptions& cache, const std::string& key, const std::string& description,
                         const Matrix& weights) {
    const auto path = cache_dir_of(cache) / cache_file_name("labels", key);
    const std::string problem =
        write_cache_file(path, key, description, {std::as_bytes(std::span<const float>(weights.data))});
    if (!problem.empty()) cache_write_failed(cache, problem);
}

}  // namespace zeroclip
