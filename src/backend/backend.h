// backend.h - the one interface between the model families' towers and the hardware.
//
// The towers (src/models/<family>/) are written once, in the operations below, over tensors a
// backend allocates in its own memory: host memory for the CPU backend (src/backend/cpu/), GPU
// memory for the CUDA backend (src/backend/cuda/). Backends are registered by name ("cpu",
// "cuda") and chosen in one place, make_backend, which also settles the precision they run in.
// Weights are handed over in PyTorch's layout from host memory; the backend keeps them in
// whatever form suits it (oneDNN's blocked layout, bf16 on the GPU...).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "zeroclip/config.h"
#include "zeroclip/model.h"

namespace zeroclip {

// Element types of tensors. F32: activations and the residual stream; BF16: a backend's matmul
// inputs in bf16 mode (see Backend::compute_type); I32: token ids, lengths, row indices.
enum class TensorType { F32, BF16, I32 };

inline size_t tensor_type_size(TensorType type) { return type == TensorType::BF16 ? 2 : 4; }

// A row-major [rows, cols] matrix in a backend's memory. A view: the memory belongs to a Buffer,
// to the backend (constants), or to the caller (host memory on a host backend).
struct Tensor {
    void* data = nullptr;
    int64_t rows = 0;
    int cols = 0;
    TensorType type = TensorType::F32;

    size_t bytes() const { return size_t(rows) * cols * tensor_type_size(type); }
    float* f32() const { return static_cast<float*>(data); }
    int32_t* i32() const { return static_cast<int32_t*>(data); }
    // The first n rows (same memory).
    Tensor first_rows(int64_t n) const { return {data, n, cols, type}; }
};

// A host float32 matrix as a Tensor, for host backends and tests.
inline Tensor host_tensor(const float* data, int64_t rows, int cols) {
    return {const_cast<float*>(data), rows, cols, TensorType::F32};
}

// Memory a backend allocated (freed with this object).
class DeviceMemory {
public:
    virtual ~DeviceMemory() = default;
    void* data = nullptr;
    size_t bytes = 0;
};

// Scratch memory a tower keeps between calls; Backend::reserve grows it to what a call needs.
struct Buffer {
    std::unique_ptr<DeviceMemory> memory;
};

// Element-wise function applied to a linear layer's output.
enum class PostOp { None, QuickGelu, Gelu, GeluTanh };

PostOp post_op_for(Activation activation);

// LayerNorm's parameters as backend constants.
struct LayerNorm {
    Tensor gamma, beta;  // [1, n] float32
    float eps = 1e-5f;
};

// A linear layer's weight (and bias) in the backend's own form.
class LinearWeights {
public:
    virtual ~LinearWeights() = default;
    int out_features = 0;
    int in_features = 0;
};

// The settings a backend is created with, decided by make_backend.
struct BackendSettings {
    Precision precision = Precision::Fp32;  // the effective one: the backend can run it
    std::string precision_note;             // why it differs from the one asked for, or empty
    int threads = 0;                        // CPU worker threads (0: all cores)
};

// Not thread-safe: one operation at a time (the towers serialise their calls). Operations may
// run asynchronously on a device; download (and anything reading host memory) waits for them.
class Backend {
public:
    virtual ~Backend() = default;

    // ---- Memory ----
    virtual std::string name() const = 0;  // "cpu", "cuda"
    // Whether tensors are host memory: host data is then used in place, never copied.
    virtual bool host_memory() const = 0;
    // The type of the tensors that only feed the next matmul (q|k|v, attention output): F32, or
    // BF16 where the backend runs bf16 matmuls on bf16 activations (CUDA).
    virtual TensorType compute_type() const = 0;
    // Rows (sequences x positions) a tower should send through its encoder at once.
    virtual int64_t rows_per_pass() const = 0;

    virtual std::unique_ptr<DeviceMemory> allocate(size_t bytes) = 0;
    // host -> dst (dst.bytes() bytes) and src -> host; download waits for the result.
    virtual void upload(const void* host, const Tensor& dst) = 0;
    virtual void download(const Tensor& src, void* host) = 0;
    // A float32 weight the backend keeps for its lifetime: on a host backend, `host` itself (which
    // must then outlive the backend's use of it), otherwise an uploaded copy.
    virtual Tensor constant(const float* host, int64_t rows, int cols) = 0;

    // A [rows, cols] tensor of `type` in `buffer`, grown when too small (its old contents lost).
    Tensor reserve(Buffer& buffer, int64_t rows, int cols, TensorType type = TensorType::F32);
    // Host input as a tensor: the host memory itself on a host backend, else uploaded to `staging`.
    Tensor input(const void* host, int64_t rows, int cols, TensorType type, Buffer& staging);
    // A tensor whose contents end up in host memory `host` after fetch_output: the host memory
    // itself on a host backend (fetch_output then does nothing), else `staging`.
    Tensor output(float* host, int64_t rows, int cols, Buffer& staging);
    void fetch_output(const Tensor& tensor, float* host);
    LayerNorm layer_norm_constant(const float* gamma, const float* beta, int n, float eps);

    // ---- Linear layers ----
    // weight: [out, in] row-major (torch.nn.Linear layout); bias: [out] or null. The backend
    // copies the weight into its own form (it may be freed afterwards); a host backend keeps a
    // pointer to the bias, which must outlive the returned object.
    virtual std::unique_ptr<LinearWeights> prepare_linear(const float* weight, const float* bias,
                                                          int out_features, int in_features) = 0;

    // y[m, out] = post_op(x[m, in] * W^T + b), m = x.rows, or y += x * W^T + b when `accumulate`
    // (residual connections; post_op must then be None and y float32).
    virtual void linear(const Tensor& x, const LinearWeights& w, const Tensor& y, PostOp post_op = PostOp::None,
                        bool accumulate = false) = 0;

    // ---- Transformer operations ----
    // y = (x - mean) / sqrt(var + eps) * gamma + beta, row by row; x float32; y may equal x.
    virtual void layer_norm(const Tensor& x, const LayerNorm& norm, const Tensor& y) = 0;

    // y = post_op(layer_norm(x) * W^T + b), the normalised rows kept in the matmul's input type.
    virtual void norm_linear(const Tensor& x, const LayerNorm& norm, const LinearWeights& w, const Tensor& y,
                             PostOp post_op = PostOp::None) = 0;

    // x += fc2(activation(fc1(layer_norm(x)))): a transformer layer's MLP block with its residual;
    // x float32.
    virtual void mlp_block(const Tensor& x, const LayerNorm& norm, const LinearWeights& fc1, PostOp activation,
                           const LinearWeights& fc2) = 0;

    // Multi-head scaled dot-product attention over `batch` sequences of `seq` positions.
    // qkv: [batch * seq, 3 * heads * head_dim] holding q | k | v per row (head h at columns
    // h * head_dim of each part); out: [batch * seq, heads * head_dim], both compute_type().
    // Keys at positions >= lengths[b] (I32 [batch, 1], when not null) and, when `causal`, keys
    // after the query are masked out. Scores are scaled by head_dim^-0.5.
    virtual void attention(const Tensor& qkv, int batch, int seq, int heads, int head_dim, const Tensor* lengths,
                           bool causal, const Tensor& out) = 0;

    // Attention pooling (SigLIP's MAP head): one query per head attends over each sequence's
    // positions. kv: [batch * seq, 2 * heads * head_dim] (k | v), query: [1, heads * head_dim],
    // out: [batch, heads * head_dim]; all float32; scores scaled by head_dim^-0.5.
    virtual void attention_pool(const Tensor& kv, const Tensor& query, int batch, int seq, int heads,
                                int head_dim, const Tensor& out) = 0;

    // ---- Embeddings and pooling ----
    // The stride-`patch` convolution's input as a matrix: pixels [count, channels * size * size]
    // (float32) to out [count * grid * grid, channels * patch * patch], rows of (channel, y, x).
    virtual void patchify(const Tensor& pixels, int channels, int image_size, int patch, const Tensor& out) = 0;

    // out[b, t] = (class_embedding when not null ? (t == 0 ? class : patches[b, t - 1]) : patches[b, t])
    // + position[t], for `count` sequences of `seq` positions. Without a class token, out may
    // equal patches.
    virtual void embed_patches(const Tensor& patches, const Tensor* class_embedding, const Tensor& position,
                               int count, int seq, const Tensor& out) = 0;

    // out[b, t] = token_embedding[ids[b, t]] + position[t]; zero rows where ids < 0. ids: I32
    // [count * seq, 1].
    virtual void embed_tokens(const Tensor& ids, const Tensor& token_embedding, const Tensor& position, int seq,
                              const Tensor& out) = 0;

    // out[i] = x[rows[i]] for the rows.rows indices of rows (I32 [n, 1]).
    virtual void gather_rows(const Tensor& x, const Tensor& rows, const Tensor& out) = 0;

    // ---- Reports ----
    // The precision the linear layers run in and, when it differs from the one asked for, why.
    virtual Precision precision() const = 0;
    virtual std::string precision_note() const = 0;
    // The kernels chosen so far (oneDNN implementation names, the GPU), for benchmarks and logs.
    virtual std::string kernel_info() const = 0;

    // ---- The packed-weight cache (src/models/packed_tower_cache.h) ----
    // It stores whatever the backend packs, as byte blocks, without knowing their form:
    // - packing_key: everything the packed form depends on besides the weight itself (backend,
    //   its library's version, the CPU ISA in effect, precision, packing revision); empty for a
    //   backend whose weights are not cached (they live in device memory);
    // - packed_block_sizes: the blocks a weight of this shape packs into;
    // - pack_into: packs a weight as prepare_linear does, into such blocks (a cache file's
    //   staging buffer), for linear_from_blocks to use once they are in the file;
    // - linear_from_blocks: a weight that uses blocks packed earlier in place (they must outlive
    //   it), or null when they do not hold what this backend would pack for this shape now.
    virtual std::string packing_key() const { return {}; }
    virtual std::vector<size_t> packed_block_sizes(int /*out_features*/, int /*in_features*/) { return {}; }
    virtual void pack_into(const float* /*weight*/, int /*out_features*/, int /*in_features*/,
                           const std::vector<std::span<std::byte>>& /*blocks*/) {}  // not called without a packing_key
    virtual std::unique_ptr<LinearWeights> linear_from_blocks(const std::vector<std::span<const std::byte>>& /*blocks*/,
                                                              const float* /*bias*/, int /*out_features*/,
                                                              int /*in_features*/) {
        return nullptr;
    }
};

// ---- The backend registry ----

// What a device backend reports about the hardware: usable devices, or why there are none.
struct DeviceProbe {
    int device_count = 0;
    std::string error;           // one line; empty when the query succeeded
    std::string device_name;     // device 0's, when there is one
    int compute_capability = 0;  // device 0's, major * 10 + minor (CUDA)
    bool module_missing = false; // the backend's module (backend_module.h) could not be loaded

    static DeviceProbe none(std::string why) {
        DeviceProbe probe;
        probe.error = std::move(why);
        return probe;
    }
    static DeviceProbe unloadable(std::string why) {
        DeviceProbe probe = none(std::move(why));
        probe.module_missing = true;
        return probe;
    }
    static DeviceProbe found(int count, std::string name = {}, int compute_capability = 0) {
        DeviceProbe probe;
        probe.device_count = count;
        probe.device_name = std::move(name);
        probe.compute_capability = compute_capability;
        return probe;
    }
};

// A backend as the registry knows it. The CPU backend is linked into the core; the CUDA backend
// is a module of its own (libzeroclip-cuda.so, see backend_module.h) that exports its factory and
// is loaded on first use, so that CPU-only processes never map the GPU libraries.
struct BackendFactory {
    std::string name;               // "cpu", "cuda"
    std::vector<Precision> precisions;  // the ones it runs
    DeviceProbe (*probe)();         // never throws
    std::unique_ptr<Backend> (*create)(const BackendSettings& settings);
};

// The backends linked into the core ("cpu"); modules are not listed.
const std::vector<BackendFactory>& backend_factories();

// Null when no backend of that name was built, or its module cannot be loaded. "cuda" loads
// libzeroclip-cuda.so (once); nothing else does.
const BackendFactory* find_backend(const std::string& name);

// The CUDA backend's probe (loads its module): no GPU, no driver, a module that cannot be loaded
// or a build without CUDA all give device_count 0 and say why.
DeviceProbe probe_cuda();
bool cuda_device_available();

// Device::Cpu or Device::Cuda for a request, given the probe. Auto falls back to the CPU (also
// for int8, which only the CPU runs); an explicit Cuda request without a GPU throws
// zeroclip::Error saying why ("device cuda: cannot load libzeroclip-cuda.so: ..." when the
// module is missing).
Device select_device(Device requested, Precision precision, const DeviceProbe& probe);

// The precision `device` runs when asked for `requested`, and in `note`, when it differs, why:
// the CPU falls back to fp32 where it lacks bf16 (or, for int8, AVX2) instructions; CUDA runs
// fp32, and bf16 on compute capability 8.0 or newer (`probe`: the GPU's), and refuses int8 and
// bf16 on older GPUs (zeroclip::Error).
Precision effective_precision(Device device, Precision requested, const DeviceProbe& probe, std::string& note);

// The one place that picks the backend: the device (select_device over the CUDA probe), the
// precision it runs (effective_precision), and the backend itself from the registry; backends
// run the precision they are given.
std::unique_ptr<Backend> make_backend(Device device, Precision precision, int threads);

}  // namespace zeroclip
