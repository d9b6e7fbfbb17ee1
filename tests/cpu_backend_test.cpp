// The CPU backend's operations against plain double-precision loops, in every precision, and its
// fused operations (norm_linear, mlp_block) against the unfused sequence they replace.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "backend/backend.h"
#include "test_support.h"

namespace zeroclip {
namespace {

std::vector<float> random_values(size_t count, float scale, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, scale);
    std::vector<float> values(count);
    for (float& v : values) v = normal(rng);
    return values;
}

double gelu(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }

double tolerance(Precision precision) {
    switch (precision) {
    case Precision::Fp32: return 1e-6;
    case Precision::Bf16: return 2e-2;  // 8-bit mantissas of inputs and weights
    case Precision::Int8: return 5e-2;  // 127 levels for activations and per-channel weights
    }
    return 0;
}

struct Shapes {
    int m = 37, k = 48, n = 72;  // odd row count, widths not multiples of 64
};

class CpuBackendTest : public ::testing::TestWithParam<Precision> {};

TEST_P(CpuBackendTest, MlpBlockIsNormThenLinearsWithResidual) {
    const Precision precision = GetParam();
    const Shapes s;
    const auto x0 = random_values(size_t(s.m) * s.k, 1.0f, 1);
    const auto gamma = random_values(s.k, 1.0f, 2), beta = random_values(s.k, 0.1f, 3);
    const auto w1 = random_values(size_t(s.n) * s.k, 0.2f, 4), b1 = random_values(s.n, 0.1f, 5);
    const auto w2 = random_values(size_t(s.k) * s.n, 0.2f, 6), b2 = random_values(s.k, 0.1f, 7);
    const LayerNorm norm{host_tensor(gamma.data(), 1, s.k), host_tensor(beta.data(), 1, s.k), 1e-5f};

    auto backend = make_backend(Device::Cpu, precision, 1);
    auto fc1 = backend->prepare_linear(w1.data(), b1.data(), s.n, s.k);
    auto fc2 = backend->prepare_linear(w2.data(), b2.data(), s.k, s.n);
    std::vector<float> fused = x0;
    backend->mlp_block(host_tensor(fused.data(), s.m, s.k), norm, *fc1, PostOp::Gelu, *fc2);

    // Independent: the same block in double.
    std::vector<double> expected(x0.begin(), x0.end());
    for (int r = 0; r < s.m; ++r) {
        const float* row = x0.data() + size_t(r) * s.k;
        double mean = 0, var = 0;
        for (int i = 0; i < s.k; ++i) mean += row[i];
        mean /= s.k;
        for (int i = 0; i < s.k; ++i) var += (row[i] - mean) * (row[i] - mean);
        const double inv_std = 1.0 / std::sqrt(var / s.k + 1e-5);
        std::vector<double> normed(s.k), hidden(s.n);
        for (int i = 0; i < s.k; ++i) normed[i] = (row[i] - mean) * inv_std * gamma[i] + beta[i];
        for (int o = 0; o < s.n; ++o) {
            double acc = b1[o];
            for (int i = 0; i < s.k; ++i) acc += normed[i] * w1[size_t(o) * s.k + i];
            hidden[o] = gelu(acc);
        }
        for (int o = 0; o < s.k; ++o) {
            double acc = b2[o];
            for (int i = 0; i < s.n; ++i) acc += hidden[i] * w2[size_t(o) * s.n + i];
            expected[size_t(r) * s.k + o] += acc;
        }
    }
    EXPECT_LE(zeroclip::test::max_relative_error(fused, expected), tolerance(precision));

    // Fusing changes nothing: layer_norm, linear, linear gives the same bits in fp32 and int8
    // (and in bf16, where the norm and fc1 round to bf16 exactly as the separate conversion does).
    std::vector<float> unfused = x0, normed(x0.size()), hidden(size_t(s.m) * s.n);
    backend->layer_norm(host_tensor(unfused.data(), s.m, s.k), norm, host_tensor(normed.data(), s.m, s.k));
    backend->linear(host_tensor(normed.data(), s.m, s.k), *fc1, host_tensor(hidden.data(), s.m, s.n), PostOp::Gelu);
    backend->linear(host_tensor(hidden.data(), s.m, s.n), *fc2, host_tensor(unfused.data(), s.m, s.k), PostOp::None,
                    true);
    EXPECT_EQ(fused, unfused);
}

TEST_P(CpuBackendTest, NormLinearIsLayerNormThenLinear) {
    const Precision precision = GetParam();
    const Shapes s;
    const auto x = random_values(size_t(s.m) * s.k, 2.0f, 11);
    const auto gamma = random_values(s.k, 1.0f, 12), beta = random_values(s.k, 0.1f, 13);
    const auto w = random_values(size_t(s.n) * s.k, 0.2f, 14), b = random_values(s.n, 0.1f, 15);
    const LayerNorm norm{host_tensor(gamma.data(), 1, s.k), host_tensor(beta.data(), 1, s.k), 1e-5f};

    auto backend = make_backend(Device::Cpu, precision, 1);
    auto linear = backend->prepare_linear(w.data(), b.data(), s.n, s.k);
    std::vector<float> fused(size_t(s.m) * s.n), normed(x.size()), unfused(fused.size());
    backend->norm_linear(host_tensor(x.data(), s.m, s.k), norm, *linear, host_tensor(fused.data(), s.m, s.n));
    backend->layer_norm(host_tensor(x.data(), s.m, s.k), norm, host_tensor(normed.data(), s.m, s.k));
    backend->linear(host_tensor(normed.data(), s.m, s.k), *linear, host_tensor(unfused.data(), s.m, s.n));
    EXPECT_EQ(fused, unfused);

    std::vector<double> expected(fused.size());
    for (int r = 0; r < s.m; ++r) {
        for (int o = 0; o < s.n; ++o) {
            double acc = b[o];
            for (int i = 0; i < s.k; ++i) acc += double(normed[size_t(r) * s.k + i]) * w[size_t(o) * s.k + i];
            expected[size_t(r) * s.n + o] = acc;
        }
    }
    EXPECT_LE(zeroclip::test::max_relative_error(fused, expected), tolerance(precision));
}

// The largest products int8 can form: every source value at the top of its range times every
// weight at the top of its range. Without VNNI, oneDNN's AVX2 int8 GEMM adds pairs of u8 x s8
// products in 16 bits, which saturate unless the quantisation leaves room (the ctest run capped at
// AVX2 checks that path): saturation would lose about half of each sum.
TEST_P(CpuBackendTest, LargestProductsDoNotSaturate) {
    const Precision precision = GetParam();
    const int m = 4, k = 256, n = 8;
    std::vector<float> x(size_t(m) * k, 2.0f), w(size_t(n) * k, 0.5f);
    for (int i = 0; i < k; ++i) x[i] = -2.0f;  // one row at the bottom of the range, to set a zero point
    auto backend = make_backend(Device::Cpu, precision, 1);
    auto linear = backend->prepare_linear(w.data(), nullptr, n, k);
    std::vector<float> y(size_t(m) * n);
    backend->linear(host_tensor(x.data(), m, k), *linear, host_tensor(y.data(), m, n));
    for (int r = 0; r < m; ++r) {
        for (int o = 0; o < n; ++o) EXPECT_NEAR(y[size_t(r) * n + o], (r == 0 ? -1.0 : 1.0) * k, tolerance(precision) * k) << r;
    }
}

INSTANTIATE_TEST_SUITE_P(Precisions, CpuBackendTest,
                         ::testing::Values(Precision::Fp32, Precision::Bf16, Precision::Int8),
                         [](const auto& info) {
                             switch (info.param) {
                             case Precision::Fp32: return "fp32";
                             case Precision::Bf16: return "bf16";
                             case Precision::Int8: return "int8";
                             }
                             return "unknown";
                         });

}  // namespace
}  // namespace zeroclip
