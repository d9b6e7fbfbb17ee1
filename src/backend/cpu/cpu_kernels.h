// cpu_kernels.h - the element-wise and row-wise loops of the CPU backend, vectorised and
// spread over the OpenMP threads (matmuls go to oneDNN).
#pragma once

#include <cstdint>

namespace zeroclip {

// y[r] = (x[r] - mean) / sqrt(var + eps) * gamma + beta for each of m rows of n; y may equal x.
void layer_norm_rows(const float* x, int64_t m, int n, const float* gamma, const float* beta, float eps,
                     float* y);

// The same, written as bfloat16 (rounded to nearest even) for a bf16 matmul to read.
void layer_norm_rows_bf16(const float* x, int64_t m, int n, const float* gamma, const float* beta, float eps,
                          uint16_t* y);

// Round to nearest even bfloat16 (stored as raw 16-bit patterns).
void convert_to_bf16(const float* x, int64_t count, uint16_t* y);

// max |x[i]| over count values (0 for none).
float abs_max(const float* x, int64_t count);

// y[i] += x[i] for count values.
void add_rows(const float* x, int64_t count, float* y);

// low = min(0, x[i]...), high = max(0, x[i]...) over count values.
void min_max(const float* x, int64_t count, float& low, float& high);

// y = clamp(round(x * inv_scale) + zero_point, 0, 255): asymmetric uint8 quantisation.
void quantize_u8(const float* x, int64_t count, float inv_scale, int32_t zero_point, uint8_t* y);

// y = clamp(round(x * inv_scale), -127, 127): symmetric int8 quantisation.
void quantize_s8(const float* x, int64_t count, float inv_scale, int8_t* y);

// Multi-head scaled dot-product attention, one (sequence, head) pair at a time so that only a
// few rows of scores exist per thread. qkv: [batch * seq, 3 * heads * head_dim] (q | k | v, head h at
// columns h * head_dim of each part); out: [batch * seq, heads * head_dim]. Keys at positions
// >= lengths[b] (all valid when lengths is null) and, when causal, after the query are masked.
void attention_heads(const float* qkv, int batch, int seq, int heads, int head_dim, const int* lengths,
                     bool causal, float* out);

}  // namespace zeroclip
