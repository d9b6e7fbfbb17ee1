// SigLIP's vision and text towers (transformers' SiglipModel) over a compute Backend.
#include <algorithm>
#include <cmath>
#include <mutex>

#include "models/encoder.h"
#include "models/siglip/siglip_family.h"
#include "models/siglip/siglip_weights.h"
#include "model/text_input.h"
#include "zeroclip/error.h"

namespace zeroclip {

namespace {

// Rows (sequences x positions) run through the encoder at once: bounds activation memory.
constexpr int64_t kTokensPerBatch = 4096;

class SiglipTowers final : public ClipModel {
public:
    SiglipTowers(ClipConfig config, SiglipWeights weights, std::unique_ptr<Backend> backend)
        : config_(std::move(config)), weights_(std::move(weights)), backend_(std::move(backend)) {}

    const ClipConfig& config() const override { return config_; }
    float logit_scale() const override { return std::exp(weights_.logit_scale); }
    float logit_bias() const override { return weights_.logit_bias; }
    std::string kernel_info() const override { return backend_->kernel_info(); }
    Precision precision() const override { return backend_->precision(); }
    std::string precision_note() const override { return backend_->precision_note(); }

    Matrix encode_images(const float* pixel_values, int n) override {
        if (n < 0 || (n > 0 && !pixel_values)) throw Error("encode_images: invalid image batch");
        std::lock_guard<std::mutex> lock(mutex_);
        prepare_vision();
        const VisionConfig& vc = config_.vision;
        const int grid = vc.image_size / vc.patch_size, seq = grid * grid, hidden = vc.hidden_size;
        const int64_t image_floats = int64_t(vc.num_channels) * vc.image_size * vc.image_size;
        const int per_batch = static_cast<int>(std::max<int64_t>(1, kTokensPerBatch / seq));
        const EncoderShape shape{hidden, vc.intermediate_size, vc.num_attention_heads, vc.hidden_act,
                                 vc.layer_norm_eps};
        const SiglipVisionWeights& w = weights_.vision;

        Matrix result{n, hidden, std::vector<float>(size_t(n) * hidden)};
        for (int first = 0; first < n; first += per_batch) {
            const int count = std::min(per_batch, n - first);
            embed_patches(pixel_values + first * image_floats, count);
            // Every position feeds the pooling head: the encoder keeps all rows.
            encoder_.run(*backend_, vision_layers_, shape, count, seq, nullptr, false, {}, hidden_);
            backend_->layer_norm(hidden_.data(), count * seq, hidden, norm_params(w.post_layernorm, vc.layer_norm_eps),
                                 hidden_.data());
            attention_pool(count, seq, result.row(first));
        }
        return result;
    }

    Matrix encode_texts(const std::vector<std::vector<int32_t>>& token_ids) override {
        const TextConfig& tc = config_.text;
        const int n = static_cast<int>(token_ids.size());
        for (int i = 0; i < n; ++i) validate_token_ids(tc, token_ids[i], i);
        std::lock_guard<std::mutex> lock(mutex_);
        prepare_text();
        // SiglipProcessor pads every text with </s> to max_length and the tower attends to all
        // positions (no mask) and pools the last one: every sequence is max_position_embeddings long.
        const int seq = tc.max_position_embeddings, hidden = tc.hidden_size, dim = config_.projection_dim;
        const int per_batch = static_cast<int>(std::max<int64_t>(1, kTokensPerBatch / seq));
        const EncoderShape shape{hidden, tc.intermediate_size, tc.num_attention_heads, tc.hidden_act,
                                 tc.layer_norm_eps};
        const SiglipTextWeights& w = weights_.text;

        Matrix result{n, dim, std::vector<float>(size_t(n) * dim)};
        for (int first = 0; first < n; first += per_batch) {
            const int count = std::min(per_batch, n - first);
            hidden_.resize(size_t(count) * seq * hidden);
            std::vector<int> pooled(count);
            for (int b = 0; b < count; ++b) {
                const auto& ids = token_ids[first + b];
                for (int t = 0; t < seq; ++t) {
                    const int32_t id = t < int(ids.size()) ? ids[t] : tc.pad_token_id;
                    const float* token = w.token_embedding + size_t(id) * hidden;
                    const float* pos = w.position_embedding + size_t(t) * hidden;
                    float* dst = hidden_.data() + (size_t(b) * seq + t) * hidden;
                    for (int i = 0; i < hidden; ++i) dst[i] = token[i] + pos[i];
                }
                pooled[b] = b * seq + seq - 1;
            }
            encoder_.run(*backend_, text_layers_, shape, count, seq, nullptr, false, pooled, hidden_);
            backend_->norm_linear(hidden_.data(), count, norm_params(w.final_layer_norm, tc.layer_norm_eps),
                                  *text_head_, result.row(first));
        }
        return result;
    }

private:
    void prepare_text() {
        if (text_head_) return;
        text_layers_ = prepare_encoder_layers(*backend_, weights_.text.layers);
        text_head_ = prepare_linear(*backend_, weights_.text.head);
    }

    void prepare_vision() {
        if (patch_embedding_) return;
        const SiglipPoolingHeadWeights& h = weights_.vision.head;
        const int hidden = config_.vision.hidden_size;
        vision_layers_ = prepare_encoder_layers(*backend_, weights_.vision.layers);
        // The probe's query is the same for every image: computed once, in float64.
        probe_query_.assign(hidden, 0.0f);
        for (int o = 0; o < hidden; ++o) {
            double sum = h.in_proj.bias[o];
            for (int i = 0; i < hidden; ++i) sum += double(h.in_proj.weight[size_t(o) * hidden + i]) * h.probe[i];
            probe_query_[o] = static_cast<float>(sum);
        }
        // Keys and values of the patches: in_proj's last two thirds, one matmul.
        head_kv_ = backend_->prepare_linear(h.in_proj.weight + size_t(hidden) * hidden, h.in_proj.bias + hidden,
                                            2 * hidden, hidden);
        head_out_ = prepare_linear(*backend_, h.out_proj);
        head_fc1_ = prepare_linear(*backend_, h.fc1);
        head_fc2_ = prepare_linear(*backend_, h.fc2);
        patch_embedding_ = prepare_linear(*backend_, weights_.vision.patch_embedding);
    }

    // hidden_ = patch_embedding(patches) + position embeddings, for `count` images.
    void embed_patches(const float* pixels, int count) {
        const VisionConfig& vc = config_.vision;
        const int patch = vc.patch_size, grid = vc.image_size / patch, size = vc.image_size;
        const int patches = grid * grid, hidden = vc.hidden_size;
        const int patch_len = vc.num_channels * patch * patch;

        // The stride-`patch` convolution is a matmul over flattened (channel, y, x) patches.
        scratch_.resize(size_t(count) * patches * patch_len);
        for (int b = 0; b < count; ++b) {
            const float* image = pixels + size_t(b) * vc.num_channels * size * size;
            for (int py = 0; py < grid; ++py) {
                for (int px = 0; px < grid; ++px) {
                    float* row = scratch_.data() + (size_t(b) * patches + py * grid + px) * patch_len;
                    for (int c = 0; c < vc.num_channels; ++c) {
                        for (int y = 0; y < patch; ++y) {
                            const float* src = image + (size_t(c) * size + py * patch + y) * size + px * patch;
                            std::copy_n(src, patch, row + (c * patch + y) * patch);
                        }
                    }
                }
            }
        }
        hidden_.resize(size_t(count) * patches * hidden);
        backend_->linear(scratch_.data(), count * patches, *patch_embedding_, hidden_.data());
        const float* position = weights_.vision.position_embedding;
        for (int b = 0; b < count; ++b) {
            float* dst = hidden_.data() + size_t(b) * patches * hidden;
            for (size_t i = 0; i < size_t(patches) * hidden; ++i) dst[i] += position[i];
        }
    }

    // SiglipMultiheadAttentionPoolingHead over hidden_ ([count * seq, hidden]): the probe attends
    // over each image's positions, out_proj, then x += mlp(layernorm(x)); writes [count, hidden].
    void attention_pool(int count, int seq, float* out) {
        const VisionConfig& vc = config_.vision;
        const int hidden = vc.hidden_size, heads = vc.num_attention_heads, head_dim = hidden / heads;
        kv_.resize(size_t(count) * seq * 2 * hidden);
        backend_->linear(hidden_.data(), count * seq, *head_kv_, kv_.data());

        const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
        attended_.assign(size_t(count) * hidden, 0.0f);
        std::vector<float> scores(seq);
        for (int b = 0; b < count; ++b) {
            const float* kv = kv_.data() + size_t(b) * seq * 2 * hidden;
            for (int h = 0; h < heads; ++h) {
                const float* q = probe_query_.data() + h * head_dim;
                float max_score = -INFINITY;
                for (int t = 0; t < seq; ++t) {
                    const float* k = kv + size_t(t) * 2 * hidden + h * head_dim;
                    float dot = 0.0f;
                    for (int d = 0; d < head_dim; ++d) dot += q[d] * k[d];
                    scores[t] = dot * scale;
                    max_score = std::max(max_score, scores[t]);
                }
                float sum = 0.0f;
                for (float& s : scores) sum += (s = std::exp(s - max_score));
                float* dst = attended_.data() + size_t(b) * hidden + h * head_dim;
                for (int t = 0; t < seq; ++t) {
                    const float* v = kv + size_t(t) * 2 * hidden + hidden + h * head_dim;
                    const float p = scores[t] / sum;
                    for (int d = 0; d < head_dim; ++d) dst[d] += p * v[d];
                }
            }
        }
        backend_->linear(attended_.data(), count, *head_out_, out);
        const SiglipPoolingHeadWeights& w = weights_.vision.head;
        backend_->mlp_block(out, count, norm_params(w.layernorm, vc.layer_norm_eps), *head_fc1_,
                            post_op_for(vc.hidden_act), *head_fc2_);
    }

    ClipConfig config_;
    SiglipWeights weights_;
    std::unique_ptr<Backend> backend_;
    std::mutex mutex_;  // encode calls share the towers' preparation and the buffers below
    std::vector<PreparedEncoderLayer> text_layers_, vision_layers_;
    std::unique_ptr<LinearWeights> text_head_, patch_embedding_, head_kv_, head_out_, head_fc1_, head_fc2_;
    std::vector<float> probe_query_;
    TransformerEncoder encoder_;
    std::vector<float> hidden_, scratch_, kv_, attended_;
};

}  // namespace

std::unique_ptr<ClipModel> load_siglip_towers(const std::filesystem::path& model_dir, ClipConfig config,
                                              std::unique_ptr<Backend> backend, CacheOptions /*cache*/) {
    if (config.projection_dim != config.vision.hidden_size)
        throw Error((model_dir / "config.json").string() + ": text_config.projection_size " +
                    std::to_string(config.projection_dim) + " differs from vision_config.hidden_size " +
                    std::to_string(config.vision.hidden_size) + ": the embeddings could not be compared");
    SiglipWeights weights = SiglipWeights::load(model_dir, config);
    return std::make_unique<SiglipTowers>(std::move(config), std::move(weights), std::move(backend));
}

}  // namespace zeroclip
