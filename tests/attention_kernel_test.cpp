// attention_heads against a naive float64 attention over the shapes the blocked kernel must get
// right: head sizes and sequence lengths that are not multiples of its blocks, per-sequence
// lengths, causal masking.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "backend/cpu/cpu_kernels.h"
#include "test_support.h"

namespace {

struct AttentionCase {
    int batch, seq, heads, head_dim;
    bool causal;
    std::vector<int> lengths;  // empty: all keys valid
};

// qkv laid out as attention_heads reads it; scores of a few units so that softmax is not flat.
std::vector<float> random_qkv(const AttentionCase& c, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.5f);
    std::vector<float> qkv(size_t(c.batch) * c.seq * 3 * c.heads * c.head_dim);
    for (float& x : qkv) x = normal(rng);
    return qkv;
}

std::vector<float> run_kernel(const AttentionCase& c, const std::vector<float>& qkv) {
    std::vector<float> out(size_t(c.batch) * c.seq * c.heads * c.head_dim, -1.0f);
    zeroclip::attention_heads(qkv.data(), c.batch, c.seq, c.heads, c.head_dim,
                              c.lengths.empty() ? nullptr : c.lengths.data(), c.causal, out.data());
    return out;
}

std::vector<double> reference_attention(const AttentionCase& c, const std::vector<float>& qkv) {
    const int64_t width = int64_t(c.heads) * c.head_dim, row = 3 * width;
    std::vector<double> out(size_t(c.batch) * c.seq * width);
    std::vector<double> weights(c.seq);
    for (int b = 0; b < c.batch; ++b) {
        const int length = c.lengths.empty() ? c.seq : std::clamp(c.lengths[b], 1, c.seq);
        for (int h = 0; h < c.heads; ++h) {
            const float* base = qkv.data() + int64_t(b) * c.seq * row + int64_t(h) * c.head_dim;
            for (int i = 0; i < c.seq; ++i) {
                const int valid = c.causal ? std::min(i + 1, length) : length;
                double max_score = -std::numeric_limits<double>::infinity();
                for (int j = 0; j < valid; ++j) {
                    double dot = 0;
                    for (int d = 0; d < c.head_dim; ++d) dot += double(base[i * row + d]) * base[j * row + width + d];
                    weights[j] = dot / std::sqrt(double(c.head_dim));
                    max_score = std::max(max_score, weights[j]);
                }
                double sum = 0;
                for (int j = 0; j < valid; ++j) sum += weights[j] = std::exp(weights[j] - max_score);
                for (int d = 0; d < c.head_dim; ++d) {
                    double acc = 0;
                    for (int j = 0; j < valid; ++j) acc += weights[j] * base[j * row + 2 * width + d];
                    out[(int64_t(b) * c.seq + i) * width + int64_t(h) * c.head_dim + d] = acc / sum;
                }
            }
        }
    }
    return out;
}

TEST(AttentionKernel, MatchesFloat64ReferenceOverShapes) {
    uint32_t seed = 1;
    for (int head_dim : {8, 12, 32, 40, 64, 80, 96}) {
        for (int seq : {1, 2, 7, 50, 77, 257}) {
            for (bool causal : {false, true}) {
                for (bool with_lengths : {false, true}) {
                    AttentionCase c{3, seq, 2, head_dim, causal, {}};
                    // Full, a single key, and one in between.
                    if (with_lengths) c.lengths = {seq, 1, std::max(1, seq * 2 / 3)};
                    const std::vector<float> qkv = random_qkv(c, seed++);
                    EXPECT_LE(zeroclip::test::max_relative_error(run_kernel(c, qkv), reference_attention(c, qkv)), 2e-6)
                        << "head_dim " << head_dim << " seq " << seq << " causal " << causal << " lengths "
                        << with_lengths;
                }
            }
        }
    }
}

TEST(AttentionKernel, OddBatchesAndHeads) {
    AttentionCase c{5, 13, 3, 24, true, {13, 4, 9, 1, 12}};
    const std::vector<float> qkv = random_qkv(c, 99);
    EXPECT_LE(zeroclip::test::max_relative_error(run_kernel(c, qkv), reference_attention(c, qkv)), 2e-6);
}

TEST(AttentionKernel, MaskedKeysDoNotInfluenceOutput) {
    for (bool causal : {false, true}) {
        AttentionCase c{3, 77, 2, 64, causal, {77, 5, 40}};
        std::vector<float> qkv = random_qkv(c, 7);
        const std::vector<float> before = run_kernel(c, qkv);
        // Keys and values past each sequence's length become NaN: they must not even be read.
        const int64_t width = int64_t(c.heads) * c.head_dim;
        for (int b = 0; b < c.batch; ++b) {
            for (int j = c.lengths[b]; j < c.seq; ++j) {
                float* row = qkv.data() + (int64_t(b) * c.seq + j) * 3 * width;
                std::fill(row + width, row + 3 * width, std::numeric_limits<float>::quiet_NaN());
            }
        }
        const std::vector<float> after = run_kernel(c, qkv);
        for (size_t k = 0; k < before.size(); ++k) ASSERT_EQ(before[k], after[k]) << "element " << k;
    }
}

}  // namespace
