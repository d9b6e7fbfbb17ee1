// clip_weights.h - the tensors of a Hugging Face CLIPModel checkpoint, checked against its config.
#pragma once

#include <filesystem>
#include <vector>

#include "models/encoder.h"
#include "models/weight_loader.h"
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
    static ClipWeights load(const std::filesystem::path& model_dir, const ClipConfig& config);

    ClipWeights(ClipWeights&&) = default;
    ClipWeights& operator=(ClipWeights&&) = default;

    TextTowerWeights text;
    VisionTowerWeights vision;
    float logit_scale = 0.0f;  // the stored (log) value

private:
    explicit ClipWeights(WeightLoader loader) : loader_(std::move(loader)) {}
    WeightLoader loader_;  // owns the tensors the structs point into
};

}  // namespace zeroclip
