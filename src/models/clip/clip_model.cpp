// ClipModel: CLIP's vision and text towers (transformers' CLIPModel) over a compute Backend.
#include <algorithm>
#include <cmath>
#include <mutex>
#include <numeric>

#include "model/text_input.h"
#include "backend/backend.h"
#include "models/clip/clip_family.h"
#include "models/clip/clip_weights.h"
#include "models/encoder.h"
#include "model/packed_tower_cache.h"
#include "zeroclip/eval.h"  // model_fingerprint
#include "zeroclip/error.h"
#include "zeroclip/model.h"

namespace zeroclip {

namespace {

// Rows (sequences x positions) run through the encoder at once: bounds activation memory.
constexpr int64_t kTokensPerBatch = 4096;

// One tower's linear layers in the backend's form. Prepared on the tower's first use (a run
// that embeds only images never reads, packs or maps the text tower, and vice versa): mapped
// from the packed-weight cache, or packed and then written there.
struct PreparedTower {
    std::unique_ptr<MappedCacheFile> cached;  // the cache file whose blocks the layers use
    std::vector<PreparedEncoderLayer> layers;
    std::unique_ptr<LinearWeights> projection, patch_embedding;
    bool ready = false;
};

class OnednnClipModel final : public ClipModel {
public:
    OnednnClipModel(ClipConfig config, ClipWeights weights, std::unique_ptr<Backend> backend,
                    PackedTowerCache cache)
        : config_(std::move(config)),
          weights_(std::move(weights)),
          backend_(std::move(backend)),
          cache_(std::move(cache)) {}

    const CacheOptions* cache() const override { return cache_.enabled() ? &cache_.options() : nullptr; }

    std::string text_tower_key() const override {
        return cache_.enabled() ? cache_.tower_key("text", *backend_) : std::string();
    }

    const ClipConfig& config() const override { return config_; }

    float logit_scale() const override { return std::exp(weights_.logit_scale); }

    std::string kernel_info() const override { return backend_->kernel_info(); }

    Precision precision() const override { return backend_->precision(); }

    std::string precision_note() const override { return backend_->precision_note(); }

    Matrix encode_images(const float* pixel_values, int n) override {
        if (n < 0 || (n > 0 && !pixel_values)) throw Error("encode_images: invalid image batch");
        std::lock_guard<std::mutex> lock(mutex_);
        const PreparedTower& tower = vision_tower();
        const VisionConfig& vc = config_.vision;
        const int grid = vc.image_size / vc.patch_size;
        const int seq = grid * grid + 1;
        const int64_t image_floats = int64_t(vc.num_channels) * vc.image_size * vc.image_size;
        const int per_batch = static_cast<int>(std::max<int64_t>(1, kTokensPerBatch / seq));

        Matrix result{n, config_.projection_dim, std::vector<float>(size_t(n) * config_.projection_dim)};
        for (int first = 0; first < n; first += per_batch) {
            const int count = std::min(per_batch, n - first);
            embed_images(pixel_values + first * image_floats, count, *tower.patch_embedding);
            const EncoderShape shape{vc.hidden_size, vc.intermediate_size, vc.num_attention_heads,
                                     vc.hidden_act, vc.layer_norm_eps};
            const VisionTowerWeights& w = weights_.vision;
            backend_->layer_norm(hidden_.data(), count * seq, vc.hidden_size,
                                 norm_params(w.pre_layernorm, vc.layer_norm_eps), hidden_.data());
            // Pooled output: the class token (position 0) of each image.
            std::vector<int> pooled(count);
            for (int i = 0; i < count; ++i) pooled[i] = i * seq;
            encoder_.run(*backend_, tower.layers, shape, count, seq, nullptr, false, pooled, hidden_);
            project(count, w.post_layernorm, vc.layer_norm_eps, *tower.projection,
                    result.row(first));
        }
        return result;
    }

    Matrix encode_texts(const std::vector<std::vector<int32_t>>& token_ids) override {
        const TextConfig& tc = config_.text;
        const int n = static_cast<int>(token_ids.size());
        for (int i = 0; i < n; ++i) validate_token_ids(config_.text, token_ids[i], i);
        std::lock_guard<std::mutex> lock(mutex_);
        const PreparedTower& tower = text_tower();

        // Longest first, so that each batch pads to a length close to its members'.
        std::vector<int> order(n);
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(),
                         [&](int a, int b) { return token_ids[a].size() > token_ids[b].size(); });

        Matrix result{n, config_.projection_dim, std::vector<float>(size_t(n) * config_.projection_dim)};
        std::vector<float> projected;
        for (int first = 0; first < n;) {
            const int seq = static_cast<int>(token_ids[order[first]].size());
            const int count = static_cast<int>(std::min<int64_t>(std::max<int64_t>(1, kTokensPerBatch / seq), n - first));
            std::vector<int> lengths(count), pooled(count);
            embed_texts(token_ids, order.data() + first, count, seq);
            for (int i = 0; i < count; ++i) {
                const auto& ids = token_ids[order[first + i]];
                lengths[i] = static_cast<int>(ids.size());
                pooled[i] = i * seq + pooled_position(config_.text, ids);
            }
            const EncoderShape shape{tc.hidden_size, tc.intermediate_size, tc.num_attention_heads,
                                     tc.hidden_act, tc.layer_norm_eps};
            encoder_.run(*backend_, tower.layers, shape, count, seq, lengths.data(), true, pooled, hidden_);
            projected.resize(size_t(count) * config_.projection_dim);
            project(count, weights_.text.final_layer_norm, tc.layer_norm_eps, *tower.projection,
                    projected.data());
            for (int i = 0; i < count; ++i) {
                std::copy_n(projected.data() + size_t(i) * config_.projection_dim, config_.projection_dim,
                            result.row(order[first + i]));
            }
            first += count;
        }
        return result;
    }

private:
    const PreparedTower& text_tower() {
        if (!text_.ready) prepare_tower("text", text_);
        return text_;
    }

    const PreparedTower& vision_tower() {
        if (!vision_.ready) prepare_tower("vision", vision_);
        return vision_;
    }

    // The tower's weights: its small tensors from the model file, its linear layers mapped from
    // the cache when a valid file is there, otherwise packed from the model file and cached.
    void prepare_tower(const std::string& name, PreparedTower& tower) {
        const bool text = name == "text";
        std::unique_ptr<MappedCacheFile> file = cache_.open(name, *backend_);
        if (text) weights_.load_text(!file);
        else weights_.load_vision(!file);
        std::vector<LinearSlot> slots = linear_slots(text, tower);
        if (file && !cache_.adopt(*file, *backend_, slots)) {
            cache_.note_rebuilt(name, "packed differently");
            file.reset();
            if (text) weights_.load_text(true);
            else weights_.load_vision(true);
            slots = linear_slots(text, tower);
        }
        tower.cached = file ? std::move(file) : cache_.pack(name, *backend_, slots);
        tower.ready = true;
    }

    // The tower's linear layers in a fixed order (the cache file's), pointing at `tower`.
    std::vector<LinearSlot> linear_slots(bool text, PreparedTower& tower) {
        const auto& layers = text ? weights_.text.layers : weights_.vision.layers;
        tower.layers.clear();
        tower.layers.resize(layers.size());
        std::vector<LinearSlot> slots;
        const auto add = [&](const LinearTensor& t, std::unique_ptr<LinearWeights>& target) {
            slots.push_back({t.bias, t.out_features, t.in_features, &t, nullptr, &target});
        };
        for (size_t i = 0; i < layers.size(); ++i) {
            const EncoderLayerWeights& w = layers[i];
            PreparedEncoderLayer& layer = tower.layers[i];
            layer.weights = &w;
            slots.push_back({w.qkv_bias.data(), 3 * w.q_proj.out_features, w.q_proj.in_features, nullptr, &w,
                             &layer.qkv});
            add(w.out_proj, layer.out_proj);
            add(w.fc1, layer.fc1);
            add(w.fc2, layer.fc2);
        }
        add(text ? weights_.text.projection : weights_.vision.projection, tower.projection);
        if (!text) add(weights_.vision.patch_embedding, tower.patch_embedding);
        return slots;
    }

    // hidden_ = [class, patches] + position embeddings, for `count` images.
    void embed_images(const float* pixels, int count, const LinearWeights& patch_embedding) {
        const VisionConfig& vc = config_.vision;
        const VisionTowerWeights& w = weights_.vision;
        const int patch = vc.patch_size, grid = vc.image_size / patch, size = vc.image_size;
        const int patches = grid * grid, seq = patches + 1, hidden = vc.hidden_size;
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
        patch_out_.resize(size_t(count) * patches * hidden);
        backend_->linear(scratch_.data(), count * patches, patch_embedding, patch_out_.data());

        hidden_.resize(size_t(count) * seq * hidden);
        for (int b = 0; b < count; ++b) {
            for (int t = 0; t < seq; ++t) {
                const float* src = t == 0 ? w.class_embedding
                                          : patch_out_.data() + (size_t(b) * patches + t - 1) * hidden;
                const float* pos = w.position_embedding + size_t(t) * hidden;
                float* dst = hidden_.data() + (size_t(b) * seq + t) * hidden;
                for (int i = 0; i < hidden; ++i) dst[i] = src[i] + pos[i];
            }
        }
    }

    // hidden_ = token + position embeddings, padded with zero rows to `seq` positions.
    void embed_texts(const std::vector<std::vector<int32_t>>& token_ids, const int* indices, int count,
                     int seq) {
        const int hidden = config_.text.hidden_size;
        const TextTowerWeights& w = weights_.text;
        hidden_.assign(size_t(count) * seq * hidden, 0.0f);
        for (int b = 0; b < count; ++b) {
            const auto& ids = token_ids[indices[b]];
            for (size_t t = 0; t < ids.size(); ++t) {
                const float* token = w.token_embedding + size_t(ids[t]) * hidden;
                const float* pos = w.position_embedding + t * hidden;
                float* dst = hidden_.data() + (size_t(b) * seq + t) * hidden;
                for (int i = 0; i < hidden; ++i) dst[i] = token[i] + pos[i];
            }
        }
    }

    // out[i] = projection(layer_norm(hidden_[i])) for the first `count` rows (the pooled tokens).
    void project(int count, const LayerNormWeights& norm, float eps, const LinearWeights& projection, float* out) {
        backend_->norm_linear(hidden_.data(), count, norm_params(norm, eps), projection, out);
    }

    ClipConfig config_;
    ClipWeights weights_;
    std::unique_ptr<Backend> backend_;
    PackedTowerCache cache_;
    std::mutex mutex_;  // encode calls share the towers' preparation and the buffers below
    PreparedTower text_, vision_;
    TransformerEncoder encoder_;
    std::vector<float> hidden_, scratch_, patch_out_;
};

}  // namespace

std::unique_ptr<ClipModel> load_clip_towers(const std::filesystem::path& model_dir, ClipConfig config,
                                            std::unique_ptr<Backend> backend, CacheOptions cache) {
    ClipWeights weights = ClipWeights::open(model_dir, config);
    std::string model_key;
    if (cache.enabled)
        model_key = std::string("zeroclip ") + ZEROCLIP_VERSION + "\nmodel " + model_fingerprint(model_dir);
    PackedTowerCache tower_cache(std::move(cache), std::move(model_key), std::filesystem::absolute(model_dir).string());
    return std::make_unique<OnednnClipModel>(std::move(config), std::move(weights), std::move(backend),
                                             std::move(tower_cache));
}

}  // namespace zeroclip
