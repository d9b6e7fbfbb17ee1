// ClipModel: CLIP's vision and text towers (transformers' CLIPModel), written once over the
// Backend interface: the same code runs on the CPU and on a GPU.
#include <algorithm>
#include <cmath>
#include <mutex>
#include <numeric>

#include "model/text_input.h"
#include "backend/backend.h"
#include "models/clip/clip_family.h"
#include "models/clip/clip_weights.h"
#include "models/encoder.h"
#include "models/packed_tower_cache.h"
#include "zeroclip/error.h"
#include "zeroclip/model.h"

namespace zeroclip {

namespace {

// One tower in the backend's form. Prepared on the tower's first use (a run that embeds only
// images never reads, packs or maps the text tower, and vice versa): its linear layers mapped
// from the packed-weight cache, or packed and then written there.
struct PreparedTower {
    std::unique_ptr<MappedCacheFile> cached;  // the cache file whose blocks the layers use
    std::vector<PreparedEncoderLayer> layers;
    std::unique_ptr<LinearWeights> projection, patch_embedding;
    LayerNorm pre_layernorm, final_layer_norm;  // pre_layernorm: vision only
    Tensor token_embedding, class_embedding, position_embedding;
    bool ready = false;
};

class ClipTowers final : public ClipModel {
public:
    ClipTowers(ClipConfig config, ClipWeights weights, std::unique_ptr<Backend> backend, PackedTowerCache cache)
        : config_(std::move(config)),
          weights_(std::move(weights)),
          backend_(std::move(backend)),
          cache_(std::move(cache)) {}

    const CacheOptions* cache() const override { return cache_.usable(*backend_) ? &cache_.options() : nullptr; }

    std::string text_tower_key() const override {
        return cache_.usable(*backend_) ? cache_.tower_key("text", *backend_) : std::string();
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
        const int grid = vc.image_size / vc.patch_size, patches = grid * grid, seq = patches + 1;
        const int hidden = vc.hidden_size, dim = config_.projection_dim;
        const int patch_len = vc.num_channels * vc.patch_size * vc.patch_size;
        const int image_floats = vc.num_channels * vc.image_size * vc.image_size;
        const int per_batch = static_cast<int>(std::max<int64_t>(1, backend_->rows_per_pass() / seq));
        const EncoderShape shape{hidden, vc.intermediate_size, vc.num_attention_heads, vc.hidden_act,
                                 vc.layer_norm_eps};
        Backend& b = *backend_;

        Matrix result{n, dim, std::vector<float>(size_t(n) * dim)};
        // Pooled output: the class token (position 0) of each image.
        std::vector<int32_t> pooled_rows(std::min(per_batch, n));
        for (size_t i = 0; i < pooled_rows.size(); ++i) pooled_rows[i] = static_cast<int32_t>(i) * seq;
        for (int first = 0; first < n; first += per_batch) {
            const int count = std::min(per_batch, n - first);
            const Tensor pixels = b.input(pixel_values + size_t(first) * image_floats, count, image_floats,
                                          TensorType::F32, pixels_);
            // The stride-`patch` convolution is a matmul over flattened (channel, y, x) patches.
            const Tensor patch_rows = b.reserve(patch_rows_, int64_t(count) * patches, patch_len, b.compute_type());
            b.patchify(pixels, vc.num_channels, vc.image_size, vc.patch_size, patch_rows);
            const Tensor patch_out = b.reserve(patch_out_, int64_t(count) * patches, hidden);
            b.linear(patch_rows, *tower.patch_embedding, patch_out);
            const Tensor x = b.reserve(hidden_, int64_t(count) * seq, hidden);
            b.embed_patches(patch_out, &tower.class_embedding, tower.position_embedding, count, seq, x);
            b.layer_norm(x, tower.pre_layernorm, x);
            const Tensor pooled = b.input(pooled_rows.data(), count, 1, TensorType::I32, indices_);
            const Tensor last = encoder_.run(b, tower.layers, shape, count, seq, nullptr, false, &pooled, x);
            float* out_rows = result.row(first);
            const Tensor out = b.output(out_rows, count, dim, output_);
            b.norm_linear(last, tower.final_layer_norm, *tower.projection, out);
            b.fetch_output(out, out_rows);
        }
        return result;
    }

    Matrix encode_texts(const std::vector<std::vector<int32_t>>& token_ids) override {
        const TextConfig& tc = config_.text;
        const int n = static_cast<int>(token_ids.size());
        for (int i = 0; i < n; ++i) validate_token_ids(config_.text, token_ids[i], i);
        std::lock_guard<std::mutex> lock(mutex_);
        const PreparedTower& tower = text_tower();
        const int dim = config_.projection_dim;
        const EncoderShape shape{tc.hidden_size, tc.intermediate_size, tc.num_attention_heads, tc.hidden_act,
                                 tc.layer_norm_eps};
        Backend& b = *backend_;

        // Longest first, so that each batch pads to a length close to its members'.
        std::vector<int> order(n);
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(),
                         [&](int a, int b) { return token_ids[a].size() > token_ids[b].size(); });

        Matrix result{n, dim, std::vector<float>(size_t(n) * dim)};
        std::vector<float> projected;
        std::vector<int32_t> ids, lengths, pooled_rows;
        for (int first = 0; first < n;) {
            const int seq = static_cast<int>(token_ids[order[first]].size());
            const int count = static_cast<int>(
                std::min<int64_t>(std::max<int64_t>(1, b.rows_per_pass() / seq), n - first));
            ids.assign(size_t(count) * seq, -1);  // padding: zero rows
            lengths.resize(count);
            pooled_rows.resize(count);
            for (int i = 0; i < count; ++i) {
                const auto& sequence = token_ids[order[first + i]];
                std::copy(sequence.begin(), sequence.end(), ids.begin() + size_t(i) * seq);
                lengths[i] = static_cast<int32_t>(sequence.size());
                pooled_rows[i] = i * seq + pooled_position(config_.text, sequence);
            }
            const Tensor id_tensor = b.input(ids.data(), int64_t(count) * seq, 1, TensorType::I32, ids_);
            const Tensor length_tensor = b.input(lengths.data(), count, 1, TensorType::I32, lengths_);
            const Tensor pooled = b.input(pooled_rows.data(), count, 1, TensorType::I32, indices_);
            const Tensor x = b.reserve(hidden_, int64_t(count) * seq, tc.hidden_size);
            b.embed_tokens(id_tensor, tower.token_embedding, tower.position_embedding, seq, x);
            const Tensor last = encoder_.run(b, tower.layers, shape, count, seq, &length_tensor, true, &pooled, x);
            projected.resize(size_t(count) * dim);
            const Tensor out = b.output(projected.data(), count, dim, output_);
            b.norm_linear(last, tower.final_layer_norm, *tower.projection, out);
            b.fetch_output(out, projected.data());
            for (int i = 0; i < count; ++i)
                std::copy_n(projected.data() + size_t(i) * dim, dim, result.row(order[first + i]));
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
        load_weights(text, !file);
        if (file && !cache_.adopt(*file, *backend_, linear_slots(text, tower))) {
            cache_.note_rebuilt(name, "packed differently");
            file.reset();
            load_weights(text, true);
        }
        tower.cached = file ? std::move(file) : cache_.pack(name, *backend_, linear_slots(text, tower));
        prepare_constants(text, tower);
        tower.ready = true;
    }

    void load_weights(bool text, bool linear_weights) {
        if (text) weights_.load_text(linear_weights);
        else weights_.load_vision(linear_weights);
    }

    // The tower's layer norms and embeddings as backend constants.
    void prepare_constants(bool text, PreparedTower& tower) {
        Backend& b = *backend_;
        if (text) {
            const TextConfig& tc = config_.text;
            const TextTowerWeights& w = weights_.text;
            const auto norms = prepare_encoder_norms(b, w.layers, tc.hidden_size, tc.layer_norm_eps);
            adopt_norms(norms, tower.layers);
            tower.final_layer_norm = prepare_layer_norm(b, w.final_layer_norm, tc.hidden_size, tc.layer_norm_eps);
            tower.token_embedding = b.constant(w.token_embedding, tc.vocab_size, tc.hidden_size);
            tower.position_embedding = b.constant(w.position_embedding, tc.max_position_embeddings, tc.hidden_size);
            return;
        }
        const VisionConfig& vc = config_.vision;
        const VisionTowerWeights& w = weights_.vision;
        const int grid = vc.image_size / vc.patch_size;
        adopt_norms(prepare_encoder_norms(b, w.layers, vc.hidden_size, vc.layer_norm_eps), tower.layers);
        tower.pre_layernorm = prepare_layer_norm(b, w.pre_layernorm, vc.hidden_size, vc.layer_norm_eps);
        tower.final_layer_norm = prepare_layer_norm(b, w.post_layernorm, vc.hidden_size, vc.layer_norm_eps);
        tower.class_embedding = b.constant(w.class_embedding, 1, vc.hidden_size);
        tower.position_embedding = b.constant(w.position_embedding, grid * grid + 1, vc.hidden_size);
    }

    // The tower's linear layers in a fixed order (the cache file's), pointing at `tower`.
    std::vector<LinearSlot> linear_slots(bool text, PreparedTower& tower) {
        std::vector<LinearSlot> slots =
            encoder_slots(text ? weights_.text.layers : weights_.vision.layers, tower.layers);
        const auto add = [&](const LinearTensor& t, std::unique_ptr<LinearWeights>& target) {
            slots.push_back(linear_slot(t, target));
        };
        add(text ? weights_.text.projection : weights_.vision.projection, tower.projection);
        if (!text) add(weights_.vision.patch_embedding, tower.patch_embedding);
        return slots;
    }

    ClipConfig config_;
    ClipWeights weights_;
    std::unique_ptr<Backend> backend_;
    PackedTowerCache cache_;
    std::mutex mutex_;  // encode calls share the towers' preparation and the buffers below
    PreparedTower text_, vision_;
    TransformerEncoder encoder_;
    Buffer pixels_, patch_rows_, patch_out_, hidden_, ids_, lengths_, indices_, output_;
};

}  // namespace

std::unique_ptr<ClipModel> load_clip_towers(const std::filesystem::path& model_dir, ClipConfig config,
                                            std::unique_ptr<Backend> backend, CacheOptions cache) {
    ClipWeights weights = ClipWeights::open(model_dir, config);
    return std::make_unique<ClipTowers>(std::move(config), std::move(weights), std::move(backend),
                                             PackedTowerCache::for_model(model_dir, std::move(cache)));
}

}  // namespace zeroclip
