// encoder.h - the pre-LN transformer encoder that CLIP's and SigLIP's towers share
// (transformers' CLIPEncoderLayer / SiglipEncoderLayer: x += attn(ln1(x)); x += mlp(ln2(x))),
// its weights as Hugging Face names them, and its run over any Backend.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "models/weight_loader.h"
#include "zeroclip/config.h"

namespace zeroclip {

struct EncoderLayerWeights {
    LayerNormWeights layer_norm1;
    LinearTensor q_proj, k_proj, v_proj;  // as stored; see stacked_qkv
    std::vector<float> qkv_bias;          // q | k | v biases stacked, for the fused layer
    LinearTensor out_proj;
    LayerNormWeights layer_norm2;
    LinearTensor fc1;
    LinearTensor fc2;
};

// `<prefix>.encoder.layers.<i>.{layer_norm1, self_attn.{q,k,v,out}_proj, layer_norm2, mlp.fc1, mlp.fc2}`.
std::vector<EncoderLayerWeights> load_encoder_layers(WeightLoader& loader, const std::string& prefix,
                                                     int layers, int hidden, int intermediate);

// A layer's q_proj | k_proj | v_proj as one [3 * hidden, hidden] linear layer: one matmul instead
// of three. The stacked weight is a temporary copy written to `storage`, made when a backend
// packs or uploads the layer (so that loading never holds every copy at once); the bias is the
// layer's own qkv_bias.
LinearTensor stacked_qkv(const EncoderLayerWeights& layer, std::vector<float>& storage);

// The shape of one tower's transformer encoder.
struct EncoderShape {
    int hidden;
    int intermediate;
    int heads;
    Activation activation;
    float eps;
};

// One layer in the backend's form: its layer norms as backend constants, its linear layers
// prepared (packed, or uploaded).
struct PreparedEncoderLayer {
    LayerNorm layer_norm1, layer_norm2;
    std::unique_ptr<LinearWeights> qkv, out_proj, fc1, fc2;
};

std::unique_ptr<LinearWeights> prepare_linear(Backend& backend, const LinearTensor& t);

// A LayerNorm's parameters as backend constants.
LayerNorm prepare_layer_norm(Backend& backend, const LayerNormWeights& w, int n, float eps);

// Every layer's layer norms (the linear layers are left for prepare_encoder_layers, or for the
// packed-weight cache to fill).
std::vector<PreparedEncoderLayer> prepare_encoder_norms(Backend& backend, const std::vector<EncoderLayerWeights>& layers,
                                                        int hidden, float eps);

// Copies every layer's layer norms into `layers` (resized to match), leaving the linear layers.
inline void adopt_norms(const std::vector<PreparedEncoderLayer>& norms, std::vector<PreparedEncoderLayer>& layers) {
    layers.resize(norms.size());
    for (size_t i = 0; i < norms.size(); ++i) {
        layers[i].layer_norm1 = norms[i].layer_norm1;
        layers[i].layer_norm2 = norms[i].layer_norm2;
    }
}

// Every layer, linear layers included.
std::vector<PreparedEncoderLayer> prepare_encoder_layers(Backend& backend,
                                                         const std::vector<EncoderLayerWeights>& layers, int hidden,
                                                         float eps);

// Multiply-adds x 2 of one encoder pass over `seq` tokens, as a plain implementation
// (transformers, ONNX Runtime) computes it: the work benchmarks quote throughput against.
double encoder_flops(int seq, int hidden, int intermediate, int layers);

// Runs the layers over `hidden` ([batch * seq, shape.hidden] float32, in place); keeps its scratch
// buffers between calls. Not thread-safe (the towers serialise their calls).
class TransformerEncoder {
public:
    // When `pooled` (I32 [n, 1], row indices) is given, only those rows are read afterwards, so
    // the last layer runs its out-projection and MLP on those rows alone (three quarters of its
    // matmul work would otherwise go to rows nobody reads) and the result holds them, in order;
    // otherwise the result is `hidden`. Keys at positions >= lengths[b] (I32, when not null) and,
    // when `causal`, keys after the query are masked out. Configs have at least one layer.
    Tensor run(Backend& backend, const std::vector<PreparedEncoderLayer>& layers, const EncoderShape& shape,
               int batch, int seq, const Tensor* lengths, bool causal, const Tensor* pooled, const Tensor& hidden);

private:
    Buffer qkv_, attended_, pooled_hidden_, pooled_attended_;
};

}  // namespace zeroclip
