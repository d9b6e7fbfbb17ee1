// The float32 CPU backend: oneDNN matmul for every linear layer and for attention's two batched
// products; layer norm and softmax are plain loops.
#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>
#include <tuple>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "backend/backend.h"
#include "zeroclip/error.h"

namespace zeroclip {

PostOp post_op_for(Activation activation) {
    switch (activation) {
    case Activation::QuickGelu: return PostOp::QuickGelu;
    case Activation::Gelu: return PostOp::Gelu;
    case Activation::GeluTanh: return PostOp::GeluTanh;
    }
    return PostOp::None;
}

namespace {

using dnnl::memory;
using Dims = memory::dims;

// Weights stay in torch's [out, in] layout: oneDNN reads them as [in, out] through strides.
class CpuLinearWeights : public LinearWeights {
public:
    const float* weight = nullptr;
    const float* bias = nullptr;
};

// Keep primitive caches bounded: shapes vary with batch size and text length.
constexpr size_t kMaxCachedPrimitives = 512;
// Attention scores held at once (floats): the batch is split to stay under it.
constexpr int64_t kMaxScoreFloats = int64_t(8) << 20;

class CpuBackend : public Backend {
public:
    explicit CpuBackend(int threads) : engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {
        // oneDNN runs on OpenMP here; the library reaches it only through oneDNN, so the thread
        // count is set through the symbol oneDNN's libgomp exports.
        if (threads > 0) {
            using SetThreads = void (*)(int);
            if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"))) {
                set_threads_ = set;
                threads_ = threads;
            }
        }
    }

    std::unique_ptr<LinearWeights> prepare_linear(const float* weight, const float* bias,
                                                  int out_features, int in_features) override {
        auto w = std::make_unique<CpuLinearWeights>();
        w->weight = weight;
        w->bias = bias;
        w->out_features = out_features;
        w->in_features = in_features;
        return w;
    }

    void linear(const float* x, int m, const LinearWeights& weights, float* y, PostOp post_op,
                bool accumulate) override {
        const auto& w = static_cast<const CpuLinearWeights&>(weights);
        if (m == 0) return;
        apply_threads();
        const int64_t k = w.in_features, n = w.out_features;
        const LinearKey key{m, k, n, w.bias != nullptr, post_op, accumulate};
        dnnl::matmul& prim = linear_primitive(key);

        memory src({{m, k}, memory::data_type::f32, Dims{k, 1}}, engine_, const_cast<float*>(x));
        memory wei({{k, n}, memory::data_type::f32, Dims{1, k}}, engine_, const_cast<float*>(w.weight));
        memory dst({{m, n}, memory::data_type::f32, Dims{n, 1}}, engine_, y);
        std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DST, dst}};
        if (w.bias) {
            args.emplace(DNNL_ARG_BIAS, memory({{1, n}, memory::data_type::f32, Dims{n, 1}}, engine_,
                                               const_cast<float*>(w.bias)));
        }
        prim.execute(stream_, args);
        stream_.wait();
    }

    void layer_norm(const float* x, int m, int n, const float* gamma, const float* beta, float eps,
                    float* y) override {
        for (int r = 0; r < m; ++r) {
            const float* in = x + int64_t(r) * n;
            float* out = y + int64_t(r) * n;
            // Two passes in double: mean first, then the biased variance, as torch computes it.
            double sum = 0;
            for (int i = 0; i < n; ++i) sum += in[i];
            const double mean = sum / n;
            double sq = 0;
            for (int i = 0; i < n; ++i) sq += (in[i] - mean) * (in[i] - mean);
            const double inv_std = 1.0 / std::sqrt(sq / n + eps);
            for (int i = 0; i < n; ++i) {
                out[i] = static_cast<float>((in[i] - mean) * inv_std) * gamma[i] + beta[i];
            }
        }
    }

    void attention(const float* qkv, int batch, int seq, int heads, int head_dim, const int* lengths,
                   bool causal, float* out) override {
        if (batch == 0) return;
        apply_threads();
        const int64_t per_sequence = int64_t(heads) * seq * seq;
        const int step = static_cast<int>(std::clamp<int64_t>(kMaxScoreFloats / per_sequence, 1, batch));
        scores_.resize(static_cast<size_t>(per_sequence * step));
        const int64_t width = int64_t(heads) * head_dim;
        for (int b0 = 0; b0 < batch; b0 += step) {
            const int nb = std::min(step, batch - b0);
            const float* chunk = qkv + int64_t(b0) * seq * 3 * width;
            float* chunk_out = out + int64_t(b0) * seq * width;
            attention_scores(chunk, nb, seq, heads, head_dim);
            masked_softmax(nb, seq, heads, lengths ? lengths + b0 : nullptr, causal);
            attention_values(chunk, nb, seq, heads, head_dim, chunk_out);
        }
    }

private:
    using LinearKey = std::tuple<int64_t, int64_t, int64_t, bool, PostOp, bool>;
    using AttentionKey = std::tuple<int, int, int, int>;  // batch, seq, heads, head_dim

    void apply_threads() {
        if (set_threads_) set_threads_(threads_);
    }

    dnnl::matmul& linear_primitive(const LinearKey& key) {
        auto it = linear_cache_.find(key);
        if (it != linear_cache_.end()) return it->second;
        if (linear_cache_.size() >= kMaxCachedPrimitives) linear_cache_.clear();

        const auto [m, k, n, has_bias, post_op, accumulate] = key;
        dnnl::post_ops ops;
        if (accumulate) ops.append_sum(1.0f);
        switch (post_op) {
        case PostOp::None: break;
        case PostOp::QuickGelu:  // x * sigmoid(1.702 x) is swish with alpha 1.702
            ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_swish, 1.702f, 0.0f);
            break;
        case PostOp::Gelu: ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_gelu_erf, 0.0f, 0.0f); break;
        case PostOp::GeluTanh: ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_gelu_tanh, 0.0f, 0.0f); break;
        }
        dnnl::primitive_attr attr;
        attr.set_post_ops(ops);
        const auto f32 = memory::data_type::f32;
        const memory::desc bias_md = has_bias ? memory::desc({1, n}, f32, Dims{n, 1}) : memory::desc();
        const dnnl::matmul::desc desc(memory::desc({m, k}, f32, Dims{k, 1}),
                                      memory::desc({k, n}, f32, Dims{1, k}), bias_md,
                                      memory::desc({m, n}, f32, Dims{n, 1}));
        return linear_cache_.emplace(key, dnnl::matmul({desc, attr, engine_})).first->second;
    }

    // Views of q, k and v inside the packed [batch * seq, 3 * width] rows, as [b, h, s, d].
    static memory::desc head_view(int batch, int seq, int heads, int head_dim, bool transposed) {
        const int64_t row = 3 * int64_t(heads) * head_dim;
        if (transposed) {  // k^T: [b, h, d, s]
            return memory::desc({batch, heads, head_dim, seq}, memory::data_type::f32,
                                Dims{seq * row, head_dim, 1, row});
        }
        return memory::desc({batch, heads, seq, head_dim}, memory::data_type::f32,
                            Dims{seq * row, head_dim, row, 1});
    }

    // scores[b, h, i, j] = q_i . k_j / sqrt(head_dim)
    void attention_scores(const float* qkv, int batch, int seq, int heads, int head_dim) {
        const AttentionKey key{batch, seq, heads, head_dim};
        auto it = scores_cache_.find(key);
        if (it == scores_cache_.end()) {
            if (scores_cache_.size() >= kMaxCachedPrimitives) scores_cache_.clear();
            dnnl::primitive_attr attr;
            attr.set_output_scales(0, {1.0f / std::sqrt(static_cast<float>(head_dim))});
            const dnnl::matmul::desc desc(
                head_view(batch, seq, heads, head_dim, false), head_view(batch, seq, heads, head_dim, true),
                memory::desc({batch, heads, seq, seq}, memory::data_type::f32, memory::format_tag::abcd));
            it = scores_cache_.emplace(key, dnnl::matmul({desc, attr, engine_})).first;
        }
        dnnl::matmul* prim = &it->second;
        const int64_t width = int64_t(heads) * head_dim;
        float* q = const_cast<float*>(qkv);
        memory src(head_view(batch, seq, heads, head_dim, false), engine_, q);
        memory wei(head_view(batch, seq, heads, head_dim, true), engine_, q + width);
        memory dst({{batch, heads, seq, seq}, memory::data_type::f32, memory::format_tag::abcd}, engine_,
                   scores_.data());
        prim->execute(stream_, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DST, dst}});
        stream_.wait();
    }

    void masked_softmax(int batch, int seq, int heads, const int* lengths, bool causal) {
        for (int b = 0; b < batch; ++b) {
            const int length = lengths ? std::clamp(lengths[b], 1, seq) : seq;
            for (int h = 0; h < heads; ++h) {
                for (int i = 0; i < seq; ++i) {
                    float* row = scores_.data() + ((int64_t(b) * heads + h) * seq + i) * seq;
                    const int valid = causal ? std::min(i + 1, length) : length;
                    float max_score = row[0];
                    for (int j = 1; j < valid; ++j) max_score = std::max(max_score, row[j]);
                    float sum = 0.0f;
                    for (int j = 0; j < valid; ++j) {
                        row[j] = std::exp(row[j] - max_score);
                        sum += row[j];
                    }
                    const float inv = 1.0f / sum;
                    for (int j = 0; j < valid; ++j) row[j] *= inv;
                    std::fill(row + valid, row + seq, 0.0f);
                }
            }
        }
    }

    // out[b * seq + i, h * head_dim + d] = sum_j p[b, h, i, j] v_j[h, d]
    void attention_values(const float* qkv, int batch, int seq, int heads, int head_dim, float* out) {
        const AttentionKey key{batch, seq, heads, head_dim};
        const int64_t width = int64_t(heads) * head_dim;
        const memory::desc out_md({batch, heads, seq, head_dim}, memory::data_type::f32,
                                  Dims{seq * width, head_dim, width, 1});
        const memory::desc probs_md({batch, heads, seq, seq}, memory::data_type::f32, memory::format_tag::abcd);
        auto it = values_cache_.find(key);
        if (it == values_cache_.end()) {
            if (values_cache_.size() >= kMaxCachedPrimitives) values_cache_.clear();
            const dnnl::matmul::desc desc(probs_md, head_view(batch, seq, heads, head_dim, false), out_md);
            it = values_cache_.emplace(key, dnnl::matmul({desc, engine_})).first;
        }
        dnnl::matmul* prim = &it->second;
        memory src(probs_md, engine_, scores_.data());
        memory wei(head_view(batch, seq, heads, head_dim, false), engine_, const_cast<float*>(qkv) + 2 * width);
        memory dst(out_md, engine_, out);
        prim->execute(stream_, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DST, dst}});
        stream_.wait();
    }

    dnnl::engine engine_;
    dnnl::stream stream_;
    void (*set_threads_)(int) = nullptr;
    int threads_ = 0;
    std::map<LinearKey, dnnl::matmul> linear_cache_;
    std::map<AttentionKey, dnnl::matmul> scores_cache_;
    std::map<AttentionKey, dnnl::matmul> values_cache_;
    std::vector<float> scores_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(int threads) {
    try {
        return std::make_unique<CpuBackend>(threads);
    } catch (const dnnl::error& e) {
        throw Error(std::string("oneDNN: cannot create a CPU engine: ") + e.what());
    }
}

}  // namespace zeroclip
