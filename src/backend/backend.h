// backend.h - the compute operations the CLIP towers are written in.
//
// The CPU towers (src/models/clip/clip_model.cpp) only call these operations, so a backend that
// stores weights differently (oneDNN's blocked fp32, bf16 or int8) implements this interface and
// nothing else. Activations are row-major float32 matrices in host memory; weights are handed
// over once, on a tower's first use, in PyTorch's layout, and the backend keeps them in whatever
// form suits it. (The CUDA model runs whole towers on the GPU: src/cuda/.)
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "zeroclip/config.h"
#include "zeroclip/model.h"

namespace zeroclip {

// Element-wise function applied to a linear layer's output.
enum class PostOp { None, QuickGelu, Gelu, GeluTanh };

PostOp post_op_for(Activation activation);

struct LayerNormParams {
    const float* gamma = nullptr;
    const float* beta = nullptr;
    float eps = 1e-5f;
};

// A linear layer's weight (and bias) in the backend's own form.
class LinearWeights {
public:
    virtual ~LinearWeights() = default;
    int out_features = 0;
    int in_features = 0;
};

// Not thread-safe: one operation at a time (callers serialise).
class Backend {
public:
    virtual ~Backend() = default;

    // weight: [out, in] row-major (torch.nn.Linear layout); bias: [out] or null. The backend
    // copies the weight into its own form (it may be freed afterwards) and keeps a pointer to the
    // bias, which must outlive the returned object.
    virtual std::unique_ptr<LinearWeights> prepare_linear(const float* weight, const float* bias,
                                                          int out_features, int in_features) = 0;

    // y[m, out] = post_op(x[m, in] * W^T + b), or y += x * W^T + b when `accumulate` (residual
    // connections; post_op must then be None). Rows are dense (stride = width).
    virtual void linear(const float* x, int m, const LinearWeights& w, float* y,
                        PostOp post_op = PostOp::None, bool accumulate = false) = 0;

    // y[m, n] = (x - mean) / sqrt(var + eps) * gamma + beta, row by row; y may equal x.
    virtual void layer_norm(const float* x, int m, int n, const LayerNormParams& norm, float* y) = 0;

    // y = post_op(layer_norm(x) * W^T + b): layer_norm then linear, with the normalised rows
    // written straight in the matmul's input type (no float32 round trip for bf16).
    virtual void norm_linear(const float* x, int m, const LayerNormParams& norm, const LinearWeights& w,
                             float* y, PostOp post_op = PostOp::None) = 0;

    // x += fc2(activation(fc1(layer_norm(x)))): a transformer layer's MLP block with its residual,
    // the [m, fc1.out_features] intermediate kept in the matmul's input type.
    virtual void mlp_block(float* x, int m, const LayerNormParams& norm, const LinearWeights& fc1,
                           PostOp activation, const LinearWeights& fc2) = 0;

    // Multi-head scaled dot-product attention over `batch` sequences of `seq` positions.
    // qkv: [batch * seq, 3 * heads * head_dim] holding q | k | v per row (head h at columns
    // h * head_dim of each part); out: [batch * seq, heads * head_dim]. Keys at positions
    // >= lengths[b] (when lengths is not null) and, when `causal`, keys after the query are
    // masked out. Scores are scaled by head_dim^-0.5.
    virtual void attention(const float* qkv, int batch, int seq, int heads, int head_dim,
                           const int* lengths, bool causal, float* out) = 0;

    // The precision the linear layers run in (fp32 where the CPU cannot run the one asked for)
    // and, when that differs from the one asked for, why.
    virtual Precision precision() const = 0;
    virtual std::string precision_note() const = 0;

    // The kernels chosen so far (oneDNN implementation names), for benchmarks and logs.
    virtual std::string kernel_info() const = 0;

    // For the packed-weight cache (src/model/packed_tower_cache.h), which stores whatever the
    // backend packs, as byte blocks, without knowing their form:
    // - packing_key: everything the packed form depends on besides the weight itself (backend,
    //   its library's version, the CPU ISA in effect, precision, packing revision);
    // - packed_block_sizes: the blocks a weight of this shape packs into;
    // - prepare_linear_into: prepare_linear writing into such blocks (a cache file being filled)
    //   and using them in place;
    // - linear_from_blocks: a weight that uses blocks packed earlier in place (they must outlive
    //   it), or null when they do not hold what this backend would pack for this shape now.
    virtual std::string packing_key() const = 0;
    virtual std::vector<size_t> packed_block_sizes(int out_features, int in_features) = 0;
    virtual std::unique_ptr<LinearWeights> prepare_linear_into(const float* weight, const float* bias,
                                                               int out_features, int in_features,
                                                               const std::vector<std::span<std::byte>>& blocks) = 0;
    virtual std::unique_ptr<LinearWeights> linear_from_blocks(const std::vector<std::span<const std::byte>>& blocks,
                                                              const float* bias, int out_features,
                                                              int in_features) = 0;
};

// oneDNN on the CPU. threads: 0 for all cores. Weights are packed once into oneDNN's blocked
// layout. Precision of the linear layers: Fp32 exact; Bf16 multiplies bf16 weights by bf16
// activations with float32 accumulation (AVX512-BF16 / AMX where the CPU has them); Int8
// quantises weights per output channel and activations per call (AVX-512: symmetric s8 on VNNI /
// AMX kernels; AVX2: u8 with a zero point, oneDNN's AVX2 int8 GEMM). Layer norm, attention and the
// residual stream stay float32 in every precision. A CPU (under the ISA cap, cpu_isa.h) without
// bf16 instructions oneDNN can use (AVX512-BF16 or AMX), or without AVX2 for int8, gets fp32
// instead, with a note: oneDNN 2.6 has no faster bf16 matmul there.
std::unique_ptr<Backend> make_cpu_backend(int threads, Precision precision);

}  // namespace zeroclip
