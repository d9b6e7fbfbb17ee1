// weight_loader.h - reads a checkpoint's tensors as float32 by name, checking each one's shape:
// what every family's weight struct is built from.
#pragma once

#include <deque>
#include <filesystem>
#include <string>
#include <vector>

#include "model/safetensors.h"

namespace zeroclip {

struct LayerNormWeights {
    const float* weight = nullptr;
    const float* bias = nullptr;
};

struct LinearTensor {
    const float* weight = nullptr;  // [out, in]
    const float* bias = nullptr;    // [out] or null
    int out_features = 0;
    int in_features = 0;
};

// Unknown tensors (e.g. `*.position_ids` buffers) are never read; every requested tensor must be
// present with a float dtype and the given shape (zeroclip::Error names it otherwise). The
// returned pointers stay valid as long as the loader lives (moving it keeps them).
class WeightLoader {
public:
    explicit WeightLoader(const std::filesystem::path& model_dir);
    WeightLoader(WeightLoader&&) = default;
    WeightLoader& operator=(WeightLoader&&) = default;

    const float* get(const std::string& name, const std::vector<int64_t>& shape);
    LayerNormWeights layer_norm(const std::string& prefix, int hidden);
    LinearTensor linear(const std::string& prefix, int out, int in, bool has_bias);
    // A 0-d parameter as transformers stores it, or shape [1] as some converters write it.
    float scalar(const std::string& name);
    bool contains(const std::string& name) const { return store_.contains(name); }

private:
    TensorStore store_;                // keeps zero-copy tensors mapped
    std::deque<FloatTensor> tensors_;  // stable addresses: the structs point into them
};

}  // namespace zeroclip
