// CudaBackend: the Backend operations on one NVIDIA GPU.
//
// Tensors live in device memory. The residual stream stays float32 in both precisions; in bf16
// mode the weights and the tensors that only feed a matmul (compute_type(): q|k|v, the attention
// output, LayerNorm outputs, MLP activations) are bf16 and cuBLASLt accumulates in float32.
// Everything is enqueued on one stream; download waits for it.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "backend/cuda/bf16.h"
#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_kernels.h"
#include "backend/cuda/cuda_matmul.h"

namespace zeroclip {

namespace {

using cuda::DType;

// Rows (sequences x positions) per encoder pass: 510 ViT-L/14 images, bounding the activations
// (e.g. ~3 GiB for ViT-L/14 in bf16).
constexpr int64_t kRowsPerPass = int64_t(1) << 17;

DType device_type(TensorType type) { return type == TensorType::BF16 ? DType::BF16 : DType::F32; }

class CudaMemory : public DeviceMemory {
public:
    explicit CudaMemory(size_t size) {
        if (size) CUDA_CHECK(cudaMalloc(&data, size));
        bytes = size;
    }
    ~CudaMemory() override { cudaFree(data); }
};

// Page-locked host memory: asynchronous copies from it overlap with compute.
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
    void* get() const { return data_; }

private:
    void* data_ = nullptr;
    size_t bytes_ = 0;
};

// A linear layer on the device: the weight in the compute type, the bias in float32 and (bf16
// mode) bf16, since cuBLASLt's bias epilogue reads it in the output's type.
class CudaLinear : public LinearWeights {
public:
    std::unique_ptr<CudaMemory> weight, bias_f32, bias_bf16;

    cuda::DeviceLinear view(DType out_type) const {
        const CudaMemory* bias = out_type == DType::BF16 ? bias_bf16.get() : bias_f32.get();
        return {weight->data, bias ? bias->data : nullptr, out_features, in_features};
    }
};

class CudaBackend final : public Backend {
public:
    explicit CudaBackend(const BackendSettings& settings)
        : precision_(settings.precision),
          precision_note_(settings.precision_note),
          type_(settings.precision == Precision::Bf16 ? DType::BF16 : DType::F32) {
        // make_backend settled the precision (effective_precision): fp32, or bf16 on 8.0 or newer.
        if (precision_ == Precision::Int8) throw Error("device cuda: precision int8 is not supported (fp32, bf16)");
        CUDA_CHECK(cudaSetDevice(0));
        cudaDeviceProp props{};
        CUDA_CHECK(cudaGetDeviceProperties(&props, 0));
        device_name_ = props.name;
        compute_capability_ = props.major * 10 + props.minor;
        CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
        for (Staging& slot : staging_) CUDA_CHECK(cudaEventCreateWithFlags(&slot.free, cudaEventDisableTiming));
        matmul_ = std::make_unique<cuda::Matmul>(stream_);
    }

    ~CudaBackend() override {
        cudaStreamSynchronize(stream_);
        matmul_.reset();
        for (Staging& slot : staging_) cudaEventDestroy(slot.free);
        cudaStreamDestroy(stream_);
    }

    // ---- Memory ----
    std::string name() const override { return "cuda"; }
    bool host_memory() const override { return false; }
    TensorType compute_type() const override { return type_ == DType::BF16 ? TensorType::BF16 : TensorType::F32; }
    int64_t rows_per_pass() const override { return kRowsPerPass; }

    std::unique_ptr<DeviceMemory> allocate(size_t bytes) override { return std::make_unique<CudaMemory>(bytes); }

    // Through a pinned staging buffer (two, alternating): the copy overlaps with queued work, and
    // the host memory may change as soon as this returns.
    void upload(const void* host, const Tensor& dst) override {
        const size_t bytes = dst.bytes();
        if (bytes == 0) return;
        Staging& slot = staging_[next_staging_++ % 2];
        CUDA_CHECK(cudaEventSynchronize(slot.free));  // its previous copy has landed
        slot.buffer.reserve(bytes);
        std::memcpy(slot.buffer.get(), host, bytes);
        CUDA_CHECK(cudaMemcpyAsync(dst.data, slot.buffer.get(), bytes, cudaMemcpyHostToDevice, stream_));
        CUDA_CHECK(cudaEventRecord(slot.free, stream_));
    }

    void download(const Tensor& src, void* host) override {
        if (src.bytes() == 0) return;
        CUDA_CHECK(cudaMemcpyAsync(host, src.data, src.bytes(), cudaMemcpyDeviceToHost, stream_));
        CUDA_CHECK(cudaStreamSynchronize(stream_));
    }

    Tensor constant(const float* host, int64_t rows, int cols) override {
        const Tensor tensor{nullptr, rows, cols, TensorType::F32};
        auto memory = std::make_unique<CudaMemory>(tensor.bytes());
        copy_to_device(memory->data, host, tensor.bytes());
        const Tensor result{memory->data, rows, cols, TensorType::F32};
        constants_.push_back(std::move(memory));
        return result;
    }

    // ---- Linear layers ----
    std::unique_ptr<LinearWeights> prepare_linear(const float* weight, const float* bias, int out_features,
                                                  int in_features) override {
        auto w = std::make_unique<CudaLinear>();
        w->out_features = out_features;
        w->in_features = in_features;
        w->weight = upload_as(weight, size_t(out_features) * in_features, type_);
        if (bias) {
            w->bias_f32 = upload_as(bias, out_features, DType::F32);
            if (type_ == DType::BF16) w->bias_bf16 = upload_as(bias, out_features, DType::BF16);
        }
        return w;
    }

    void linear(const Tensor& x, const LinearWeights& weights, const Tensor& y, PostOp post_op,
                bool accumulate) override {
        if (x.rows == 0) return;
        matmul(compute_input(x), x.rows, static_cast<const CudaLinear&>(weights), y, post_op, accumulate);
    }

    // ---- Transformer operations ----
    void layer_norm(const Tensor& x, const LayerNorm& norm, const Tensor& y) override {
        if (x.rows == 0) return;
        // In place is fine: each element is read before it is written, by the same thread.
        cuda::layer_norm(x.f32(), x.rows, x.cols, norm.gamma.f32(), norm.beta.f32(), norm.eps, y.data,
                         device_type(y.type), stream_);
    }

    void norm_linear(const Tensor& x, const LayerNorm& norm, const LinearWeights& weights, const Tensor& y,
                     PostOp post_op) override {
        if (x.rows == 0) return;
        const Tensor normed = grow(normed_, x.rows, x.cols, compute_type());
        layer_norm(x, norm, normed);
        matmul(normed.data, x.rows, static_cast<const CudaLinear&>(weights), y, post_op, false);
    }

    void mlp_block(const Tensor& x, const LayerNorm& norm, const LinearWeights& fc1_weights, PostOp activation,
                   const LinearWeights& fc2_weights) override {
        if (x.rows == 0) return;
        const auto& fc1 = static_cast<const CudaLinear&>(fc1_weights);
        const auto& fc2 = static_cast<const CudaLinear&>(fc2_weights);
        const Tensor normed = grow(normed_, x.rows, x.cols, compute_type());
        layer_norm(x, norm, normed);
        const Tensor hidden = grow(mlp_, x.rows, fc1.out_features, compute_type());
        matmul(normed.data, x.rows, fc1, hidden, activation, false);
        matmul(hidden.data, x.rows, fc2, x, PostOp::None, true);
    }

    void attention(const Tensor& qkv, int batch, int seq, int heads, int head_dim, const Tensor* lengths,
                   bool causal, const Tensor& out) override {
        if (qkv.type != out.type) throw Error("CUDA attention: q|k|v and output types differ");
        cuda::attention(qkv.data, device_type(qkv.type), batch, seq, heads, head_dim,
                        lengths ? lengths->i32() : nullptr, causal, out.data, stream_);
    }

    void attention_pool(const Tensor& kv, const Tensor& query, int batch, int seq, int heads, int head_dim,
                        const Tensor& out) override {
        cuda::attention_pool(kv.f32(), query.f32(), batch, seq, heads, head_dim, out.f32(), stream_);
    }

    // ---- Embeddings and pooling ----
    void patchify(const Tensor& pixels, int channels, int image_size, int patch, const Tensor& out) override {
        if (pixels.rows == 0) return;
        cuda::patchify(pixels.f32(), static_cast<int>(pixels.rows), channels, image_size, patch, out.data,
                       device_type(out.type), stream_);
    }

    void embed_patches(const Tensor& patches, const Tensor* class_embedding, const Tensor& position, int count,
                       int seq, const Tensor& out) override {
        if (count == 0) return;
        cuda::embed_patches(patches.f32(), class_embedding ? class_embedding->f32() : nullptr, position.f32(), count,
                            seq, out.cols, out.f32(), stream_);
    }

    void embed_tokens(const Tensor& ids, const Tensor& token_embedding, const Tensor& position, int seq,
                      const Tensor& out) override {
        if (ids.rows == 0) return;
        cuda::embed_tokens(ids.i32(), token_embedding.f32(), position.f32(), static_cast<int>(ids.rows / seq), seq,
                           out.cols, out.f32(), stream_);
    }

    void gather_rows(const Tensor& x, const Tensor& rows, const Tensor& out) override {
        if (rows.rows == 0) return;
        cuda::gather_rows(x.data, rows.i32(), static_cast<int>(rows.rows), x.cols, device_type(x.type), out.data,
                          stream_);
    }

    // ---- Reports ----
    Precision precision() const override { return precision_; }
    std::string precision_note() const override { return precision_note_; }

    std::string kernel_info() const override {
        size_t free_bytes = 0, total_bytes = 0;
        std::string memory;
        if (cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess) {
            memory = ", " + std::to_string((total_bytes - free_bytes) >> 20) + " MiB GPU memory in use";
        }
        return "CUDA " + device_name_ + " (sm_" + std::to_string(compute_capability_) + "), cuBLASLt " +
               (type_ == DType::BF16 ? "bf16" : "fp32") + memory;
    }

private:
    struct Staging {
        PinnedBuffer buffer;
        cudaEvent_t free = nullptr;  // the buffer's last upload has completed
    };

    // A scratch tensor of the backend's own (Backend::reserve is the towers').
    Tensor grow(std::unique_ptr<DeviceMemory>& memory, int64_t rows, int cols, TensorType type) {
        const Tensor shape{nullptr, rows, cols, type};
        if (!memory || memory->bytes < shape.bytes()) {
            memory.reset();
            memory = allocate(shape.bytes());
        }
        return {memory->data, rows, cols, type};
    }

    // Synchronous: weights are uploaded once, and the host copy may go away right after.
    void copy_to_device(void* device, const void* host, size_t bytes) {
        if (bytes == 0) return;
        CUDA_CHECK(cudaMemcpyAsync(device, host, bytes, cudaMemcpyHostToDevice, stream_));
        CUDA_CHECK(cudaStreamSynchronize(stream_));
    }

    // float32 host data as `type` in device memory.
    std::unique_ptr<CudaMemory> upload_as(const float* data, size_t count, DType type) {
        auto memory = std::make_unique<CudaMemory>(count * cuda::dtype_size(type));
        if (type == DType::F32) {
            copy_to_device(memory->data, data, count * sizeof(float));
        } else {
            std::vector<uint16_t> converted(count);
            floats_to_bf16(data, count, converted.data());
            copy_to_device(memory->data, converted.data(), count * sizeof(uint16_t));
        }
        return memory;
    }

    // x as the matmul's input type: itself, or converted (float32 input in bf16 mode).
    const void* compute_input(const Tensor& x) {
        if (device_type(x.type) == type_) return x.data;
        if (x.type != TensorType::F32) throw Error("CUDA backend: a matmul input must be float32 or the compute type");
        const Tensor converted = grow(converted_, x.rows, x.cols, compute_type());
        cuda::convert(x.f32(), size_t(x.rows) * x.cols, converted.data, type_, stream_);
        return converted.data;
    }

    // y = post_op(x * W^T + b) (or y += x * W^T + b), x in the compute type. tanh-GELU fuses into
    // cuBLASLt's epilogue in bf16; the fp32 parity mode uses our kernel (the CPU's formula) for
    // every activation.
    void matmul(const void* x, int64_t m, const CudaLinear& w, const Tensor& y, PostOp post_op, bool accumulate) {
        const DType out_type = device_type(y.type);
        const bool fused_gelu = post_op == PostOp::GeluTanh && type_ == DType::BF16 && !accumulate;
        matmul_->linear(x, static_cast<int>(m), w.view(out_type), type_, y.data, out_type, fused_gelu, accumulate);
        if (post_op == PostOp::None || fused_gelu) return;
        if (accumulate) throw Error("CUDA backend: an activation after an accumulating matmul");
        const Activation activation = post_op == PostOp::QuickGelu ? Activation::QuickGelu
                                      : post_op == PostOp::Gelu    ? Activation::Gelu
                                                                   : Activation::GeluTanh;
        cuda::activate(y.data, size_t(m) * w.out_features, out_type, activation, stream_);
    }

    Precision precision_;
    std::string precision_note_;
    DType type_;
    std::string device_name_;
    int compute_capability_ = 0;

    cudaStream_t stream_ = nullptr;
    std::unique_ptr<cuda::Matmul> matmul_;
    Staging staging_[2];
    unsigned next_staging_ = 0;
    std::unique_ptr<DeviceMemory> normed_, mlp_, converted_;
    std::vector<std::unique_ptr<CudaMemory>> constants_;
};

}  // namespace

BackendFactory cuda_backend_factory() {
    return {"cuda", {Precision::Fp32, Precision::Bf16}, cuda_runtime_probe,
            [](const BackendSettings& settings) -> std::unique_ptr<Backend> {
                return std::make_unique<CudaBackend>(settings);
            }};
}

}  // namespace zeroclip
