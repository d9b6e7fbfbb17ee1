// cpu_kernels_impl.h - the CPU backend's own loops, compiled once per ISA: each of
// cpu_kernels_avx512.cpp, cpu_kernels_avx2.cpp and cpu_kernels_sse41.cpp defines
// ZEROCLIP_KERNELS_NAMESPACE and ZEROCLIP_VECTOR_FLOATS, includes this file with its own target
// flags (see CMakeLists.txt), and cpu_kernels.cpp picks one at run time (cpu_isa.h). The loops are
// written so that GCC vectorises them (`omp simd`, vector extensions; built with
// -fno-trapping-math so that compares and clamps vectorise, and with FMA contraction, harmless
// here) and split over rows between the OpenMP threads that oneDNN also runs on.
#include <omp.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <array>
#include <utility>
#include <vector>

#include "backend/cpu/cpu_kernel_table.h"

namespace zeroclip::ZEROCLIP_KERNELS_NAMESPACE {

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

// Round to nearest even bfloat16; NaN stays NaN (quiet).
inline uint16_t to_bf16(float value) {
    const uint32_t bits = std::bit_cast<uint32_t>(value);
    const uint32_t rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
    const bool nan = (bits & 0x7fffffffu) > 0x7f800000u;
    return static_cast<uint16_t>(nan ? (bits >> 16) | 0x40u : rounded);
}

inline void store(float* out, float value) { *out = value; }
inline void store(uint16_t* out, float value) { *out = to_bf16(value); }

template <typename Out>
void layer_norm_rows_as(const float* x, int64_t m, int n, const float* gamma, const float* beta, float eps, Out* y) {
#pragma omp parallel for schedule(static) if (m * n >= kParallelElements)
    for (int64_t r = 0; r < m; ++r) {
        const float* in = x + r * n;
        Out* out = y + r * n;
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
        for (int i = 0; i < n; ++i) store(out + i, static_cast<float>((in[i] - mean) * inv_std) * gamma[i] + beta[i]);
    }
}

}  // namespace

void layer_norm_rows(const float* x, int64_t m, int n, const float* gamma, const float* beta, float eps,
                     float* y) {
    layer_norm_rows_as(x, m, n, gamma, beta, eps, y);
}

void layer_norm_rows_bf16(const float* x, int64_t m, int n, const float* gamma, const float* beta, float eps,
                          uint16_t* y) {
    layer_norm_rows_as(x, m, n, gamma, beta, eps, y);
}

void convert_to_bf16(const float* x, int64_t count, uint16_t* y) {
#pragma omp parallel for simd schedule(static) if (count >= kParallelElements)
    for (int64_t i = 0; i < count; ++i) y[i] = to_bf16(x[i]);
}

float abs_max(const float* x, int64_t count) {
    float result = 0.0f;
#pragma omp parallel for simd reduction(max : result) schedule(static) if (count >= kParallelElements)
    for (int64_t i = 0; i < count; ++i) result = std::max(result, std::fabs(x[i]));
    return result;
}

void add_rows(const float* x, int64_t count, float* y) {
#pragma omp parallel for simd schedule(static) if (count >= kParallelElements)
    for (int64_t i = 0; i < count; ++i) y[i] += x[i];
}

void min_max(const float* x, int64_t count, float& low, float& high) {
    float lo = 0.0f, hi = 0.0f;
#pragma omp parallel for simd reduction(min : lo) reduction(max : hi) schedule(static) if (count >= kParallelElements)
    for (int64_t i = 0; i < count; ++i) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    low = lo;
    high = hi;
}

void quantize_u8(const float* x, int64_t count, float inv_scale, int32_t zero_point, uint8_t* y) {
    const float offset = static_cast<float>(zero_point);
#pragma omp parallel for simd schedule(static) if (count >= kParallelElements)
    for (int64_t i = 0; i < count; ++i) {
        const float q = std::nearbyint(x[i] * inv_scale) + offset;
        y[i] = static_cast<uint8_t>(q < 0.0f ? 0.0f : (q > 255.0f ? 255.0f : q));
    }
}

void quantize_s8(const float* x, int64_t count, float inv_scale, int8_t* y) {
#pragma omp parallel for simd schedule(static) if (count >= kParallelElements)
    for (int64_t i = 0; i < count; ++i) {
        const float q = std::nearbyint(x[i] * inv_scale);
        y[i] = static_cast<int8_t>(q < -127.0f ? -127.0f : (q > 127.0f ? 127.0f : q));
    }
}

namespace {

// Attention works on register blocks of kQueries queries x kVectors vectors of kWidth floats:
// every key or value vector loaded feeds kQueries FMAs, which keeps the loops on the FMA units
// instead of on the loads (one query at a time was load-bound). The block fits the register
// file: AVX-512 6 x 4 zmm accumulators (+ 4 loads + 1 broadcast of 32 registers); AVX2 and SSE
// 6 x 2 (+ 2 + 1 of 16). Each output element is still one FMA chain in order (scores over d,
// results over keys), as with one query at a time, so the blocking does not change a single bit
// of the result.
constexpr int kWidth = ZEROCLIP_VECTOR_FLOATS;
constexpr int kQueries = 6;
constexpr int kVectors = kWidth == 16 ? 4 : 2;

// Rows of qkv prefetched ahead while a head is packed: a head's rows are a whole row of qkv
// apart, too far for the hardware prefetcher, so each would otherwise be a cache miss in turn.
constexpr int kPrefetchRows = 8;

// Asks for one head's query, key and value in a row of qkv.
inline void prefetch_head_row(const float* row, int64_t width, int head_dim) {
    for (int part = 0; part < 3; ++part) {
        for (int d = 0; d < head_dim; d += 16) __builtin_prefetch(row + part * width + d);
    }
}

// kWidth floats as one value (GCC vector extension: one zmm, ymm or xmm register).
using Vec = float __attribute__((vector_size(kWidth * sizeof(float))));

inline Vec load_vec(const float* p) {
    Vec v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

inline void store_vec(float* p, Vec v) { std::memcpy(p, &v, sizeof v); }

// scores[q][j0 + kWidth v + l] = sum over d, in order, of queries[q][d] * keys_t[d][j0 + kWidth v + l]
// for the block's nv vectors of keys.
template <int nv>
void attention_scores_block(const float* queries, const float* keys_t, int key_stride, int head_dim, int j0,
                            float* scores) {
    Vec acc[kQueries][nv];
    for (int q = 0; q < kQueries; ++q) {
        for (int v = 0; v < nv; ++v) acc[q][v] = Vec{};
    }
    for (int d = 0; d < head_dim; ++d) {
        Vec key[nv];
        for (int v = 0; v < nv; ++v) key[v] = load_vec(keys_t + size_t(d) * key_stride + j0 + kWidth * v);
        for (int q = 0; q < kQueries; ++q) {
            const float query = queries[q * head_dim + d];
            for (int v = 0; v < nv; ++v) acc[q][v] += query * key[v];
        }
    }
    for (int q = 0; q < kQueries; ++q) {
        for (int v = 0; v < nv; ++v) store_vec(scores + size_t(q) * key_stride + j0 + kWidth * v, acc[q][v]);
    }
}

// results[q][d0 + kWidth v + l] = sum over j < count, in order, of probs[q][j] * values[j][d0 + kWidth v + l].
template <int nv>
void attention_values_block(const float* probs, int key_stride, const float* values, int value_stride, int count,
                            int d0, float* results) {
    Vec acc[kQueries][nv];
    for (int q = 0; q < kQueries; ++q) {
        for (int v = 0; v < nv; ++v) acc[q][v] = Vec{};
    }
    for (int j = 0; j < count; ++j) {
        Vec value[nv];
        for (int v = 0; v < nv; ++v) value[v] = load_vec(values + size_t(j) * value_stride + d0 + kWidth * v);
        for (int q = 0; q < kQueries; ++q) {
            const float p = probs[size_t(q) * key_stride + j];
            for (int v = 0; v < nv; ++v) acc[q][v] += p * value[v];
        }
    }
    for (int q = 0; q < kQueries; ++q) {
        for (int v = 0; v < nv; ++v) store_vec(results + size_t(q) * value_stride + d0 + kWidth * v, acc[q][v]);
    }
}

using ScoresBlock = void (*)(const float*, const float*, int, int, int, float*);
using ValuesBlock = void (*)(const float*, int, const float*, int, int, int, float*);
// Indexed by the number of vectors, so that the last block of a row is only as wide as needed.
template <int... nv>
constexpr std::array<ScoresBlock, kVectors + 1> scores_blocks(std::integer_sequence<int, nv...>) {
    return {nullptr, attention_scores_block<nv + 1>...};
}
template <int... nv>
constexpr std::array<ValuesBlock, kVectors + 1> values_blocks(std::integer_sequence<int, nv...>) {
    return {nullptr, attention_values_block<nv + 1>...};
}
constexpr auto kScoresBlocks = scores_blocks(std::make_integer_sequence<int, kVectors>{});
constexpr auto kValuesBlocks = values_blocks(std::make_integer_sequence<int, kVectors>{});

// scores[0, count) -> softmax probabilities, in place.
inline void softmax_row(float* scores, int count) {
    float max_score = scores[0];
    // Written as a compare, not std::max, so that GCC vectorises it (the maximum is exact either way).
#pragma omp simd reduction(max : max_score)
    for (int j = 0; j < count; ++j) max_score = scores[j] > max_score ? scores[j] : max_score;
#pragma omp simd
    for (int j = 0; j < count; ++j) scores[j] = exp_nonpositive(scores[j] - max_score);
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int j = 0; j < count; ++j) sum += scores[j];
    const float inv = 1.0f / sum;
#pragma omp simd
    for (int j = 0; j < count; ++j) scores[j] *= inv;
}

inline int round_up(int n, int multiple) { return (n + multiple - 1) / multiple * multiple; }

}  // namespace

void attention_heads(const float* qkv, int batch, int seq, int heads, int head_dim, const int* lengths,
                     bool causal, float* out) {
    const int64_t width = int64_t(heads) * head_dim, row_stride = 3 * width;
    const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
    // Rows of whole vectors and whole query blocks, zero padded: blocks never need a partial load.
    const int key_stride = round_up(seq, 16), value_stride = round_up(head_dim, 16);
    const int query_rows = round_up(seq, kQueries);
#pragma omp parallel if (int64_t(batch) * heads * seq * seq * head_dim >= kParallelElements)
    {
        // Per thread, the current head packed out of qkv (whose rows are far apart): its queries
        // scaled, its keys transposed ([head_dim][key_stride]: scores are then axpy updates over
        // contiguous keys) and its values; and for the current block of queries their scores,
        // then probabilities, and results.
        std::vector<float> queries(size_t(query_rows) * head_dim, 0.0f), keys_t(size_t(head_dim) * key_stride, 0.0f);
        std::vector<float> values(size_t(seq) * value_stride, 0.0f), probs(size_t(kQueries) * key_stride);
        std::vector<float> results(size_t(kQueries) * value_stride);
#pragma omp for collapse(2) schedule(static)
        for (int b = 0; b < batch; ++b) {
            for (int h = 0; h < heads; ++h) {
                const float* base = qkv + int64_t(b) * seq * row_stride + int64_t(h) * head_dim;
                const int length = lengths ? std::clamp(lengths[b], 1, seq) : seq;
                for (int j = 0; j < std::min(kPrefetchRows, seq); ++j) {
                    prefetch_head_row(base + j * row_stride, width, head_dim);
                }
                for (int j = 0; j < seq; ++j) {
                    const float* row = base + j * row_stride;
                    if (j + kPrefetchRows < seq) prefetch_head_row(row + kPrefetchRows * row_stride, width, head_dim);
#pragma omp simd
                    for (int d = 0; d < head_dim; ++d) queries[size_t(j) * head_dim + d] = row[d] * scale;
                    // Keys and values past the length are never read: zero keys stand in for them.
                    const bool in_length = j < length;
                    for (int d = 0; d < head_dim; ++d) {
                        keys_t[size_t(d) * key_stride + j] = in_length ? row[width + d] : 0.0f;
                    }
                    if (in_length) std::copy_n(row + 2 * width, head_dim, values.data() + size_t(j) * value_stride);
                }
                for (int i0 = 0; i0 < seq; i0 += kQueries) {
                    // A short last block computes along its zero padding rows, then ignores them.
                    const int block = std::min(kQueries, seq - i0);
                    const float* block_queries = queries.data() + size_t(i0) * head_dim;
                    int valid[kQueries];
                    for (int q = 0; q < block; ++q) valid[q] = causal ? std::min(i0 + q + 1, length) : length;
                    // valid[] never decreases along the block: the last query sees the most keys.
                    for (int j0 = 0; j0 < valid[block - 1]; j0 += kWidth * kVectors) {
                        const int nv = std::min(kVectors, (valid[block - 1] - j0 + kWidth - 1) / kWidth);
                        kScoresBlocks[nv](block_queries, keys_t.data(), key_stride, head_dim, j0, probs.data());
                    }
                    for (int q = 0; q < block; ++q) softmax_row(probs.data() + size_t(q) * key_stride, valid[q]);
                    // The keys every query of the block sees go through the register blocks; under
                    // a causal mask the later queries then add their few extra keys one by one.
                    for (int d0 = 0; d0 < value_stride; d0 += kWidth * kVectors) {
                        const int nv = std::min(kVectors, (value_stride - d0) / kWidth);
                        kValuesBlocks[nv](probs.data(), key_stride, values.data(), value_stride, valid[0], d0,
                                          results.data());
                    }
                    for (int q = 1; q < block; ++q) {
                        float* result = results.data() + size_t(q) * value_stride;
                        for (int j = valid[0]; j < valid[q]; ++j) {
                            const float p = probs[size_t(q) * key_stride + j];
                            const float* value = values.data() + size_t(j) * value_stride;
#pragma omp simd
                            for (int d = 0; d < value_stride; ++d) result[d] = std::fma(p, value[d], result[d]);
                        }
                    }
                    for (int q = 0; q < block; ++q) {
                        std::copy_n(results.data() + size_t(q) * value_stride, head_dim,
                                    out + (int64_t(b) * seq + i0 + q) * width + int64_t(h) * head_dim);
                    }
                }
            }
        }
    }
}

const KernelTable kTable = {layer_norm_rows, layer_norm_rows_bf16, convert_to_bf16, abs_max, add_rows,
                            min_max,         quantize_u8,          quantize_s8,     attention_heads};

}  // namespace zeroclip::ZEROCLIP_KERNELS_NAMESPACE
