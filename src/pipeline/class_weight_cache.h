// class_weight_cache.h - zero-shot class weights (label embeddings) kept in the cache, so that a
// loop of `classify` calls over photos pays for the text tower once.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "zeroclip/clip.h"

namespace zeroclip {

// The key of the class weights of `prompts` (labels x templates, label-major): the text tower's
// key (model content, backend, ISA, precision) and the prompts' token ids, so that anything that
// changes the numbers changes the key. Empty when the model does not cache.
std::string class_weights_key(Clip& clip, const std::vector<std::string>& prompts, size_t labels);

// The cached [labels, dim] class weights of `key`, or nullopt (a note when a file was unusable).
std::optional<Matrix> load_class_weights(const CacheOptions& cache, const std::string& key, int labels, int dim);

void store_class_weights(const CacheOptions& cache, const std::string& key, const std::string& description,
                         const Matrix& weights);

}  // namespace zeroclip
