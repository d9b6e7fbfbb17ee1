// The backend interface (src/backend/backend.h): the registry, the one place choosing a backend,
// and the operations the towers are written in, checked against plain double-precision loops on
// every backend this machine can run (the CPU; a CUDA GPU where there is one).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "test_support.h"
#include "zeroclip/error.h"

namespace zeroclip {
namespace {

std::vector<float> random_values(size_t count, float scale, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, scale);
    std::vector<float> values(count);
    for (float& v : values) v = normal(rng);
    return values;
}

TEST(BackendRegistry, ListsTheCpuFirstAndCudaOnlyWhenBuilt) {
    ASSERT_FALSE(backend_factories().empty());
    EXPECT_EQ(backend_factories().front().name, "cpu");
    EXPECT_NE(find_backend("cpu"), nullptr);
    EXPECT_EQ(find_backend("tpu"), nullptr);
#ifdef ZEROCLIP_HAVE_CUDA
    ASSERT_NE(find_backend("cuda"), nullptr);
    EXPECT_EQ(find_backend("cuda")->precisions, (std::vector<Precision>{Precision::Fp32, Precision::Bf16}));
#else
    EXPECT_EQ(find_backend("cuda"), nullptr);
    EXPECT_NE(probe_cuda().error.find("built without CUDA"), std::string::npos) << probe_cuda().error;
#endif
}

TEST(BackendRegistry, MakeBackendPicksTheDeviceAndItsPrecision) {
    auto cpu = make_backend(Device::Cpu, Precision::Fp32, 1);
    EXPECT_EQ(cpu->name(), "cpu");
    EXPECT_EQ(cpu->precision(), Precision::Fp32);
    EXPECT_TRUE(cpu->precision_note().empty());
    // auto: a GPU when one is usable, never for int8 (only the CPU runs it).
    EXPECT_EQ(make_backend(Device::Auto, Precision::Fp32, 1)->name(), cuda_device_available() ? "cuda" : "cpu");
    EXPECT_EQ(make_backend(Device::Auto, Precision::Int8, 1)->name(), "cpu");
    EXPECT_THROW(make_backend(Device::Cpu, Precision::Fp32, -1), Error);
    if (!cuda_device_available()) {
        EXPECT_THROW(make_backend(Device::Cuda, Precision::Fp32, 1), Error);
    }
}

// A host backend hands host memory to the operations as it is: no copy at a tower's edges.
TEST(BackendRegistry, HostBackendUsesHostMemoryInPlace) {
    auto cpu = make_backend(Device::Cpu, Precision::Fp32, 1);
    ASSERT_TRUE(cpu->host_memory());
    std::vector<float> values(12, 1.0f);
    Buffer staging;
    EXPECT_EQ(cpu->input(values.data(), 3, 4, TensorType::F32, staging).data, values.data());
    EXPECT_EQ(cpu->output(values.data(), 3, 4, staging).data, values.data());
    EXPECT_EQ(cpu->constant(values.data(), 3, 4).data, values.data());
    EXPECT_EQ(staging.memory, nullptr);
}

// ---- The operations, on each backend this machine runs ----

// Parameter: the backend's name in the registry.
class BackendOps : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        const Device device = GetParam() == "cuda" ? Device::Cuda : Device::Cpu;
        if (device == Device::Cuda && !cuda_device_available()) GTEST_SKIP() << "no CUDA GPU: " << probe_cuda().error;
        backend_ = make_backend(device, Precision::Fp32, 1);
        ASSERT_EQ(backend_->name(), GetParam());
    }

    // A copy of host values in the backend's memory (kept in staging_): operations writing in place
    // leave the host values, the expectations' input, as they were.
    Tensor put(const std::vector<float>& values, int64_t rows, int cols) {
        const Tensor t = backend_->reserve(staging_.emplace_back(), rows, cols);
        backend_->upload(values.data(), t);
        return t;
    }
    Tensor put_ints(const std::vector<int32_t>& values) {
        const Tensor t = backend_->reserve(staging_.emplace_back(), int64_t(values.size()), 1, TensorType::I32);
        backend_->upload(values.data(), t);
        return t;
    }
    Tensor make(int64_t rows, int cols) { return backend_->reserve(staging_.emplace_back(), rows, cols); }
    std::vector<float> get(const Tensor& t) {
        std::vector<float> host(size_t(t.rows) * t.cols);
        backend_->download(t, host.data());
        return host;
    }

    std::unique_ptr<Backend> backend_;
    std::deque<Buffer> staging_;
};

TEST_P(BackendOps, EmbeddingsAndGather) {
    const int hidden = 5, seq = 3, vocab = 7;
    const auto tokens = random_values(size_t(vocab) * hidden, 1.0f, 1);
    const auto positions = random_values(size_t(seq + 1) * hidden, 1.0f, 2);
    const std::vector<int32_t> ids = {6, 0, -1, 2, -1, -1};  // two sequences, padded with -1
    const Tensor out = make(6, hidden);
    backend_->embed_tokens(put_ints(ids), put(tokens, vocab, hidden), put(positions, seq + 1, hidden), seq, out);
    const auto embedded = get(out);
    for (int r = 0; r < 6; ++r)
        for (int c = 0; c < hidden; ++c) {
            const float expected = ids[r] < 0 ? 0.0f : tokens[ids[r] * hidden + c] + positions[(r % seq) * hidden + c];
            EXPECT_EQ(embedded[r * hidden + c], expected) << r << "," << c;
        }

    // With a class token: [class, patches] + positions; without: patches + positions, in place.
    const auto patches = random_values(size_t(2) * seq * hidden, 1.0f, 3), cls = random_values(hidden, 1.0f, 4);
    const Tensor with_class = make(2 * (seq + 1), hidden);
    const Tensor class_tensor = put(cls, 1, hidden);
    backend_->embed_patches(put(patches, 2 * seq, hidden), &class_tensor, put(positions, seq + 1, hidden), 2, seq + 1,
                            with_class);
    const auto a = get(with_class);
    for (int b = 0; b < 2; ++b)
        for (int t = 0; t <= seq; ++t)
            for (int c = 0; c < hidden; ++c) {
                const float src = t == 0 ? cls[c] : patches[(b * seq + t - 1) * hidden + c];
                EXPECT_EQ(a[(b * (seq + 1) + t) * hidden + c], src + positions[t * hidden + c]);
            }
    const Tensor in_place = put(patches, 2 * seq, hidden);
    backend_->embed_patches(in_place, nullptr, put(positions, seq, hidden), 2, seq, in_place);
    const auto p = get(in_place);
    for (int r = 0; r < 2 * seq; ++r)
        for (int c = 0; c < hidden; ++c) EXPECT_EQ(p[r * hidden + c], patches[r * hidden + c] + positions[(r % seq) * hidden + c]);

    const std::vector<int32_t> rows = {1, 3, 5};
    const Tensor gathered = make(3, hidden);
    backend_->gather_rows(in_place, put_ints(rows), gathered);
    const auto g = get(gathered);
    for (int i = 0; i < 3; ++i)
        for (int c = 0; c < hidden; ++c) EXPECT_EQ(g[i * hidden + c], p[rows[i] * hidden + c]);
}

TEST_P(BackendOps, PatchifyIsTheConvolutionsRowLayout) {
    const int channels = 3, size = 4, patch = 2, grid = 2, count = 2;
    const auto pixels = random_values(size_t(count) * channels * size * size, 1.0f, 5);
    const int patch_len = channels * patch * patch;
    const Tensor out = make(int64_t(count) * grid * grid, patch_len);
    backend_->patchify(put(pixels, count, channels * size * size), channels, size, patch, out);
    const auto rows = get(out);
    for (int b = 0; b < count; ++b)
        for (int py = 0; py < grid; ++py)
            for (int px = 0; px < grid; ++px)
                for (int c = 0; c < channels; ++c)
                    for (int y = 0; y < patch; ++y)
                        for (int x = 0; x < patch; ++x) {
                            const float expected =
                                pixels[((b * channels + c) * size + py * patch + y) * size + px * patch + x];
                            EXPECT_EQ(rows[((b * grid + py) * grid + px) * patch_len + (c * patch + y) * patch + x], expected);
                        }
}

TEST_P(BackendOps, AttentionPoolIsSoftmaxWeightedValues) {
    const int batch = 2, seq = 37, heads = 3, head_dim = 8, hidden = heads * head_dim;
    const auto kv = random_values(size_t(batch) * seq * 2 * hidden, 1.0f, 6);
    const auto query = random_values(hidden, 1.0f, 7);
    const Tensor out = make(batch, hidden);
    backend_->attention_pool(put(kv, int64_t(batch) * seq, 2 * hidden), put(query, 1, hidden), batch, seq, heads,
                             head_dim, out);
    const auto pooled = get(out);
    std::vector<double> expected(size_t(batch) * hidden);
    for (int b = 0; b < batch; ++b)
        for (int h = 0; h < heads; ++h) {
            std::vector<double> scores(seq);
            double max_score = -INFINITY, sum = 0;
            for (int t = 0; t < seq; ++t) {
                double dot = 0;
                for (int d = 0; d < head_dim; ++d)
                    dot += double(query[h * head_dim + d]) * kv[(size_t(b) * seq + t) * 2 * hidden + h * head_dim + d];
                scores[t] = dot / std::sqrt(double(head_dim));
                max_score = std::max(max_score, scores[t]);
            }
            for (double& s : scores) sum += (s = std::exp(s - max_score));
            for (int d = 0; d < head_dim; ++d) {
                double acc = 0;
                for (int t = 0; t < seq; ++t)
                    acc += scores[t] / sum * kv[(size_t(b) * seq + t) * 2 * hidden + hidden + h * head_dim + d];
                expected[size_t(b) * hidden + h * head_dim + d] = acc;
            }
        }
    EXPECT_LE(test::max_relative_error(pooled, expected), 1e-5);
}

TEST_P(BackendOps, LinearAccumulatesAndActivates) {
    const int m = 5, k = 16, n = 9;
    const auto x = random_values(size_t(m) * k, 1.0f, 8), w = random_values(size_t(n) * k, 0.3f, 9);
    const auto bias = random_values(n, 0.1f, 10), y0 = random_values(size_t(m) * n, 1.0f, 11);
    auto linear = backend_->prepare_linear(w.data(), bias.data(), n, k);
    const Tensor y = put(y0, m, n), activated = make(m, n);
    backend_->linear(put(x, m, k), *linear, y, PostOp::None, true);
    backend_->linear(put(x, m, k), *linear, activated, PostOp::QuickGelu);
    const auto sums = get(y), act = get(activated);
    std::vector<double> expected_sum(size_t(m) * n), expected_act(size_t(m) * n);
    for (int r = 0; r < m; ++r)
        for (int o = 0; o < n; ++o) {
            double acc = bias[o];
            for (int i = 0; i < k; ++i) acc += double(x[r * k + i]) * w[o * k + i];
            expected_sum[r * n + o] = y0[r * n + o] + acc;
            expected_act[r * n + o] = acc / (1.0 + std::exp(-1.702 * acc));
        }
    EXPECT_LE(test::max_relative_error(sums, expected_sum), 1e-5);
    EXPECT_LE(test::max_relative_error(act, expected_act), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Backends, BackendOps, ::testing::Values("cpu", "cuda"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace zeroclip
