// SigLIP's vision and text towers (transformers' SiglipModel), written once over the Backend
// interface: the same code runs on the CPU and on a GPU.
#include <algorithm>
#include <cmath>
#include <mutex>

#include "models/encoder.h"
#include "models/packed_tower_cache.h"
#include "models/siglip/siglip_family.h"
#include "models/siglip/siglip_weights.h"
#include "model/text_input.h"
#include "zeroclip/error.h"

namespace zeroclip {

namespace {

// One tower in the backend's form, prepared on its first use; its linear layers mapped from the
// packed-weight cache, or packed and then written there.
struct PreparedTower {
    std::unique_ptr<MappedCacheFile> cached;  // the cache file whose blocks the layers use
    std::vector<PreparedEncoderLayer> layers;
    LayerNorm final_layer_norm;  // text: final_layer_norm; vision: post_layernorm
    Tensor token_embedding, position_embedding;
    // text: the head; vision: the patch embedding and the pooling head
    std::unique_ptr<LinearWeights> text_head, patch_embedding, head_kv, head_out, head_fc1, head_fc2;
    LayerNorm head_layernorm;
    Tensor probe_query;
    bool ready = false;
};

class SiglipTowers final : public ClipModel {
public:
    SiglipTowers(ClipConfig config, SiglipWeights weights, std::unique_ptr<Backend> backend, PackedTowerCache cache)
        : config_(std::move(config)),
          weights_(std::move(weights)),
          backend_(std::move(backend)),
          cache_(std::move(cache)) {
        // Keys and values of the pooling head: in_proj's last two thirds, one matmul.
        const LinearTensor& in_proj = weights_.vision.head.in_proj;
        const int hidden = config_.vision.hidden_size;
        head_kv_tensor_ = {in_proj.weight + size_t(hidden) * hidden, in_proj.bias + hidden, 2 * hidden, hidden};
    }

    const ClipConfig& config() const override { return config_; }
    float logit_scale() const override { return std::exp(weights_.logit_scale); }
    float logit_bias() const override { return weights_.logit_bias; }
    std::string kernel_info() const override { return backend_->kernel_info(); }
    Precision precision() const override { return backend_->precision(); }
    std::string precision_note() const override { return backend_->precision_note(); }
    const CacheOptions* cache() const override { return cache_.usable(*backend_) ? &cache_.options() : nullptr; }
    std::string text_tower_key() const override {
        return cache_.usable(*backend_) ? cache_.tower_key("text", *backend_) : std::string();
    }

    Matrix encode_images(const float* pixel_values, int n) override {
        if (n < 0 || (n > 0 && !pixel_values)) throw Error("encode_images: invalid image batch");
        std::lock_guard<std::mutex> lock(mutex_);
        const PreparedTower& tower = prepared("vision", vision_);
        const VisionConfig& vc = config_.vision;
        const int grid = vc.image_size / vc.patch_size, seq = grid * grid, hidden = vc.hidden_size;
        const int heads = vc.num_attention_heads;
        const int patch_len = vc.num_channels * vc.patch_size * vc.patch_size;
        const int image_floats = vc.num_channels * vc.image_size * vc.image_size;
        const int per_batch = static_cast<int>(std::max<int64_t>(1, backend_->rows_per_pass() / seq));
        const EncoderShape shape{hidden, vc.intermediate_size, heads, vc.hidden_act, vc.layer_norm_eps};
        Backend& b = *backend_;

        Matrix result{n, hidden, std::vector<float>(size_t(n) * hidden)};
        for (int first = 0; first < n; first += per_batch) {
            const int count = std::min(per_batch, n - first);
            const Tensor pixels = b.input(pixel_values + size_t(first) * image_floats, count, image_floats,
                                          TensorType::F32, pixels_);
            const Tensor patch_rows = b.reserve(patch_rows_, int64_t(count) * seq, patch_len, b.compute_type());
            b.patchify(pixels, vc.num_channels, vc.image_size, vc.patch_size, patch_rows);
            const Tensor x = b.reserve(hidden_, int64_t(count) * seq, hidden);
            b.linear(patch_rows, *tower.patch_embedding, x);
            b.embed_patches(x, nullptr, tower.position_embedding, count, seq, x);
            // Every position feeds the pooling head: the encoder keeps all rows.
            encoder_.run(b, tower.layers, shape, count, seq, nullptr, false, nullptr, x);
            b.layer_norm(x, tower.final_layer_norm, x);

            // SiglipMultiheadAttentionPoolingHead: the probe attends over each image's positions,
            // out_proj, then x += mlp(layernorm(x)).
            const Tensor kv = b.reserve(kv_, int64_t(count) * seq, 2 * hidden);
            b.linear(x, *tower.head_kv, kv);
            const Tensor attended = b.reserve(attended_, count, hidden);
            b.attention_pool(kv, tower.probe_query, count, seq, heads, hidden / heads, attended);
            float* out_rows = result.row(first);
            const Tensor out = b.output(out_rows, count, hidden, output_);
            b.linear(attended, *tower.head_out, out);
            b.mlp_block(out, tower.head_layernorm, *tower.head_fc1, post_op_for(vc.hidden_act), *tower.head_fc2);
            b.fetch_output(out, out_rows);
        }
        return result;
    }

    Matrix encode_texts(const std::vector<std::vector<int32_t>>& token_ids) override {
        const TextConfig& tc = config_.text;
        const int n = static_cast<int>(token_ids.size());
        for (int i = 0; i < n; ++i) validate_token_ids(tc, token_ids[i], i);
        std::lock_guard<std::mutex> lock(mutex_);
        const PreparedTower& tower = prepared("text", text_);
        // SiglipProcessor pads every text with </s> to max_length and the tower attends to all
        // positions (no mask) and pools the last one: every sequence is max_position_embeddings long.
        const int seq = tc.max_position_embeddings, hidden = tc.hidden_size, dim = config_.projection_dim;
        const int per_batch = static_cast<int>(std::max<int64_t>(1, backend_->rows_per_pass() / seq));
        const EncoderShape shape{hidden, tc.intermediate_size, tc.num_attention_heads, tc.hidden_act,
                                 tc.layer_norm_eps};
        Backend& b = *backend_;

        Matrix result{n, dim, std::vector<float>(size_t(n) * dim)};
        std::vector<int32_t> ids, pooled_rows;
        for (int first = 0; first < n; first += per_batch) {
            const int count = std::min(per_batch, n - first);
            ids.assign(size_t(count) * seq, tc.pad_token_id);
            pooled_rows.resize(count);
            for (int i = 0; i < count; ++i) {
                const auto& sequence = token_ids[first + i];
                std::copy(sequence.begin(), sequence.end(), ids.begin() + size_t(i) * seq);
                pooled_rows[i] = i * seq + seq - 1;
            }
            const Tensor id_tensor = b.input(ids.data(), int64_t(count) * seq, 1, TensorType::I32, ids_);
            const Tensor pooled = b.input(pooled_rows.data(), count, 1, TensorType::I32, indices_);
            const Tensor x = b.reserve(hidden_, int64_t(count) * seq, hidden);
            b.embed_tokens(id_tensor, tower.token_embedding, tower.position_embedding, seq, x);
            const Tensor last = encoder_.run(b, tower.layers, shape, count, seq, nullptr, false, &pooled, x);
            float* out_rows = result.row(first);
            const Tensor out = b.output(out_rows, count, dim, output_);
            b.norm_linear(last, tower.final_layer_norm, *tower.text_head, out);
            b.fetch_output(out, out_rows);
        }
        return result;
    }

private:
    const PreparedTower& prepared(const std::string& name, PreparedTower& tower) {
        if (tower.ready) return tower;
        const bool text = name == "text";
        prepare_constants(text, tower);  // first: the probe's query reads in_proj before packing drops its pages
        std::unique_ptr<MappedCacheFile> file = cache_.open(name, *backend_);
        if (file && !cache_.adopt(*file, *backend_, linear_slots(text, tower))) {
            cache_.note_rebuilt(name, "packed differently");
            file.reset();
        }
        tower.cached = file ? std::move(file) : cache_.pack(name, *backend_, linear_slots(text, tower));
        tower.ready = true;
        return tower;
    }

    // The tower's linear layers in a fixed order (the cache file's), pointing at `tower`.
    std::vector<LinearSlot> linear_slots(bool text, PreparedTower& tower) {
        std::vector<LinearSlot> slots =
            encoder_slots(text ? weights_.text.layers : weights_.vision.layers, tower.layers);
        const auto add = [&](const LinearTensor& t, std::unique_ptr<LinearWeights>& target) {
            slots.push_back(linear_slot(t, target));
        };
        if (text) {
            add(weights_.text.head, tower.text_head);
            return slots;
        }
        const SiglipPoolingHeadWeights& h = weights_.vision.head;
        add(weights_.vision.patch_embedding, tower.patch_embedding);
        add(head_kv_tensor_, tower.head_kv);
        add(h.out_proj, tower.head_out);
        add(h.fc1, tower.head_fc1);
        add(h.fc2, tower.head_fc2);
        return slots;
    }

    // The tower's layer norms, embeddings and the pooling head's query as backend constants.
    void prepare_constants(bool text, PreparedTower& tower) {
        Backend& b = *backend_;
        if (text) {
            const TextConfig& tc = config_.text;
            const SiglipTextWeights& w = weights_.text;
            adopt_norms(prepare_encoder_norms(b, w.layers, tc.hidden_size, tc.layer_norm_eps), tower.layers);
            tower.final_layer_norm = prepare_layer_norm(b, w.final_layer_norm, tc.hidden_size, tc.layer_norm_eps);
            tower.token_embedding = b.constant(w.token_embedding, tc.vocab_size, tc.hidden_size);
            tower.position_embedding = b.constant(w.position_embedding, tc.max_position_embeddings, tc.hidden_size);
            return;
        }
        const VisionConfig& vc = config_.vision;
        const SiglipVisionWeights& w = weights_.vision;
        const int hidden = vc.hidden_size, grid = vc.image_size / vc.patch_size;
        adopt_norms(prepare_encoder_norms(b, w.layers, hidden, vc.layer_norm_eps), tower.layers);
        tower.final_layer_norm = prepare_layer_norm(b, w.post_layernorm, hidden, vc.layer_norm_eps);
        tower.position_embedding = b.constant(w.position_embedding, grid * grid, hidden);
        tower.head_layernorm = prepare_layer_norm(b, w.head.layernorm, hidden, vc.layer_norm_eps);
        // The probe's query is the same for every image: computed once, in float64.
        const SiglipPoolingHeadWeights& h = w.head;
        probe_query_.assign(hidden, 0.0f);
        for (int o = 0; o < hidden; ++o) {
            double sum = h.in_proj.bias[o];
            for (int i = 0; i < hidden; ++i) sum += double(h.in_proj.weight[size_t(o) * hidden + i]) * h.probe[i];
            probe_query_[o] = static_cast<float>(sum);
        }
        tower.probe_query = b.constant(probe_query_.data(), 1, hidden);
    }

    ClipConfig config_;
    SiglipWeights weights_;
    std::unique_ptr<Backend> backend_;
    PackedTowerCache cache_;
    LinearTensor head_kv_tensor_;
    std::vector<float> probe_query_;  // host copy: a host backend's constant points at it
    std::mutex mutex_;  // encode calls share the towers' preparation and the buffers below
    PreparedTower text_, vision_;
    TransformerEncoder encoder_;
    Buffer pixels_, patch_rows_, hidden_, kv_, attended_, ids_, indices_, output_;
};

}  // namespace

std::unique_ptr<ClipModel> load_siglip_towers(const std::filesystem::path& model_dir, ClipConfig config,
                                              std::unique_ptr<Backend> backend, CacheOptions cache) {
    if (config.projection_dim != config.vision.hidden_size)
        throw Error((model_dir / "config.json").string() + ": text_config.projection_size " +
                    std::to_string(config.projection_dim) + " differs from vision_config.hidden_size " +
                    std::to_string(config.vision.hidden_size) + ": the embeddings could not be compared");
    SiglipWeights weights = SiglipWeights::load(model_dir, config);
    return std::make_unique<SiglipTowers>(std::move(config), std::move(weights), std::move(backend),
                                          PackedTowerCache::for_model(model_dir, std::move(cache)));
}

}  // namespace zeroclip
