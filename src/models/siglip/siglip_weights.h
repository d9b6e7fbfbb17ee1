// siglip_weights.h - the tensors of a Hugging Face SiglipModel checkpoint, checked against its config.
#pragma once

#include <filesystem>
#include <vector>

#include "models/encoder.h"
#include "models/weight_loader.h"
#include "zeroclip/config.h"

namespace zeroclip {

struct SiglipTextWeights {
    const float* token_embedding = nullptr;     // [vocab_size, hidden]
    const float* position_embedding = nullptr;  // [max_position_embeddings, hidden]
    std::vector<EncoderLayerWeights> layers;
    LayerNormWeights final_layer_norm;
    LinearTensor head;  // [projection_size, hidden], with bias: applied to the last position
};

// SiglipMultiheadAttentionPoolingHead: one learned query (the probe) attends over the patches
// (torch.nn.MultiheadAttention), then a residual MLP block.
struct SiglipPoolingHeadWeights {
    const float* probe = nullptr;  // [hidden]
    LinearTensor in_proj;          // q | k | v: [3 * hidden, hidden], with bias
    LinearTensor out_proj;
    LayerNormWeights layernorm;
    LinearTensor fc1, fc2;
};

struct SiglipVisionWeights {
    LinearTensor patch_embedding;               // conv [hidden, 3, p, p] as [hidden, 3 * p * p], with bias
    const float* position_embedding = nullptr;  // [num_patches, hidden]: no class token
    std::vector<EncoderLayerWeights> layers;
    LayerNormWeights post_layernorm;
    SiglipPoolingHeadWeights head;
};

class SiglipWeights {
public:
    static SiglipWeights load(const std::filesystem::path& model_dir, const ClipConfig& config);

    SiglipWeights(SiglipWeights&&) = default;
    SiglipWeights& operator=(SiglipWeights&&) = default;

    SiglipTextWeights text;
    SiglipVisionWeights vision;
    float logit_scale = 0.0f;  // the stored (log) value
    float logit_bias = 0.0f;

private:
    explicit SiglipWeights(WeightLoader loader) : loader_(std::move(loader)) {}
    WeightLoader loader_;  // owns the tensors the structs point into
};

}  // namespace zeroclip
