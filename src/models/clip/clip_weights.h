// clip_weights.h - the tensors of a Hugging Face CLIPModel checkpoint, checked against its config.
#pragma once

#include <deque>
#include <filesystem>
#include <string>
#include <vector>

#include "model/safetensors.h"
#include "models/encoder.h"
#include "zeroclip/config.h"

namespace zeroclip {

struct TextTowerWeights {
    const float* token_embedding = nullptr;     // [vocab_size, hidden]
    const float* position_embedding = nullptr;  // [max_position_embeddings, hidden]
    std::vector<EncoderLayerWeights> layers;
    LayerNormWeights final_layer_norm;
    LinearTensor projection;  // text_projection, no bias
};

struct VisionTowerWeights {
    const float* class_embedding = nullptr;     // [hidden]
    LinearTensor patch_embedding;               // conv [hidden, 3, p, p] as [hidden, 3 * p * p]
    const float* position_embedding = nullptr;  // [num_patches + 1, hidden]
    LayerNormWeights pre_layernorm;
    std::vector<EncoderLayerWeights> layers;
    LayerNormWeights post_layernorm;
    LinearTensor projection;  // visual_projection, no bias
};

// All of a CLIPModel's weights as float32. Unknown tensors (e.g. `*.position_ids` buffers) are
// ignored; every expected tensor must be present with a float dtype and the config's shape.
class ClipWeights {
public:
    // Checks every tensor and loads both towers.
    static ClipWeights load(const std::filesystem::path& model_dir, const ClipConfig& config);
    // Checks every tensor (from the file headers) but loads no tower: load_text / load_vision
    // do, when a tower is first used, so that a text-only run never reads the vision weights.
    static ClipWeights open(const std::filesystem::path& model_dir, const ClipConfig& config);

    // Fill `text` / `vision`. Without linear_weights the linear layers' weight pointers stay
    // null (their biases load): for towers whose packed weights come from the cache.
    void load_text(bool linear_weights = true);
    void load_vision(bool linear_weights = true);

    ClipWeights(ClipWeights&&) = default;
    ClipWeights& operator=(ClipWeights&&) = default;

    TextTowerWeights text;
    VisionTowerWeights vision;
    float logit_scale = 0.0f;  // the stored (log) value

private:
    // What get() does with a tensor: check it only, or load it.
    enum class Fetch { Check, Load };

    ClipWeights(TensorStore store, ClipConfig config) : store_(std::move(store)), config_(std::move(config)) {}
    const float* get(const std::string& name, const std::vector<int64_t>& shape, Fetch fetch);
    LayerNormWeights get_layer_norm(const std::string& prefix, int hidden, Fetch fetch);
    LinearTensor get_linear(const std::string& prefix, int out, int in, bool has_bias, Fetch fetch,
                            Fetch weight_fetch);
    std::vector<EncoderLayerWeights> get_layers(const std::string& prefix, int layers, int hidden,
                                                int intermediate, Fetch fetch, Fetch weight_fetch);
    TextTowerWeights get_text(Fetch fetch, Fetch weight_fetch);
    VisionTowerWeights get_vision(Fetch fetch, Fetch weight_fetch);

    TensorStore store_;  // keeps zero-copy tensors mapped
    ClipConfig config_;
    std::deque<FloatTensor> tensors_;  // stable addresses: the structs point into them
};

}  // namespace zeroclip
