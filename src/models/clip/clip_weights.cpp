// Maps Hugging Face CLIPModel tensor names to the towers' weights, validating each one.
#include "models/clip/clip_weights.h"

#include <algorithm>

#include "util/memory_pages.h"
#include "zeroclip/error.h"

namespace zeroclip {

const float* ClipWeights::get(const std::string& name, const std::vector<int64_t>& shape) {
    tensors_.push_back(store_.load_f32(name, shape));
    return tensors_.back().data;
}

LayerNormWeights ClipWeights::get_layer_norm(const std::string& prefix, int hidden) {
    return {get(prefix + ".weight", {hidden}), get(prefix + ".bias", {hidden})};
}

LinearTensor ClipWeights::get_linear(const std::string& prefix, int out, int in, bool has_bias) {
    LinearTensor linear;
    linear.weight = get(prefix + ".weight", {out, in});
    linear.bias = has_bias ? get(prefix + ".bias", {out}) : nullptr;
    linear.out_features = out;
    linear.in_features = in;
    return linear;
}

std::vector<EncoderLayerWeights> ClipWeights::get_layers(const std::string& prefix, int layers,
                                                         int hidden, int intermediate) {
    std::vector<EncoderLayerWeights> result(layers);
    for (int i = 0; i < layers; ++i) {
        const std::string p = prefix + ".encoder.layers." + std::to_string(i);
        EncoderLayerWeights& layer = result[i];
        layer.layer_norm1 = get_layer_norm(p + ".layer_norm1", hidden);

        layer.q_proj = get_linear(p + ".self_attn.q_proj", hidden, hidden, true);
        layer.k_proj = get_linear(p + ".self_attn.k_proj", hidden, hidden, true);
        layer.v_proj = get_linear(p + ".self_attn.v_proj", hidden, hidden, true);
        for (const LinearTensor* proj : {&layer.q_proj, &layer.k_proj, &layer.v_proj})
            layer.qkv_bias.insert(layer.qkv_bias.end(), proj->bias, proj->bias + hidden);
        layer.out_proj = get_linear(p + ".self_attn.out_proj", hidden, hidden, true);
        layer.layer_norm2 = get_layer_norm(p + ".layer_norm2", hidden);
        layer.fc1 = get_linear(p + ".mlp.fc1", intermediate, hidden, true);
        layer.fc2 = get_linear(p + ".mlp.fc2", hidden, intermediate, true);
    }
    return result;
}

LinearTensor stacked_qkv(const EncoderLayerWeights& layer, std::vector<float>& storage) {
    const int hidden = layer.q_proj.in_features;
    const size_t size = size_t(hidden) * hidden;
    storage.resize(3 * size);
    float* out = storage.data();
    for (const LinearTensor* proj : {&layer.q_proj, &layer.k_proj, &layer.v_proj}) {
        out = std::copy_n(proj->weight, size, out);
        release_pages(proj->weight, size * sizeof(float));  // mapped pages not read again
    }
    return {storage.data(), layer.qkv_bias.data(), 3 * hidden, hidden};
}

ClipWeights ClipWeights::load(const std::filesystem::path& model_dir, const ClipConfig& config) {
    ClipWeights w(TensorStore::open_directory(model_dir));
    const TextConfig& tc = config.text;
    const VisionConfig& vc = config.vision;
    const int projection = config.projection_dim;

    w.text.token_embedding = w.get("text_model.embeddings.token_embedding.weight", {tc.vocab_size, tc.hidden_size});
    w.text.position_embedding =
        w.get("text_model.embeddings.position_embedding.weight", {tc.max_position_embeddings, tc.hidden_size});
    w.text.layers = w.get_layers("text_model", tc.num_hidden_layers, tc.hidden_size, tc.intermediate_size);
    w.text.final_layer_norm = w.get_layer_norm("text_model.final_layer_norm", tc.hidden_size);
    w.text.projection = w.get_linear("text_projection", projection, tc.hidden_size, false);

    const int patch = vc.patch_size;
    const int grid = vc.image_size / patch;
    w.vision.class_embedding = w.get("vision_model.embeddings.class_embedding", {vc.hidden_size});
    w.vision.patch_embedding.weight = w.get("vision_model.embeddings.patch_embedding.weight",
                                            {vc.hidden_size, vc.num_channels, patch, patch});
    w.vision.patch_embedding.out_features = vc.hidden_size;
    w.vision.patch_embedding.in_features = vc.num_channels * patch * patch;
    w.vision.position_embedding =
        w.get("vision_model.embeddings.position_embedding.weight", {grid * grid + 1, vc.hidden_size});
    w.vision.pre_layernorm = w.get_layer_norm("vision_model.pre_layrnorm", vc.hidden_size);
    w.vision.layers = w.get_layers("vision_model", vc.num_hidden_layers, vc.hidden_size, vc.intermediate_size);
    w.vision.post_layernorm = w.get_layer_norm("vision_model.post_layernorm", vc.hidden_size);
    w.vision.projection = w.get_linear("visual_projection", projection, vc.hidden_size, false);

    // transformers stores a 0-d parameter; some converters write shape [1].
    const bool scalar = w.store_.contains("logit_scale") && w.store_.info("logit_scale").shape.empty();
    w.logit_scale = *w.get("logit_scale", scalar ? std::vector<int64_t>{} : std::vector<int64_t>{1});
    return w;
}

}  // namespace zeroclip
