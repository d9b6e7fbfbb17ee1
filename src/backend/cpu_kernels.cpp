// The CPU backend's own loops: written so that GCC vectorises them (-march=native, `omp simd`;
// this file is built with -fno-trapping-math so that compares and clamps vectorise, and with FMA
// contraction, harmless here) and split over rows between the OpenMP threads that oneDNN also
// runs on.
#include "backend/cpu_kernels.h"

#include <omp.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <vector>

namespace zeroclip {

namespace {

// Below this many elements a loop stays on the calling thread: waking the team costs more.
constexpr int64_t kParallelElements = 1 << 15;

// exp(x) for x <= 0 (softmax arguments), within 2 ulp, as straight-line code the compiler can
// vectorise: 2^n * e^r with r in [-ln2/2, ln2/2] and a degree-6 Taylor polynomial.
inline float exp_nonpositive(float x) {
    x = x < -87.0f ? -87.0f : x;  // keeps 2^n a normal float; e^-87 is 0 for softmax purposes
    const int32_t k = static_cast<int32_t>(x * 1.44269504f - 0.5f);  // round(x / ln 2), x <= 0
    const float n = static_cast<float>(k);
    const float r = (x - n * 0.693145752f) - n * 1.42860677e-6f;  // ln 2 split in two for exactness
    float p = 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    const int32_t exponent_bits = (k + 127) << 23;
    float two_to_n;
    std::memcpy(&two_to_n, &exponent_bits, sizeof two_to_n);
    return p * two_to_n;
}

}  // namespace

void layer_norm_rows(const float* x, int64_t m, int n, const float* gamma, const float* beta, float eps,
                     float* y) {
#pragma omp parallel for schedule(static) if (m * n >= kParallelElements)
    for (int64_t r = 0; r < m; ++r) {
        const float* in = x + r * n;
        float* out = y + r * n;
        // Two passes in double: mean first, then the biased variance, as torch computes it.
        double sum = 0;
#pragma omp simd reduction(+ : sum)
        for (int i = 0; i < n; ++i) sum += in[i];
        const double mean = sum / n;
        double sq = 0;
#pragma omp simd reduction(+ : sq)
        for (int i = 0; i < n; ++i) sq += (in[i] - mean) * (in[i] - mean);
        const double inv_std = 1.0 / std::sqrt(sq / n + eps);
#pragma omp simd
        for (int i = 0; i < n; ++i) out[i] = static_cast<float>((in[i] - mean) * inv_std) * gamma[i] + beta[i];
    }
}

void convert_to_bf16(const float* x, int64_t count, uint16_t* y) {
#pragma omp parallel for simd schedule(static) if (count >= kParallelElements)
    for (int64_t i = 0; i < count; ++i) {
        const uint32_t bits = std::bit_cast<uint32_t>(x[i]);
        const uint32_t rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
        const bool nan = (bits & 0x7fffffffu) > 0x7f800000u;
        y[i] = static_cast<uint16_t>(nan ? (bits >> 16) | 0x40u : rounded);
    }
}

float abs_max(const float* x, int64_t count) {
    float result = 0.0f;
#pragma omp parallel for simd reduction(max : result) schedule(static) if (count >= kParallelElements)
    for (int64_t i = 0; i < count; ++i) result = std::max(result, std::fabs(x[i]));
    return result;
}

void quantize_s8(const float* x, int64_t count, float inv_scale, int8_t* y) {
#pragma omp parallel for simd schedule(static) if (count >= kParallelElements)
    for (int64_t i = 0; i < count; ++i) {
        const float q = std::nearbyint(x[i] * inv_scale);
        y[i] = static_cast<int8_t>(q < -127.0f ? -127.0f : (q > 127.0f ? 127.0f : q));
    }
}

// Columns computed together in attention: 4 AVX-512 registers of float accumulators, so that
// the sums stay in registers instead of going through memory on every step.
constexpr int kBlock = 64;

// 16 floats as one value (GCC vector extension: a zmm register with AVX-512, split elsewhere).
using Vec16 = float __attribute__((vector_size(64)));

inline Vec16 load16(const float* p) {
    Vec16 v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

void attention_heads(const float* qkv, int batch, int seq, int heads, int head_dim, const int* lengths,
                     bool causal, float* out) {
    const int64_t width = int64_t(heads) * head_dim, row_stride = 3 * width;
    const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
    const int padded_seq = (seq + kBlock - 1) / kBlock * kBlock;
#pragma omp parallel if (int64_t(batch) * heads * seq * seq * head_dim >= kParallelElements)
    {
        // Per thread: this head's keys transposed ([head_dim, padded_seq], zero padded, so that
        // a query's scores are register-blocked axpy updates over contiguous keys) and one row
        // of scores.
        std::vector<float> keys_t(size_t(head_dim) * padded_seq, 0.0f), scores(padded_seq);
#pragma omp for collapse(2) schedule(static)
        for (int b = 0; b < batch; ++b) {
            for (int h = 0; h < heads; ++h) {
                const float* base = qkv + int64_t(b) * seq * row_stride + int64_t(h) * head_dim;
                const int length = lengths ? std::clamp(lengths[b], 1, seq) : seq;
                for (int j = 0; j < length; ++j) {
                    const float* key = base + width + j * row_stride;
                    for (int d = 0; d < head_dim; ++d) keys_t[size_t(d) * padded_seq + j] = key[d];
                }
                for (int j = length; j < seq; ++j) {  // keys past the length: never used, kept finite
                    for (int d = 0; d < head_dim; ++d) keys_t[size_t(d) * padded_seq + j] = 0.0f;
                }
                for (int i = 0; i < seq; ++i) {
                    const float* query = base + i * row_stride;
                    const int valid = causal ? std::min(i + 1, length) : length;
                    for (int j0 = 0; j0 < valid; j0 += kBlock) {
                        // Four explicit vector accumulators: GCC spilled a float[64] to the stack.
                        Vec16 acc[4] = {};
                        for (int d = 0; d < head_dim; ++d) {
                            const float q = query[d] * scale;
                            const float* key_block = keys_t.data() + size_t(d) * padded_seq + j0;
                            for (int v = 0; v < 4; ++v) acc[v] += q * load16(key_block + 16 * v);
                        }
                        std::memcpy(scores.data() + j0, acc, sizeof acc);
                    }
                    float max_score = scores[0];
#pragma omp simd reduction(max : max_score)
                    for (int j = 0; j < valid; ++j) max_score = std::max(max_score, scores[j]);
#pragma omp simd
                    for (int j = 0; j < valid; ++j) scores[j] = exp_nonpositive(scores[j] - max_score);
                    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
                    for (int j = 0; j < valid; ++j) sum += scores[j];
                    const float inv = 1.0f / sum;
                    float* result = out + (int64_t(b) * seq + i) * width + int64_t(h) * head_dim;
                    int d0 = 0;
                    for (; d0 + kBlock <= head_dim; d0 += kBlock) {
                        float acc[kBlock] = {};
                        for (int j = 0; j < valid; ++j) {
                            const float p = scores[j] * inv;
                            const float* value = base + 2 * width + j * row_stride + d0;
#pragma omp simd
                            for (int d = 0; d < kBlock; ++d) acc[d] = std::fma(p, value[d], acc[d]);
                        }
                        std::copy_n(acc, kBlock, result + d0);
                    }
                    if (d0 < head_dim) {  // head sizes that are not a multiple of the block
                        std::fill(result + d0, result + head_dim, 0.0f);
                        for (int j = 0; j < valid; ++j) {
                            const float p = scores[j] * inv;
                            const float* value = base + 2 * width + j * row_stride;
                            for (int d = d0; d < head_dim; ++d) result[d] = std::fma(p, value[d], result[d]);
                        }
                    }
                }
            }
        }
    }
}

}  // namespace zeroclip
