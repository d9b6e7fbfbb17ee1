// encoder.h - the pre-LN transformer encoder that CLIP's and SigLIP's towers share
// (transformers' CLIPEncoderLayer / SiglipEncoderLayer: x += attn(ln1(x)); x += mlp(ln2(x))),
// its weights as Hugging Face names them, and its run over a compute Backend.
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

// One layer's linear layers in the backend's form.
struct PreparedEncoderLayer {
    const EncoderLayerWeights* weights;
    std::unique_ptr<LinearWeights> qkv, out_proj, fc1, fc2;
};

std::unique_ptr<LinearWeights> prepare_linear(Backend& backend, const LinearTensor& t);
std::vector<PreparedEncoderLayer> prepare_encoder_layers(Backend& backend,
                                                         const std::vector<EncoderLayerWeights>& layers);

inline LayerNormParams norm_params(const LayerNormWeights& w, float eps) { return {w.weight, w.bias, eps}; }

// Moves rows[i] of a [*, width] matrix to row i, in place (rows ascending, so rows[i] >= i).
void gather_rows(std::vector<float>& matrix, const std::vector<int>& rows, int width);

// Multiply-adds x 2 of one encoder pass over `seq` tokens, as a plain implementation
// (transformers, ONNX Runtime) computes it: the work benchmarks quote throughput against.
double encoder_flops(int seq, int hidden, int intermediate, int layers);

// Runs the layers over `hidden` ([batch * seq, shape.hidden]); keeps its scratch buffers between
// calls. Not thread-safe (the towers serialise their calls).
class TransformerEncoder {
public:
    // Only the rows listed in `pooled` (ascending) are read afterwards, so the last layer runs its
    // out-projection and MLP on those rows alone (three quarters of its matmul work would
    // otherwise go to rows nobody reads); on return, hidden's first pooled.size() rows hold them,
    // in order. An empty `pooled` keeps every row. Keys at positions >= lengths[b] (when lengths
    // is not null) and, when `causal`, keys after the query are masked out. Configs have at least
    // one layer.
    void run(Backend& backend, const std::vector<PreparedEncoderLayer>& layers, const EncoderShape& shape,
             int batch, int seq, const int* lengths, bool causal, const std::vector<int>& pooled,
             std::vector<float>& hidden);

private:
    std::vector<float> qkv_, attended_;
};

}  // namespace zeroclip
