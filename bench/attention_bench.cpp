// attention_bench.cpp - times zeroclip::attention_heads against the kernel it replaced (one query
// at a time, kept here as attention_reference_kernel) on the CLIP towers' attention shapes, and
// checks that both give the same bits. Not part of the CMake build; compile it with the kernels'
// own flags so that the reference is compiled as it used to be:
//   g++ -std=c++20 -O3 -march=native -fopenmp -fno-trapping-math -ffp-contract=fast -Isrc
//       bench/attention_bench.cpp src/backend/cpu_kernels.cpp -o attention_bench
//   OMP_NUM_THREADS=2 ./attention_bench
#include "backend/cpu_kernels.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

namespace {

constexpr int64_t kParallelElements = 1 << 15;

inline float exp_nonpositive(float x) {
    x = x < -87.0f ? -87.0f : x;
    const int32_t k = static_cast<int32_t>(x * 1.44269504f - 0.5f);
    const float n = static_cast<float>(k);
    const float r = (x - n * 0.693145752f) - n * 1.42860677e-6f;
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

constexpr int kBlock = 64;

using Vec16 = float __attribute__((vector_size(64)));

inline Vec16 load16(const float* p) {
    Vec16 v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

// The previous zeroclip::attention_heads, unchanged.
void attention_reference_kernel(const float* qkv, int batch, int seq, int heads, int head_dim, const int* lengths,
                                bool causal, float* out) {
    const int64_t width = int64_t(heads) * head_dim, row_stride = 3 * width;
    const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
    const int padded_seq = (seq + kBlock - 1) / kBlock * kBlock;
#pragma omp parallel if (int64_t(batch) * heads * seq * seq * head_dim >= kParallelElements)
    {
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
                for (int j = length; j < seq; ++j) {
                    for (int d = 0; d < head_dim; ++d) keys_t[size_t(d) * padded_seq + j] = 0.0f;
                }
                for (int i = 0; i < seq; ++i) {
                    const float* query = base + i * row_stride;
                    const int valid = causal ? std::min(i + 1, length) : length;
                    for (int j0 = 0; j0 < valid; j0 += kBlock) {
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
                    if (d0 < head_dim) {
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

struct Shape {
    const char* name;
    int batch, seq, heads, head_dim;
    bool causal, with_lengths;
};

using Kernel = void (*)(const float*, int, int, int, int, const int*, bool, float*);

// Best of `repeats` timings, in milliseconds.
double best_ms(Kernel kernel, const Shape& s, const std::vector<float>& qkv, const int* lengths,
               std::vector<float>& out, int repeats) {
    double best = 1e30;
    for (int r = 0; r < repeats; ++r) {
        const auto start = std::chrono::steady_clock::now();
        kernel(qkv.data(), s.batch, s.seq, s.heads, s.head_dim, lengths, s.causal, out.data());
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
        best = std::min(best, ms);
    }
    return best;
}

}  // namespace

int main() {
    const Shape shapes[] = {
        {"ViT-L/14 (15 x 257 tokens, 16 heads)", 15, 257, 16, 64, false, false},
        {"ViT-B/32 (32 x 50 tokens, 12 heads)", 32, 50, 12, 64, false, false},
        {"text (64 x 16 tokens, 8 heads, causal)", 64, 16, 8, 64, true, true},
        {"text (64 x 77 tokens, 8 heads, causal)", 64, 77, 8, 64, true, true},
    };
    std::printf("threads: %d\n", omp_get_max_threads());
    std::mt19937 rng(7);
    for (const Shape& s : shapes) {
        // Scaled like real activations: scores of a few units, so that softmax is not flat.
        std::normal_distribution<float> normal(0.0f, 1.0f);
        std::vector<float> qkv(size_t(s.batch) * s.seq * 3 * s.heads * s.head_dim);
        for (float& x : qkv) x = normal(rng);
        std::vector<int> lengths(s.batch);
        for (int b = 0; b < s.batch; ++b) lengths[b] = 1 + int(rng() % s.seq);
        const int* len = s.with_lengths ? lengths.data() : nullptr;
        std::vector<float> out_old(size_t(s.batch) * s.seq * s.heads * s.head_dim), out_new(out_old.size());
        const double flops = 4.0 * s.batch * s.heads * s.seq * s.seq * s.head_dim;
        const int repeats = std::max(5, int(2e10 / flops));
        const double old_ms = best_ms(attention_reference_kernel, s, qkv, len, out_old, repeats);
        const double new_ms = best_ms(zeroclip::attention_heads, s, qkv, len, out_new, repeats);
        const bool identical = std::memcmp(out_old.data(), out_new.data(), out_old.size() * sizeof(float)) == 0;
        std::printf("%-42s old %8.3f ms  new %8.3f ms  x%.2f  (%.0f GFLOP/s new)  %s\n", s.name, old_ms, new_ms,
                    old_ms / new_ms, flops / new_ms * 1e-6, identical ? "bit-identical" : "DIFFERENT");
    }
    return 0;
}
