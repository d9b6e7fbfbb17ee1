// Named, shape-checked float32 tensors of a checkpoint.
#include "models/weight_loader.h"

namespace zeroclip {

WeightLoader::WeightLoader(const std::filesystem::path& model_dir)
    : store_(TensorStore::open_directory(model_dir)) {}

const float* WeightLoader::get(const std::string& name, const std::vector<int64_t>& shape) {
    tensors_.push_back(store_.load_f32(name, shape));
    return tensors_.back().data;
}

LayerNormWeights WeightLoader::layer_norm(const std::string& prefix, int hidden) {
    return {get(prefix + ".weight", {hidden}), get(prefix + ".bias", {hidden})};
}

LinearTensor WeightLoader::linear(const std::string& prefix, int out, int in, bool has_bias) {
    LinearTensor linear;
    linear.weight = get(prefix + ".weight", {out, in});
    linear.bias = has_bias ? get(prefix + ".bias", {out}) : nullptr;
    linear.out_features = out;
    linear.in_features = in;
    return linear;
}

float WeightLoader::scalar(const std::string& name) {
    const bool zero_d = store_.contains(name) && store_.info(name).shape.empty();
    return *get(name, zero_d ? std::vector<int64_t>{} : std::vector<int64_t>{1});
}

}  // namespace zeroclip
