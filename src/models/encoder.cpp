// The shared pre-LN transformer encoder: weights, preparation and the forward pass.
#include "models/encoder.h"

#include <algorithm>

#include "util/memory_pages.h"

namespace zeroclip {

std::vector<EncoderLayerWeights> load_encoder_layers(WeightLoader& loader, const std::string& prefix,
                                                     int layers, int hidden, int intermediate) {
    std::vector<EncoderLayerWeights> result(layers);
    for (int i = 0; i < layers; ++i) {
        const std::string p = prefix + ".encoder.layers." + std::to_string(i);
        EncoderLayerWeights& layer = result[i];
        layer.layer_norm1 = loader.layer_norm(p + ".layer_norm1", hidden);

        layer.q_proj = loader.linear(p + ".self_attn.q_proj", hidden, hidden, true);
        layer.k_proj = loader.linear(p + ".self_attn.k_proj", hidden, hidden, true);
        layer.v_proj = loader.linear(p + ".self_attn.v_proj", hidden, hidden, true);
        for (const LinearTensor* proj : {&layer.q_proj, &layer.k_proj, &layer.v_proj})
            layer.qkv_bias.insert(layer.qkv_bias.end(), proj->bias, proj->bias + hidden);
        layer.out_proj = loader.linear(p + ".self_attn.out_proj", hidden, hidden, true);
        layer.layer_norm2 = loader.layer_norm(p + ".layer_norm2", hidden);
        layer.fc1 = loader.linear(p + ".mlp.fc1", intermediate, hidden, true);
        layer.fc2 = loader.linear(p + ".mlp.fc2", hidden, intermediate, true);
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

std::unique_ptr<LinearWeights> prepare_linear(Backend& backend, const LinearTensor& t) {
    return backend.prepare_linear(t.weight, t.bias, t.out_features, t.in_features);
}

LayerNorm prepare_layer_norm(Backend& backend, const LayerNormWeights& w, int n, float eps) {
    return backend.layer_norm_constant(w.weight, w.bias, n, eps);
}

std::vector<PreparedEncoderLayer> prepare_encoder_norms(Backend& backend, const std::vector<EncoderLayerWeights>& layers,
                                                        int hidden, float eps) {
    std::vector<PreparedEncoderLayer> result(layers.size());
    for (size_t i = 0; i < layers.size(); ++i) {
        result[i].layer_norm1 = prepare_layer_norm(backend, layers[i].layer_norm1, hidden, eps);
        result[i].layer_norm2 = prepare_layer_norm(backend, layers[i].layer_norm2, hidden, eps);
    }
    return result;
}

std::vector<PreparedEncoderLayer> prepare_encoder_layers(Backend& backend,
                                                         const std::vector<EncoderLayerWeights>& layers, int hidden,
                                                         float eps) {
    std::vector<PreparedEncoderLayer> result = prepare_encoder_norms(backend, layers, hidden, eps);
    std::vector<float> qkv_weight;  // reused: the backend packs its own copy
    for (size_t i = 0; i < layers.size(); ++i) {
        const EncoderLayerWeights& w = layers[i];
        PreparedEncoderLayer& layer = result[i];
        layer.qkv = prepare_linear(backend, stacked_qkv(w, qkv_weight));
        layer.out_proj = prepare_linear(backend, w.out_proj);
        layer.fc1 = prepare_linear(backend, w.fc1);
        layer.fc2 = prepare_linear(backend, w.fc2);
    }
    return result;
}

double encoder_flops(int seq, int hidden, int intermediate, int layers) {
    const double per_layer = 2.0 * seq * (4.0 * hidden * hidden + 2.0 * hidden * intermediate)  // linear
                             + 4.0 * double(seq) * seq * hidden;                                 // attention
    return layers * per_layer;
}

Tensor TransformerEncoder::run(Backend& backend, const std::vector<PreparedEncoderLayer>& layers,
                               const EncoderShape& s, int batch, int seq, const Tensor* lengths, bool causal,
                               const Tensor* pooled, const Tensor& hidden) {
    const int64_t rows = int64_t(batch) * seq;
    const TensorType type = backend.compute_type();
    const Tensor qkv = backend.reserve(qkv_, rows, 3 * s.hidden, type);
    const Tensor attended = backend.reserve(attended_, rows, s.hidden, type);
    const PostOp activation = post_op_for(s.activation);
    Tensor x = hidden;
    for (size_t l = 0; l < layers.size(); ++l) {
        const PreparedEncoderLayer& layer = layers[l];
        backend.norm_linear(x, layer.layer_norm1, *layer.qkv, qkv);
        backend.attention(qkv, batch, seq, s.heads, s.hidden / s.heads, lengths, causal, attended);
        Tensor attention_out = attended;
        if (l + 1 == layers.size() && pooled) {
            const Tensor gathered = backend.reserve(pooled_hidden_, pooled->rows, s.hidden);
            attention_out = backend.reserve(pooled_attended_, pooled->rows, s.hidden, type);
            backend.gather_rows(x, *pooled, gathered);
            backend.gather_rows(attended, *pooled, attention_out);
            x = gathered;
        }
        backend.linear(attention_out, *layer.out_proj, x, PostOp::None, true);
        backend.mlp_block(x, layer.layer_norm2, *layer.fc1, activation, *layer.fc2);
    }
    return x;
}

}  // namespace zeroclip
