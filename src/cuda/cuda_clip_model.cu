// CudaClipModel: transformers' CLIPModel towers on one NVIDIA GPU.
//
// The same computation as the CPU model (src/models/clip/clip_model.cpp), step by step, with every
// activation resident on the device. The residual stream stays float32 in both precisions; in
// bf16 mode the matmul operands (weights, LayerNorm outputs, q/k/v, MLP activations) are bf16
// and cuBLASLt accumulates in float32.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <numeric>
#include <utility>
#include <vector>

#include "model/text_input.h"
#include "cuda/bf16.h"
#include "cuda/cuda_check.h"
#include "cuda/cuda_clip_model.h"
#include "cuda/cuda_kernels.h"
#include "cuda/cuda_launch.h"
#include "cuda/cuda_matmul.h"
#include "models/clip/clip_weights.h"

namespace zeroclip {

namespace {

using cuda::DeviceLinear;
using ActType = cuda::DType;

// Rows (sequences x positions) per pass through an encoder: 510 ViT-L/14 images, bounding the
// activations (e.g. ~3 GiB for ViT-L/14 in bf16). Buffers grow to what a call needs.
constexpr int64_t kRowsPerChunk = int64_t(1) << 17;

// Device memory, freed on destruction; `reserve` only grows (callers make sure no queued work
// still uses the old allocation: every encode call ends with a stream synchronisation).
class DeviceBuffer {
public:
    DeviceBuffer() = default;
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;
    DeviceBuffer(DeviceBuffer&& other) noexcept
        : data_(std::exchange(other.data_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}
    DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
        std::swap(data_, other.data_);
        std::swap(bytes_, other.bytes_);
        return *this;
    }
    ~DeviceBuffer() { cudaFree(data_); }

    void reserve(size_t bytes) {
        if (bytes <= bytes_) return;
        cudaFree(std::exchange(data_, nullptr));
        bytes_ = 0;
        CUDA_CHECK(cudaMalloc(&data_, bytes));
        bytes_ = bytes;
    }
    template <typename T = void>
    T* get() const { return static_cast<T*>(data_); }

private:
    void* data_ = nullptr;
    size_t bytes_ = 0;
};

// Page-locked host memory: asynchronous copies from and to it overlap with compute.
class PinnedBuffer {
public:
    PinnedBuffer() = default;
    PinnedBuffer(const PinnedBuffer&) = delete;
    PinnedBuffer& operator=(const PinnedBuffer&) = delete;
    ~PinnedBuffer() { cudaFreeHost(data_); }

    void reserve(size_t bytes) {
        if (bytes <= bytes_) return;
        cudaFreeHost(std::exchange(data_, nullptr));
        bytes_ = 0;
        CUDA_CHECK(cudaMallocHost(&data_, bytes));
        bytes_ = bytes;
    }
    template <typename T>
    T* get() const { return static_cast<T*>(data_); }

private:
    void* data_ = nullptr;
    size_t bytes_ = 0;
};

DeviceBuffer upload(const void* data, size_t bytes) {
    DeviceBuffer buffer;
    buffer.reserve(bytes);
    CUDA_CHECK(cudaMemcpy(buffer.get(), data, bytes, cudaMemcpyHostToDevice));
    return buffer;
}

// float32 host data as `type` in device memory.
DeviceBuffer upload_as(const float* data, size_t count, ActType type) {
    if (type == ActType::F32) return upload(data, count * sizeof(float));
    std::vector<uint16_t> converted(count);
    floats_to_bf16(data, count, converted.data());
    return upload(converted.data(), count * sizeof(uint16_t));
}

struct DeviceLayerNorm {
    DeviceBuffer weight, bias;  // float32
};

DeviceLayerNorm upload_layer_norm(const LayerNormWeights& w, int hidden) {
    return {upload(w.weight, hidden * sizeof(float)), upload(w.bias, hidden * sizeof(float))};
}

struct DeviceLinearWeights {
    DeviceBuffer weight, bias;
    DeviceLinear view;
};

DeviceLinearWeights upload_linear(const LinearTensor& t, ActType weight_type, ActType bias_type) {
    DeviceLinearWeights result;
    result.weight = upload_as(t.weight, size_t(t.out_features) * t.in_features, weight_type);
    if (t.bias) result.bias = upload_as(t.bias, t.out_features, bias_type);
    result.view = {result.weight.get(), t.bias ? result.bias.get() : nullptr, t.out_features, t.in_features};
    return result;
}

struct DeviceLayer {
    DeviceLayerNorm layer_norm1, layer_norm2;
    DeviceLinearWeights qkv, out_proj, fc1, fc2;
};

// One tower's encoder, final LayerNorm and projection.
struct DeviceTower {
    int hidden = 0, intermediate = 0, heads = 0;
    Activation activation = Activation::QuickGelu;
    float eps = 1e-5f;
    std::vector<DeviceLayer> layers;
    DeviceLayerNorm final_norm;
    DeviceLinearWeights projection;
};

// The activations of one chunk; grown to the largest chunk seen.
struct Activations {
    DeviceBuffer hidden, normed, qkv, attended, mlp;              // encoder
    DeviceBuffer pixels, patches, patch_out;                      // vision embeddings
    DeviceBuffer ids, lengths, positions;                         // text inputs
    DeviceBuffer pooled, pooled_normed, projected;                // outputs
};

class CudaClipModel final : public ClipModel {
public:
    CudaClipModel(ClipConfig config, const ClipWeights& weights, Precision precision)
        : config_(std::move(config)), type_(precision == Precision::Bf16 ? ActType::BF16 : ActType::F32) {
        CUDA_CHECK(cudaSetDevice(0));
        cudaDeviceProp props{};
        CUDA_CHECK(cudaGetDeviceProperties(&props, 0));
        if (type_ == ActType::BF16 && props.major < 8) {
            throw Error(std::string("device cuda: bf16 needs compute capability 8.0 or newer; ") + props.name +
                        " is " + std::to_string(props.major) + "." + std::to_string(props.minor));
        }
        device_name_ = props.name;
        compute_capability_ = props.major * 10 + props.minor;
        CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
        for (cudaEvent_t& event : staging_free_) CUDA_CHECK(cudaEventCreateWithFlags(&event, cudaEventDisableTiming));
        matmul_ = std::make_unique<cuda::Matmul>(stream_);
        logit_scale_ = std::exp(weights.logit_scale);
        upload_weights(weights);
        // cudaMemcpy from pageable memory may return before its DMA lands, and stream_ (non-blocking)
        // does not wait for the legacy stream: the first encode could read half-uploaded weights.
        CUDA_CHECK(cudaDeviceSynchronize());
    }

    ~CudaClipModel() override {
        cudaStreamSynchronize(stream_);
        matmul_.reset();
        for (cudaEvent_t event : staging_free_) cudaEventDestroy(event);
        cudaStreamDestroy(stream_);
    }

    const ClipConfig& config() const override { return config_; }
    float logit_scale() const override { return logit_scale_; }

    Precision precision() const override { return type_ == ActType::BF16 ? Precision::Bf16 : Precision::Fp32; }

    std::string precision_note() const override { return {}; }  // int8 is refused at load

    std::string kernel_info() const override {
        size_t free_bytes = 0, total_bytes = 0;
        std::string memory;
        if (cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess) {
            memory = ", " + std::to_string((total_bytes - free_bytes) >> 20) + " MiB GPU memory in use";
        }
        return "CUDA " + device_name_ + " (sm_" + std::to_string(compute_capability_) + "), cuBLASLt " +
               (type_ == ActType::BF16 ? "bf16" : "fp32") + memory;
    }

    Matrix encode_images(const float* pixel_values, int n) override {
        if (n < 0 || (n > 0 && !pixel_values)) throw Error("encode_images: invalid image batch");
        std::lock_guard<std::mutex> lock(mutex_);
        drain_after_failure();
        const VisionConfig& vc = config_.vision;
        const int grid = vc.image_size / vc.patch_size;
        const int seq = grid * grid + 1;
        const size_t image_floats = size_t(vc.num_channels) * vc.image_size * vc.image_size;
        const int per_chunk = static_cast<int>(std::max<int64_t>(1, kRowsPerChunk / seq));
        const int projection = config_.projection_dim;

        Matrix result{n, projection, std::vector<float>(size_t(n) * projection)};
        if (n == 0) return result;
        const int largest = std::min(per_chunk, n);
        reserve_encoder(vision_, int64_t(largest) * seq);
        act_.pixels.reserve(largest * image_floats * sizeof(float));
        act_.patches.reserve(size_t(largest) * (seq - 1) * vc.num_channels * vc.patch_size * vc.patch_size *
                             cuda::dtype_size(type_));
        act_.patch_out.reserve(size_t(largest) * (seq - 1) * vc.hidden_size * sizeof(float));
        act_.positions.reserve(largest * sizeof(int));
        reserve_outputs(vision_, largest);
        for (PinnedBuffer& slot : staging_) slot.reserve(largest * image_floats * sizeof(float));
        output_.reserve(size_t(n) * projection * sizeof(float));
        positions_.reserve(largest * sizeof(int));

        // The class token (position 0) of each image is pooled; the same positions every chunk.
        int* positions = positions_.get<int>();
        for (int i = 0; i < largest; ++i) positions[i] = i * seq;
        CUDA_CHECK(cudaMemcpyAsync(act_.positions.get(), positions, largest * sizeof(int), cudaMemcpyHostToDevice,
                                   stream_));

        for (int first = 0, chunk = 0; first < n; first += per_chunk, ++chunk) {
            const int count = std::min(per_chunk, n - first);
            // Copy the next chunk into pinned memory while the GPU still works on the previous one.
            PinnedBuffer& slot = staging_[chunk % 2];
            CUDA_CHECK(cudaEventSynchronize(staging_free_[chunk % 2]));
            std::memcpy(slot.get<float>(), pixel_values + first * image_floats, count * image_floats * sizeof(float));
            CUDA_CHECK(cudaMemcpyAsync(act_.pixels.get(), slot.get<float>(), count * image_floats * sizeof(float),
                                       cudaMemcpyHostToDevice, stream_));
            CUDA_CHECK(cudaEventRecord(staging_free_[chunk % 2], stream_));

            embed_images(count, seq);
            run_encoder(vision_, count, seq, nullptr, false);
            project(vision_, count, output_.get<float>() + size_t(first) * projection);
        }
        CUDA_CHECK(cudaStreamSynchronize(stream_));
        std::memcpy(result.data.data(), output_.get<float>(), size_t(n) * projection * sizeof(float));
        return result;
    }

    Matrix encode_texts(const std::vector<std::vector<int32_t>>& token_ids) override {
        const int n = static_cast<int>(token_ids.size());
        for (int i = 0; i < n; ++i) validate_token_ids(config_.text, token_ids[i], i);
        std::lock_guard<std::mutex> lock(mutex_);
        drain_after_failure();
        const int projection = config_.projection_dim;
        Matrix result{n, projection, std::vector<float>(size_t(n) * projection)};
        if (n == 0) return result;

        // Longest first, so that each chunk pads to a length close to its members'.
        std::vector<int> order(n);
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(),
                         [&](int a, int b) { return token_ids[a].size() > token_ids[b].size(); });
        struct Chunk {
            int first, count, seq;
        };
        std::vector<Chunk> chunks;
        int64_t max_rows = 0;
        int max_count = 0;
        for (int first = 0; first < n;) {
            const int seq = static_cast<int>(token_ids[order[first]].size());
            const int count = static_cast<int>(std::min<int64_t>(std::max<int64_t>(1, kRowsPerChunk / seq), n - first));
            chunks.push_back({first, count, seq});
            max_rows = std::max(max_rows, int64_t(count) * seq);
            max_count = std::max(max_count, count);
            first += count;
        }
        reserve_encoder(text_, max_rows);
        reserve_outputs(text_, max_count);
        act_.ids.reserve(max_rows * sizeof(int));
        act_.lengths.reserve(max_count * sizeof(int));
        act_.positions.reserve(max_count * sizeof(int));
        text_staging_.reserve((max_rows + 2 * size_t(max_count)) * sizeof(int));
        output_.reserve(size_t(n) * projection * sizeof(float));

        for (size_t c = 0; c < chunks.size(); ++c) {
            const Chunk& chunk = chunks[c];
            CUDA_CHECK(cudaEventSynchronize(staging_free_[0]));
            int* ids = text_staging_.get<int>();
            int* lengths = ids + int64_t(chunk.count) * chunk.seq;
            int* positions = lengths + chunk.count;
            for (int i = 0; i < chunk.count; ++i) {
                const auto& sequence = token_ids[order[chunk.first + i]];
                int* row = ids + int64_t(i) * chunk.seq;
                std::copy(sequence.begin(), sequence.end(), row);
                std::fill(row + sequence.size(), row + chunk.seq, -1);  // padding: zero embeddings
                lengths[i] = static_cast<int>(sequence.size());
                positions[i] = i * chunk.seq + pooled_position(config_.text, sequence);
            }
            const size_t id_bytes = size_t(chunk.count) * chunk.seq * sizeof(int);
            CUDA_CHECK(cudaMemcpyAsync(act_.ids.get(), ids, id_bytes, cudaMemcpyHostToDevice, stream_));
            CUDA_CHECK(cudaMemcpyAsync(act_.lengths.get(), lengths, chunk.count * sizeof(int), cudaMemcpyHostToDevice,
                                       stream_));
            CUDA_CHECK(cudaMemcpyAsync(act_.positions.get(), positions, chunk.count * sizeof(int),
                                       cudaMemcpyHostToDevice, stream_));
            CUDA_CHECK(cudaEventRecord(staging_free_[0], stream_));

            cuda::embed_tokens(act_.ids.get<int>(), token_embedding_.get<float>(), text_position_embedding_.get<float>(),
                               chunk.count, chunk.seq, text_.hidden, act_.hidden.get<float>(), stream_);
            run_encoder(text_, chunk.count, chunk.seq, act_.lengths.get<int>(), true);
            project(text_, chunk.count, output_.get<float>() + size_t(chunk.first) * projection);
        }
        CUDA_CHECK(cudaStreamSynchronize(stream_));
        for (int i = 0; i < n; ++i) {
            std::memcpy(result.row(order[i]), output_.get<float>() + size_t(i) * projection, projection * sizeof(float));
        }
        return result;
    }

private:
    // A call that threw may have left work queued on stream_ that reads the buffers this call is
    // about to rewrite or resize: let it finish first (free when the stream is idle).
    void drain_after_failure() { CUDA_CHECK(cudaStreamSynchronize(stream_)); }

    void upload_weights(const ClipWeights& w) {
        const TextConfig& tc = config_.text;
        const VisionConfig& vc = config_.vision;
        text_ = upload_tower(w.text.layers, w.text.final_layer_norm, w.text.projection, tc.hidden_size,
                             tc.intermediate_size, tc.num_attention_heads, tc.hidden_act, tc.layer_norm_eps);
        vision_ = upload_tower(w.vision.layers, w.vision.post_layernorm, w.vision.projection, vc.hidden_size,
                               vc.intermediate_size, vc.num_attention_heads, vc.hidden_act, vc.layer_norm_eps);
        token_embedding_ = upload(w.text.token_embedding, size_t(tc.vocab_size) * tc.hidden_size * sizeof(float));
        text_position_embedding_ = upload(w.text.position_embedding,
                                          size_t(tc.max_position_embeddings) * tc.hidden_size * sizeof(float));
        const int grid = vc.image_size / vc.patch_size;
        class_embedding_ = upload(w.vision.class_embedding, vc.hidden_size * sizeof(float));
        vision_position_embedding_ = upload(w.vision.position_embedding,
                                            size_t(grid * grid + 1) * vc.hidden_size * sizeof(float));
        pre_layernorm_ = upload_layer_norm(w.vision.pre_layernorm, vc.hidden_size);
        patch_embedding_ = upload_linear(w.vision.patch_embedding, type_, ActType::F32);
    }

    DeviceTower upload_tower(const std::vector<EncoderLayerWeights>& layers, const LayerNormWeights& final_norm,
                             const LinearTensor& projection, int hidden, int intermediate, int heads,
                             Activation activation, float eps) {
        DeviceTower tower;
        tower.hidden = hidden;
        tower.intermediate = intermediate;
        tower.heads = heads;
        tower.activation = activation;
        tower.eps = eps;
        std::vector<float> qkv_weight;
        for (const EncoderLayerWeights& l : layers) {
            DeviceLayer& d = tower.layers.emplace_back();
            d.layer_norm1 = upload_layer_norm(l.layer_norm1, hidden);
            d.layer_norm2 = upload_layer_norm(l.layer_norm2, hidden);
            // Outputs that feed the next matmul stay in the compute type; those added to the
            // float32 residual stream are float32 (and so are their biases).
            d.qkv = upload_linear(stacked_qkv(l, qkv_weight), type_, type_);
            d.out_proj = upload_linear(l.out_proj, type_, ActType::F32);
            d.fc1 = upload_linear(l.fc1, type_, type_);
            d.fc2 = upload_linear(l.fc2, type_, ActType::F32);
        }
        tower.final_norm = upload_layer_norm(final_norm, hidden);
        tower.projection = upload_linear(projection, type_, ActType::F32);
        return tower;
    }

    void reserve_encoder(const DeviceTower& tower, int64_t rows) {
        const size_t t = cuda::dtype_size(type_);
        act_.hidden.reserve(rows * tower.hidden * sizeof(float));
        act_.normed.reserve(rows * tower.hidden * t);
        act_.qkv.reserve(rows * 3 * tower.hidden * t);
        act_.attended.reserve(rows * tower.hidden * t);
        act_.mlp.reserve(rows * tower.intermediate * t);
    }

    void reserve_outputs(const DeviceTower& tower, int count) {
        act_.pooled.reserve(size_t(count) * tower.hidden * sizeof(float));
        act_.pooled_normed.reserve(size_t(count) * tower.hidden * cuda::dtype_size(type_));
        act_.projected.reserve(size_t(count) * config_.projection_dim * sizeof(float));
    }

    // act_.hidden = pre_layernorm([class, patches] + position embeddings) for act_.pixels.
    void embed_images(int count, int seq) {
        const VisionConfig& vc = config_.vision;
        const int patches = seq - 1;
        cuda::patchify(act_.pixels.get<float>(), count, vc.num_channels, vc.image_size, vc.patch_size,
                       act_.patches.get(), type_, stream_);
        matmul_->linear(act_.patches.get(), count * patches, patch_embedding_.view, type_, act_.patch_out.get(),
                        ActType::F32);
        cuda::embed_patches(act_.patch_out.get<float>(), class_embedding_.get<float>(),
                            vision_position_embedding_.get<float>(), count, seq, vc.hidden_size,
                            act_.hidden.get<float>(), stream_);
        // In place: each element is read before it is written, by the same thread.
        cuda::layer_norm(act_.hidden.get<float>(), int64_t(count) * seq, vc.hidden_size,
                         pre_layernorm_.weight.get<float>(), pre_layernorm_.bias.get<float>(), vc.layer_norm_eps,
                         act_.hidden.get(), ActType::F32, stream_);
    }

    // Pre-LN transformer layers over act_.hidden ([batch * seq, hidden], float32), in place.
    void run_encoder(const DeviceTower& tower, int batch, int seq, const int* lengths, bool causal) {
        const int rows = batch * seq;
        // tanh-GELU fuses into cuBLASLt's epilogue in bf16; the fp32 parity mode uses our kernel
        // (the formula the CPU uses) for every activation.
        const bool fused_gelu = tower.activation == Activation::GeluTanh && type_ == ActType::BF16;
        float* hidden = act_.hidden.get<float>();
        for (const DeviceLayer& layer : tower.layers) {
            cuda::layer_norm(hidden, rows, tower.hidden, layer.layer_norm1.weight.get<float>(),
                             layer.layer_norm1.bias.get<float>(), tower.eps, act_.normed.get(), type_, stream_);
            matmul_->linear(act_.normed.get(), rows, layer.qkv.view, type_, act_.qkv.get(), type_);
            cuda::attention(act_.qkv.get(), type_, batch, seq, tower.heads, tower.hidden / tower.heads, lengths, causal,
                            act_.attended.get(), stream_);
            matmul_->linear(act_.attended.get(), rows, layer.out_proj.view, type_, hidden, ActType::F32, false, true);
            cuda::layer_norm(hidden, rows, tower.hidden, layer.layer_norm2.weight.get<float>(),
                             layer.layer_norm2.bias.get<float>(), tower.eps, act_.normed.get(), type_, stream_);
            matmul_->linear(act_.normed.get(), rows, layer.fc1.view, type_, act_.mlp.get(), type_, fused_gelu);
            if (!fused_gelu) {
                cuda::activate(act_.mlp.get(), size_t(rows) * tower.intermediate, type_, tower.activation, stream_);
            }
            matmul_->linear(act_.mlp.get(), rows, layer.fc2.view, type_, hidden, ActType::F32, false, true);
        }
    }

    // out (pinned host) = projection(final_norm(hidden[act_.positions])), copied asynchronously.
    void project(const DeviceTower& tower, int count, float* out) {
        cuda::gather_rows(act_.hidden.get<float>(), act_.positions.get<int>(), count, tower.hidden,
                          act_.pooled.get<float>(), stream_);
        cuda::layer_norm(act_.pooled.get<float>(), count, tower.hidden, tower.final_norm.weight.get<float>(),
                         tower.final_norm.bias.get<float>(), tower.eps, act_.pooled_normed.get(), type_, stream_);
        matmul_->linear(act_.pooled_normed.get(), count, tower.projection.view, type_, act_.projected.get(),
                        ActType::F32);
        CUDA_CHECK(cudaMemcpyAsync(out, act_.projected.get(), size_t(count) * config_.projection_dim * sizeof(float),
                                   cudaMemcpyDeviceToHost, stream_));
    }

    ClipConfig config_;
    ActType type_;
    float logit_scale_ = 0.0f;
    std::string device_name_;
    int compute_capability_ = 0;

    cudaStream_t stream_ = nullptr;
    cudaEvent_t staging_free_[2] = {};  // the staging buffers' last upload has completed
    std::unique_ptr<cuda::Matmul> matmul_;

    DeviceTower text_, vision_;
    DeviceBuffer token_embedding_, text_position_embedding_;
    DeviceBuffer class_embedding_, vision_position_embedding_;
    DeviceLayerNorm pre_layernorm_;
    DeviceLinearWeights patch_embedding_;

    std::mutex mutex_;  // encode calls share the buffers below
    Activations act_;
    PinnedBuffer staging_[2], text_staging_, positions_, output_;
};

}  // namespace

std::unique_ptr<ClipModel> load_cuda_clip_model(const std::filesystem::path& model_dir, const ModelOptions& options) {
    if (options.precision == Precision::Int8) throw Error("device cuda: precision int8 is not supported (fp32, bf16)");
    const CudaProbe probe = probe_cuda();
    if (probe.device_count == 0) select_device(Device::Cuda, options.precision, probe);  // throws, saying why
    ClipConfig config = ClipConfig::from_file(model_dir / "config.json");
    const int heads_dim_vision = config.vision.hidden_size / config.vision.num_attention_heads;
    const int heads_dim_text = config.text.hidden_size / config.text.num_attention_heads;
    if (std::max(heads_dim_vision, heads_dim_text) > kAttentionMaxHeadDim) {
        throw Error(model_dir.string() + ": head size " + std::to_string(std::max(heads_dim_vision, heads_dim_text)) +
                    " exceeds the CUDA attention kernel's " + std::to_string(kAttentionMaxHeadDim));
    }
    // The host copy of the weights is only needed until they are on the device.
    const ClipWeights weights = ClipWeights::load(model_dir, config);
    return std::make_unique<CudaClipModel>(std::move(config), weights, options.precision);
}

}  // namespace zeroclip
