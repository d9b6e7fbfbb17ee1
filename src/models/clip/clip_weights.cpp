// Maps Hugging Face CLIPModel tensor names to the towers' weights, validating each one.
#include "models/clip/clip_weights.h"

#include <algorithm>

#include "util/memory_pages.h"
#include "zeroclip/error.h"

namespace zeroclip {

const float* ClipWeights::get(const std::string& name, const std::vector<int64_t>& shape, Fetch fetch) {
    if (fetch == Fetch::Check) {
        store_.check_f32(name, shape);
        return nullptr;
    }
    tensors_.push_back(store_.load_f32(name, shape));
    return tensors_.back().data;
}

LayerNormWeights ClipWeights::get_layer_norm(const std::string& prefix, int hidden, Fetch fetch) {
    return {get(prefix + ".weight", {hidden}, fetch), get(prefix + ".bias", {hidden}, fetch)};
}

LinearTensor ClipWeights::get_linear(const std::string& prefix, int out, int in, bool has_bias, Fetch fetch,
                                     Fetch weight_fetch) {
    LinearTensor linear;
    linear.weight = get(prefix + ".weight", {out, in}, weight_fetch);
    linear.bias = has_bias ? get(prefix + ".bias", {out}, fetch) : nullptr;
    linear.out_features = out;
    linear.in_features = in;
    return linear;
}

std::vector<EncoderLayerWeights> ClipWeights::get_layers(const std::string& prefix, int layers, int hidden,
                                                         int intermediate, Fetch fetch, Fetch weight_fetch) {
    std::vector<EncoderLayerWeights> result(layers);
    for (int i = 0; i < layers; ++i) {
        const std::string p = prefix + ".encoder.layers." + std::to_string(i);
        EncoderLayerWeights& layer = result[i];
        layer.layer_norm1 = get_layer_norm(p + ".layer_norm1", hidden, fetch);

        layer.q_proj = get_linear(p + ".self_attn.q_proj", hidden, hidden, true, fetch, weight_fetch);
        layer.k_proj = get_linear(p + ".self_attn.k_proj", hidden, hidden, true, fetch, weight_fetch);
        layer.v_proj = get_linear(p + ".self_attn.v_proj", hidden, hidden, true, fetch, weight_fetch);
        if (fetch == Fetch::Load)
            for (const LinearTensor* proj : {&layer.q_proj, &layer.k_proj, &layer.v_proj})
                layer.qkv_bias.insert(layer.qkv_bias.end(), proj->bias, proj->bias + hidden);
        layer.out_proj = get_linear(p + ".self_attn.out_proj", hidden, hidden, true, fetch, weight_fetch);
        layer.layer_norm2 = get_layer_norm(p + ".layer_norm2", hidden, fetch);
        layer.fc1 = get_linear(p + ".mlp.fc1", intermediate, hidden, true, fetch, weight_fetch);
        layer.fc2 = get_linear(p + ".mlp.fc2", hidden, intermediate, true, fetch, weight_fetch);
    }
    return result;
}

TextTowerWeights ClipWeights::get_text(Fetch fetch, Fetch weight_fetch) {
    const TextConfig& tc = config_.text;
    TextTowerWeights t;
    t.token_embedding = get("text_model.embeddings.token_embedding.weight", {tc.vocab_size, tc.hidden_size}, fetch);
    t.position_embedding =
        get("text_model.embeddings.position_embedding.weight", {tc.max_position_embeddings, tc.hidden_size}, fetch);
    t.layers = get_layers("text_model", tc.num_hidden_layers, tc.hidden_size, tc.intermediate_size, fetch,
                          weight_fetch);
    t.final_layer_norm = get_layer_norm("text_model.final_layer_norm", tc.hidden_size, fetch);
    t.projection = get_linear("text_projection", config_.projection_dim, tc.hidden_size, false, fetch, weight_fetch);
    return t;
}

VisionTowerWeights ClipWeights::get_vision(Fetch fetch, Fetch weight_fetch) {
    const VisionConfig& vc = config_.vision;
    const int patch = vc.patch_size;
    const int grid = vc.image_size / patch;
    VisionTowerWeights v;
    v.class_embedding = get("vision_model.embeddings.class_embedding", {vc.hidden_size}, fetch);
    v.patch_embedding.weight = get("vision_model.embeddings.patch_embedding.weight",
                                   {vc.hidden_size, vc.num_channels, patch, patch}, weight_fetch);
    v.patch_embedding.out_features = vc.hidden_size;
    v.patch_embedding.in_features = vc.num_channels * patch * patch;
    v.position_embedding =
        get("vision_model.embeddings.position_embedding.weight", {grid * grid + 1, vc.hidden_size}, fetch);
    v.pre_layernorm = get_layer_norm("vision_model.pre_layrnorm", vc.hidden_size, fetch);
    v.layers = get_layers("vision_model", vc.num_hidden_layers, vc.hidden_size, vc.intermediate_size, fetch,
                          weight_fetch);
    v.post_layernorm = get_layer_norm("vision_model.post_layernorm", vc.hidden_size, fetch);
    v.projection = get_linear("visual_projection", config_.projection_dim, vc.hidden_size, false, fetch, weight_fetch);
    return v;
}

ClipWeights ClipWeights::open(const std::filesystem::path& model_dir, const ClipConfig& config) {
    ClipWeights w(TensorStore::open_directory(model_dir), config);
    w.get_text(Fetch::Check, Fetch::Check);
    w.get_vision(Fetch::Check, Fetch::Check);
    // transformers stores a 0-d parameter; some converters write shape [1].
    const bool scalar = w.store_.contains("logit_scale") && w.store_.info("logit_scale").shape.empty();
    w.logit_scale = *w.get("logit_scale", scalar ? std::vector<int64_t>{} : std::vector<int64_t>{1}, Fetch::Load);
    return w;
}

ClipWeights ClipWeights::load(const std::filesystem::path& model_dir, const ClipConfig& config) {
    ClipWeights w = open(model_dir, config);
    w.load_text();
    w.load_vision();
    return w;
}

void ClipWeights::load_text(bool linear_weights) {
    text = get_text(Fetch::Load, linear_weights ? Fetch::Load : Fetch::Check);
}

void ClipWeights::load_vision(bool linear_weights) {
    vision = get_vision(Fetch::Load, linear_weights ? Fetch::Load : Fetch::Check);
}

}  // namespace zeroclip
