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

std::vector<PreparedEncoderLayer> prepare_encoder_layers(Backend& backend,
                                                         const std::vector<EncoderLayerWeights>& layers) {
    std::vector<PreparedEncoderLayer> result;
    std::vector<float> qkv_weight;  // reused: the backend packs its own copy
    for (const EncoderLayerWeights& w : layers) {
        PreparedEncoderLayer& layer = result.emplace_back();
        layer.weights = &w;
        layer.qkv = prepare_linear(backend, stacked_qkv(w, qkv_weight));
        layer.out_proj = prepare_linear(backend, w.out_proj);
        layer.fc1 = prepare_linear(backend, w.fc1);
        layer.fc2 = prepare_linear(backend, w.fc2);
    }
    return result;
}

void gather_rows(std::vector<float>& matrix, const std::vector<int>& rows, int width) {
    for (size_t i = 0; i < rows.size(); ++i) {
        if (size_t(rows[i]) == i) continue;
        std::copy_n(matrix.data() + size_t(rows[i]) * width, width, matrix.data() + i * width);
    }
}

double encoder_flops(int seq, int hidden, int intermediate, int layers) {
    const double per_layer = 2.0 * seq * (4.0 * hidden * hidden + 2.0 * hidden * intermediate)  // linear
                             + 4.0 * double(seq) * seq * hidden;                                 // attention
    return layers * per_layer;
}

void TransformerEncoder::run(Backend& backend, const std::vector<PreparedEncoderLayer>& layers,
                             const EncoderShape& s, int batch, int seq, const int* lengths, bool causal,
                             const std::vector<int>& pooled, std::vector<float>& hidden) {
    const int rows = batch * seq;
    qkv_.resize(size_t(rows) * 3 * s.hidden);
    attended_.resize(size_t(rows) * s.hidden);
    const PostOp activation = post_op_for(s.activation);
    for (size_t l = 0; l < layers.size(); ++l) {
        const PreparedEncoderLayer& layer = layers[l];
        const EncoderLayerWeights& w = *layer.weights;
        backend.norm_linear(hidden.data(), rows, norm_params(w.layer_norm1, s.eps), *layer.qkv, qkv_.data());
        backend.attention(qkv_.data(), batch, seq, s.heads, s.hidden / s.heads, lengths, causal,
                          attended_.data());
        int out_rows = rows;
        if (l + 1 == layers.size() && !pooled.empty()) {
            out_rows = static_cast<int>(pooled.size());
            gather_rows(hidden, pooled, s.hidden);
            gather_rows(attended_, pooled, s.hidden);
        }
        backend.linear(attended_.data(), out_rows, *layer.out_proj, hidden.data(), PostOp::None, true);
        backend.mlp_block(hidden.data(), out_rows, norm_params(w.layer_norm2, s.eps), *layer.fc1, activation,
                          *layer.fc2);
    }
}

}  // namespace zeroclip
