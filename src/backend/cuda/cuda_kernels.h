// cuda_kernels.h - the towers' non-matmul operations on the GPU (cuda_kernels.cu).
//
// Activations are row-major; `void*` tensors hold `DType` elements. Every function enqueues on
// `stream` and throws zeroclip::Error on a bad launch.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "zeroclip/config.h"

namespace zeroclip::cuda {

enum class DType { F32, BF16 };

inline size_t dtype_size(DType type) { return type == DType::F32 ? 4 : 2; }

// y[r] = (x[r] - mean) / sqrt(var + eps) * gamma + beta: float32 in, `y_type` out.
void layer_norm(const float* x, int64_t rows, int cols, const float* gamma, const float* beta, float eps,
                void* y, DType y_type, cudaStream_t stream);

// x = activation(x), in place.
void activate(void* x, size_t n, DType type, Activation activation, cudaStream_t stream);

// Multi-head attention, the contract of Backend::attention: qkv [batch * seq, 3 * heads * head_dim]
// (q | k | v), out [batch * seq, heads * head_dim]; lengths (device, per sequence) may be null.
void attention(const void* qkv, DType type, int batch, int seq, int heads, int head_dim,
               const int* lengths, bool causal, void* out, cudaStream_t stream);

// The patch-embedding convolution's input as a matrix: pixels [count, channels, size, size]
// (float32) to [count * grid * grid, channels * patch * patch] rows of (channel, y, x).
void patchify(const float* pixels, int count, int channels, int image_size, int patch, void* out,
              DType out_type, cudaStream_t stream);

// out[b, t] = (t == 0 ? class_embedding : patches[b, t - 1]) + position_embedding[t], or, without
// a class embedding (null), patches[b, t] + position_embedding[t] (out may then equal patches).
void embed_patches(const float* patches, const float* class_embedding, const float* position_embedding,
                   int count, int seq, int hidden, float* out, cudaStream_t stream);

// y = x as `type` (float32 copied, or rounded to bf16), n elements.
void convert(const float* x, size_t n, void* y, DType type, cudaStream_t stream);

// Attention pooling (SigLIP's MAP head), the contract of Backend::attention_pool: kv [batch * seq,
// 2 * heads * head_dim] (k | v), query [heads * head_dim], out [batch, heads * head_dim]; float32.
void attention_pool(const float* kv, const float* query, int batch, int seq, int heads, int head_dim, float* out,
                    cudaStream_t stream);

// out[b, t] = token_embedding[ids[b, t]] + position_embedding[t]; zero rows where ids < 0.
void embed_tokens(const int* ids, const float* token_embedding, const float* position_embedding, int count,
                  int seq, int hidden, float* out, cudaStream_t stream);

// out[i] = x[rows[i]] for `count` rows of `cols` elements of `type`.
void gather_rows(const void* x, const int* rows, int count, int cols, DType type, void* out, cudaStream_t stream);

}  // namespace zeroclip::cuda
