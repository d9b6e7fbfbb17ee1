// The CPU backend: tensors are plain float32 host memory, used in place. oneDNN matmul for every
// linear layer, in float32, bfloat16 or int8; layer norm and attention are the vectorised loops of
// cpu_kernels.cpp (attention's products are tiny per head:
// 50x64x50 for ViT-B/32, where batched oneDNN matmuls ran at a tenth of peak). oneDNN and those
// loops share one OpenMP thread team.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "backend/backend.h"
#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_isa.h"
#include "backend/cpu/cpu_kernels.h"
#include "util/memory_pages.h"
#include "zeroclip/error.h"

namespace zeroclip {

namespace {

using dnnl::memory;
using Dims = memory::dims;
using DataType = memory::data_type;

// The weight reordered once into the blocked layout the matmul prefers: as it is (Fp32),
// converted (Bf16) or quantised per output channel (Int8, symmetric, scale = max |w| / levels).
// The packed buffer is oneDNN's own allocation, or a cache file's mapped bytes used in place.
class CpuLinearWeights : public LinearWeights {
public:
    const float* bias = nullptr;
    memory packed;
    dnnl_memory_desc_t packed_desc{};  // packed's descriptor, as the cache stores it
    const float* scales = nullptr;     // Int8: one per output channel (owned_scales or cached)
    std::vector<float> owned_scales;
};

// Bump when the packed form changes in a way the rest of the packing key does not show.
constexpr int kPackingRevision = 2;  // 2: int8 weights in 64 levels without VNNI

// The CPU ISA oneDNN uses (after ONEDNN_MAX_CPU_ISA or any cap), which picks the packed layout.
std::string cpu_isa_name() {
    using dnnl::cpu_isa;
    const cpu_isa isa = dnnl::get_effective_cpu_isa();
    switch (isa) {
    case cpu_isa::sse41: return "sse41";
    case cpu_isa::avx: return "avx";
    case cpu_isa::avx2: return "avx2";
    case cpu_isa::avx2_vnni: return "avx2_vnni";
    case cpu_isa::avx512_core: return "avx512_core";
    case cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "isa" + std::to_string(static_cast<unsigned>(isa));
    }
}

// Keep primitive caches bounded: shapes vary with batch size and text length.
constexpr size_t kMaxCachedPrimitives = 512;
// The row count weights are packed for; oneDNN's blocked weight layout depends on k and n only.
constexpr int64_t kPackRows = 1024;

// Rows per encoder pass: bounds activation memory (and keeps the CLIP figures where they were).
constexpr int64_t kRowsPerPass = 4096;

// Host memory, 64-byte aligned (a cache line; what AVX-512 loads like).
class HostMemory : public DeviceMemory {
public:
    explicit HostMemory(size_t size) {
        bytes = size;
        data = size ? std::aligned_alloc(64, (size + 63) / 64 * 64) : nullptr;
        if (size && !data) throw Error("CPU backend: out of memory allocating " + std::to_string(size) + " bytes");
    }
    ~HostMemory() override { std::free(data); }
};

class CpuBackend : public Backend {
public:
    explicit CpuBackend(const BackendSettings& settings)
        : engine_(dnnl::engine::kind::cpu, 0),
          stream_(engine_),
          threads_(settings.threads),
          precision_(settings.precision),
          precision_note_(settings.precision_note),
          unsigned_source_(settings.precision == Precision::Int8 && !cpu_has(CpuIsa::Avx512Core)),
          weight_levels_(settings.precision == Precision::Int8 && !cpu_has(CpuIsa::Avx512CoreVnni) &&
                                 !cpu_has(CpuIsa::Avx2Vnni)
                             ? 64.0f
                             : 127.0f) {}

    std::string name() const override { return "cpu"; }
    bool host_memory() const override { return true; }
    TensorType compute_type() const override { return TensorType::F32; }  // bf16 / int8 conversions happen per matmul
    int64_t rows_per_pass() const override { return kRowsPerPass; }

    std::unique_ptr<DeviceMemory> allocate(size_t bytes) override { return std::make_unique<HostMemory>(bytes); }
    void upload(const void* host, const Tensor& dst) override {
        if (host != dst.data) std::memcpy(dst.data, host, dst.bytes());
    }
    void download(const Tensor& src, void* host) override {
        if (host != src.data) std::memcpy(host, src.data, src.bytes());
    }
    Tensor constant(const float* host, int64_t rows, int cols) override { return host_tensor(host, rows, cols); }

    std::unique_ptr<LinearWeights> prepare_linear(const float* weight, const float* bias,
                                                  int out_features, int in_features) override {
        auto w = std::make_unique<CpuLinearWeights>();
        w->bias = bias;
        w->out_features = out_features;
        w->in_features = in_features;
        try {
            pack(weight, *w, {});
        } catch (const dnnl::error& e) {
            throw Error("oneDNN: cannot pack a " + std::to_string(out_features) + "x" +
                        std::to_string(in_features) + " weight: " + e.what());
        }
        return w;
    }

    void linear(const Tensor& x_tensor, const LinearWeights& weights, const Tensor& y, PostOp post_op,
                bool accumulate) override {
        const int64_t m = x_tensor.rows;
        if (m == 0) return;
        apply_threads();
        const auto& w = static_cast<const CpuLinearWeights&>(weights);
        matmul(source_from_f32(x_tensor.f32(), m, w.in_features), m, w, y.f32(), DataType::f32, post_op, accumulate);
    }

    void layer_norm(const Tensor& x, const LayerNorm& norm, const Tensor& y) override {
        apply_threads();
        layer_norm_rows(x.f32(), x.rows, x.cols, norm.gamma.f32(), norm.beta.f32(), norm.eps, y.f32());
    }

    void norm_linear(const Tensor& x, const LayerNorm& norm, const LinearWeights& weights, const Tensor& y,
                     PostOp post_op) override {
        const int64_t m = x.rows;
        if (m == 0) return;
        apply_threads();
        const auto& w = static_cast<const CpuLinearWeights&>(weights);
        matmul(normalized_source(x.f32(), m, w.in_features, norm), m, w, y.f32(), DataType::f32, post_op, false);
    }

    void mlp_block(const Tensor& x_tensor, const LayerNorm& norm, const LinearWeights& fc1_weights, PostOp activation,
                   const LinearWeights& fc2_weights) override {
        const int64_t m = x_tensor.rows;
        float* x = x_tensor.f32();
        if (m == 0) return;
        apply_threads();
        const auto& fc1 = static_cast<const CpuLinearWeights&>(fc1_weights);
        const auto& fc2 = static_cast<const CpuLinearWeights&>(fc2_weights);
        const int64_t n = fc1.out_features;
        if (precision_ == Precision::Bf16) {
            // fc1 writes bf16, which fc2 reads as it is (oneDNN rounds to nearest even, as
            // convert_to_bf16 does).
            intermediate_bf16_.resize(size_t(m) * n);
            matmul(normalized_source(x, m, fc1.in_features, norm), m, fc1, intermediate_bf16_.data(), DataType::bf16,
                   activation, false);
            matmul(intermediate_bf16_.data(), m, fc2, x, DataType::f32, PostOp::None, true);
        } else {
            intermediate_.resize(size_t(m) * n);
            matmul(normalized_source(x, m, fc1.in_features, norm), m, fc1, intermediate_.data(), DataType::f32,
                   activation, false);
            matmul(source_from_f32(intermediate_.data(), m, n), m, fc2, x, DataType::f32, PostOp::None, true);
        }
    }

    void attention(const Tensor& qkv, int batch, int seq, int heads, int head_dim, const Tensor* lengths,
                   bool causal, const Tensor& out) override {
        apply_threads();
        attention_heads(qkv.f32(), batch, seq, heads, head_dim, lengths ? lengths->i32() : nullptr, causal, out.f32());
    }

    void attention_pool(const Tensor& kv_tensor, const Tensor& query, int batch, int seq, int heads, int head_dim,
                        const Tensor& out) override {
        const int hidden = heads * head_dim;
        const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
        std::fill_n(out.f32(), size_t(batch) * hidden, 0.0f);
        std::vector<float> scores(seq);
        for (int b = 0; b < batch; ++b) {
            const float* kv = kv_tensor.f32() + size_t(b) * seq * 2 * hidden;
            for (int h = 0; h < heads; ++h) {
                const float* q = query.f32() + h * head_dim;
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
                float* dst = out.f32() + size_t(b) * hidden + h * head_dim;
                for (int t = 0; t < seq; ++t) {
                    const float* v = kv + size_t(t) * 2 * hidden + hidden + h * head_dim;
                    const float p = scores[t] / sum;
                    for (int d = 0; d < head_dim; ++d) dst[d] += p * v[d];
                }
            }
        }
    }

    void patchify(const Tensor& pixels, int channels, int size, int patch, const Tensor& out) override {
        const int grid = size / patch, patches = grid * grid, patch_len = channels * patch * patch;
        for (int64_t b = 0; b < pixels.rows; ++b) {
            const float* image = pixels.f32() + size_t(b) * channels * size * size;
            for (int py = 0; py < grid; ++py) {
                for (int px = 0; px < grid; ++px) {
                    float* row = out.f32() + (size_t(b) * patches + py * grid + px) * patch_len;
                    for (int c = 0; c < channels; ++c) {
                        for (int y = 0; y < patch; ++y) {
                            const float* src = image + (size_t(c) * size + py * patch + y) * size + px * patch;
                            std::copy_n(src, patch, row + (c * patch + y) * patch);
                        }
                    }
                }
            }
        }
    }

    void embed_patches(const Tensor& patches, const Tensor* class_embedding, const Tensor& position, int count,
                       int seq, const Tensor& out) override {
        const int hidden = out.cols, patch_rows = class_embedding ? seq - 1 : seq;
        for (int b = 0; b < count; ++b) {
            for (int t = 0; t < seq; ++t) {
                const float* src = class_embedding && t == 0
                                       ? class_embedding->f32()
                                       : patches.f32() + (size_t(b) * patch_rows + t - (class_embedding ? 1 : 0)) * hidden;
                const float* pos = position.f32() + size_t(t) * hidden;
                float* dst = out.f32() + (size_t(b) * seq + t) * hidden;
                for (int i = 0; i < hidden; ++i) dst[i] = src[i] + pos[i];
            }
        }
    }

    void embed_tokens(const Tensor& ids, const Tensor& token_embedding, const Tensor& position, int seq,
                      const Tensor& out) override {
        const int hidden = out.cols;
        for (int64_t r = 0; r < ids.rows; ++r) {
            float* dst = out.f32() + size_t(r) * hidden;
            const int32_t id = ids.i32()[r];
            if (id < 0) {
                std::fill_n(dst, hidden, 0.0f);
                continue;
            }
            const float* token = token_embedding.f32() + size_t(id) * hidden;
            const float* pos = position.f32() + size_t(r % seq) * hidden;
            for (int i = 0; i < hidden; ++i) dst[i] = token[i] + pos[i];
        }
    }

    void gather_rows(const Tensor& x, const Tensor& rows, const Tensor& out) override {
        for (int64_t i = 0; i < rows.rows; ++i)
            std::copy_n(x.f32() + size_t(rows.i32()[i]) * x.cols, x.cols, out.f32() + size_t(i) * x.cols);
    }

    Precision precision() const override { return precision_; }

    std::string precision_note() const override { return precision_note_; }

    std::string kernel_info() const override {
        std::string info;
        for (const std::string& name : kernels_) info += (info.empty() ? "" : ", ") + name;
        return info.empty() ? "oneDNN" : info;
    }

    std::string packing_key() const override {
        const dnnl_version_t* v = dnnl_version();
        return "onednn " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
               std::to_string(v->patch) + " " + v->hash + ", isa " + cpu_isa_name() + ", precision " +
               precision_name(precision_) + ", pack rows " + std::to_string(kPackRows) + ", int8 levels " +
               std::to_string(static_cast<int>(weight_levels_)) + ", u8 source " +
               std::to_string(unsigned_source_) + ", revision " +
               std::to_string(kPackingRevision);
    }

    // Blocks: the descriptor, the packed weight, and the int8 scales (empty otherwise).
    std::vector<size_t> packed_block_sizes(int out_features, int in_features) override {
        const size_t scales = precision_ == Precision::Int8 ? size_t(out_features) * sizeof(float) : 0;
        return {sizeof(dnnl_memory_desc_t), packed_weight_desc(in_features, out_features).get_size(), scales};
    }

    void pack_into(const float* weight, int out_features, int in_features,
                   const std::vector<std::span<std::byte>>& blocks) override {
        CpuLinearWeights w;
        w.out_features = out_features;
        w.in_features = in_features;
        if (blocks.size() != 3 || blocks[0].size() != sizeof w.packed_desc ||
            blocks[2].size() != (precision_ == Precision::Int8 ? size_t(out_features) * sizeof(float) : 0))
            throw Error("CPU backend: a packed weight takes 3 blocks of the sizes packed_block_sizes gives");
        try {
            pack(weight, w, blocks[1]);
        } catch (const dnnl::error& e) {
            throw Error("oneDNN: cannot pack a " + std::to_string(out_features) + "x" + std::to_string(in_features) +
                        " weight: " + e.what());
        }
        std::memcpy(blocks[0].data(), &w.packed_desc, sizeof w.packed_desc);
        if (w.scales) std::memcpy(blocks[2].data(), w.scales, blocks[2].size());
    }

    std::unique_ptr<LinearWeights> linear_from_blocks(const std::vector<std::span<const std::byte>>& blocks,
                                                      const float* bias, int out_features, int in_features) override {
        const bool int8 = precision_ == Precision::Int8;
        if (blocks.size() != 3 || blocks[0].size() != sizeof(dnnl_memory_desc_t) ||
            blocks[2].size() != (int8 ? size_t(out_features) * sizeof(float) : 0) ||
            reinterpret_cast<uintptr_t>(blocks[2].data()) % alignof(float) != 0)
            return nullptr;
        auto w = std::make_unique<CpuLinearWeights>();
        std::memcpy(&w->packed_desc, blocks[0].data(), sizeof w->packed_desc);
        const memory::desc cached(w->packed_desc);
        try {
            // Only the layout this backend would pack into now is used: a stale or foreign
            // descriptor is refused rather than trusted.
            if (cached != packed_weight_desc(in_features, out_features) || cached.get_size() != blocks[1].size())
                return nullptr;
            w->packed = memory(cached, engine_, const_cast<std::byte*>(blocks[1].data()));
        } catch (const dnnl::error&) {
            return nullptr;
        }
        w->bias = bias;
        w->out_features = out_features;
        w->in_features = in_features;
        w->scales = int8 ? reinterpret_cast<const float*>(blocks[2].data()) : nullptr;
        return w;
    }

private:
    using LinearKey = std::tuple<int64_t, int64_t, int64_t, bool, PostOp, bool, DataType>;

    // A matmul's input in the precision's source type: float32 rows as they are, or converted to
    // bf16 (in src_), or quantised (in src_) with one scale for the whole call, chosen from the
    // rows' range and kept in source_scale_: to s8, symmetric (AVX-512), or to u8 with a zero point
    // (AVX2, where oneDNN's int8 matmul wants an unsigned source), kept in source_zero_point_.
    const void* source_from_f32(const float* x, int64_t m, int64_t k) {
        switch (precision_) {
        case Precision::Fp32: break;
        case Precision::Bf16:
            src_.bf16.resize(size_t(m * k));
            convert_to_bf16(x, m * k, src_.bf16.data());
            return src_.bf16.data();
        case Precision::Int8: {
            if (unsigned_source_) {
                float low = 0.0f, high = 0.0f;  // the range always holds 0, which then quantises exactly
                min_max(x, m * k, low, high);
                source_scale_ = high > low ? (high - low) / 255.0f : 1.0f;
                source_zero_point_ = static_cast<int32_t>(std::nearbyint(-low / source_scale_));
                src_.u8.resize(size_t(m * k));
                quantize_u8(x, m * k, 1.0f / source_scale_, source_zero_point_, src_.u8.data());
                return src_.u8.data();
            }
            const float amax = abs_max(x, m * k);
            source_scale_ = amax > 0.0f ? amax / 127.0f : 1.0f;
            src_.s8.resize(size_t(m * k));
            quantize_s8(x, m * k, 1.0f / source_scale_, src_.s8.data());
            return src_.s8.data();
        }
        }
        return x;
    }

    // layer_norm(x) as a matmul source: bf16 rows straight from the norm; otherwise normalised
    // in float32 first (int8 needs their range before it can quantise them).
    const void* normalized_source(const float* x, int64_t m, int64_t k, const LayerNorm& norm) {
        const float* gamma = norm.gamma.f32();
        const float* beta = norm.beta.f32();
        if (precision_ == Precision::Bf16) {
            src_.bf16.resize(size_t(m * k));
            layer_norm_rows_bf16(x, m, static_cast<int>(k), gamma, beta, norm.eps, src_.bf16.data());
            return src_.bf16.data();
        }
        src_.f32.resize(size_t(m * k));
        layer_norm_rows(x, m, static_cast<int>(k), gamma, beta, norm.eps, src_.f32.data());
        return source_from_f32(src_.f32.data(), m, k);
    }

    // y[m, n] (dst_type) = post_op(src * W^T + b) (+ y when accumulating), src in source_type().
    void matmul(const void* src_data, int64_t m, const CpuLinearWeights& w, void* y, DataType dst_type,
                PostOp post_op, bool accumulate) {
        const int64_t k = w.in_features, n = w.out_features;
        if (accumulate && unsigned_source_) {
            // oneDNN's AVX2 int8 GEMM takes no sum after the dequantising post-ops (it would fall
            // back to the reference kernel): the product goes to scratch, then onto y.
            product_.resize(size_t(m * n));
            matmul(src_data, m, w, product_.data(), DataType::f32, post_op, false);
            add_rows(product_.data(), m * n, static_cast<float*>(y));
            return;
        }
        const bool int8 = precision_ == Precision::Int8;
        const LinearKey key{m, k, n, w.bias != nullptr, post_op, accumulate, dst_type};
        dnnl::matmul& prim = linear_primitive(key, w.packed.get_desc());
        memory src({{m, k}, source_type(), Dims{k, 1}}, engine_, const_cast<void*>(src_data));
        memory dst({{m, n}, dst_type, Dims{n, 1}}, engine_, y);
        std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w.packed}, {DNNL_ARG_DST, dst}};
        if (int8) {
            column_scales_.resize(size_t(n));
            for (int64_t j = 0; j < n; ++j) column_scales_[j] = source_scale_ * w.scales[j];
            args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1,
                         memory({{1, n}, DataType::f32, Dims{n, 1}}, engine_, column_scales_.data()));
            if (unsigned_source_) {
                args.emplace(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC,
                             memory({{1}, DataType::s32, Dims{1}}, engine_, &source_zero_point_));
            }
        }
        if (w.bias) {
            memory bias({{1, n}, DataType::f32, Dims{n, 1}}, engine_, const_cast<float*>(w.bias));
            args.emplace(int8 ? DNNL_ARG_ATTR_MULTIPLE_POST_OP(1) | DNNL_ARG_SRC_1 : DNNL_ARG_BIAS, bias);
        }
        prim.execute(stream_, args);
        stream_.wait();
    }

    DataType source_type() const {
        switch (precision_) {
        case Precision::Fp32: break;
        case Precision::Bf16: return DataType::bf16;
        case Precision::Int8: return unsigned_source_ ? DataType::u8 : DataType::s8;
        }
        return DataType::f32;
    }

    // Converts (Bf16) or quantises (Int8) the torch-layout weight and reorders it once into the
    // blocked layout that the matmul picks for it (`format_tag::any`; for s8 it carries oneDNN's
    // compensation), in `destination` (a cache file's block, of the packed size) or, when that
    // is empty, in memory oneDNN allocates.
    void pack(const float* weight, CpuLinearWeights& w, std::span<std::byte> destination) {
        apply_threads();
        const int64_t k = w.in_features, n = w.out_features;
        const memory::desc packed_md = packed_weight_desc(k, n);
        if (destination.empty()) {
            w.packed = memory(packed_md, engine_);
        } else {
            if (destination.size() != packed_md.get_size()) throw Error("CPU backend: packed block of the wrong size");
            w.packed = memory(packed_md, engine_, destination.data());
        }
        w.packed_desc = packed_md.data;
        if (precision_ != Precision::Int8) {
            memory torch_layout({{k, n}, DataType::f32, Dims{1, k}}, engine_, const_cast<float*>(weight));
            dnnl::reorder(torch_layout, w.packed).execute(stream_, torch_layout, w.packed);
        } else {
            std::vector<int8_t> quantized(size_t(n) * k);
            w.owned_scales.resize(size_t(n));
            for (int64_t o = 0; o < n; ++o) {
                const float* row = weight + o * k;
                const float amax = abs_max(row, k);
                w.owned_scales[o] = amax > 0.0f ? amax / weight_levels_ : 1.0f;
                quantize_s8(row, k, 1.0f / w.owned_scales[o], quantized.data() + o * k);
            }
            w.scales = w.owned_scales.data();
            memory torch_layout({{k, n}, DataType::s8, Dims{1, k}}, engine_, quantized.data());
            dnnl::reorder(torch_layout, w.packed).execute(stream_, torch_layout, w.packed);
        }
        stream_.wait();
        // The float32 weight is not read again once packed: the model must not also keep it
        // resident.
        release_pages(weight, size_t(n) * k * sizeof(float));
    }

    // The blocked layout the matmul picks for a [k, n] weight (`format_tag::any`).
    memory::desc packed_weight_desc(int64_t k, int64_t n) const {
        const DataType weight_type = precision_ == Precision::Int8 ? DataType::s8
                                     : precision_ == Precision::Bf16 ? DataType::bf16
                                                                     : DataType::f32;
        const dnnl::matmul::desc desc(memory::desc({kPackRows, k}, source_type(), Dims{k, 1}),
                                      memory::desc({k, n}, weight_type, memory::format_tag::any),
                                      memory::desc({kPackRows, n}, DataType::f32, Dims{n, 1}));
        return dnnl::matmul::primitive_desc(desc, source_attr(), engine_).weights_desc();
    }

    // The u8 source's zero point, given at run time (oneDNN's gemm subtracts it exactly, in int32).
    dnnl::primitive_attr source_attr() const {
        dnnl::primitive_attr attr;
        if (unsigned_source_) attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
        return attr;
    }

    // omp_set_num_threads sets the calling thread's team size: inference may run on any thread.
    void apply_threads() {
        if (threads_ > 0) omp_set_num_threads(threads_);
    }

    dnnl::matmul& linear_primitive(const LinearKey& key, const memory::desc& weights_md) {
        auto it = linear_cache_.find(key);
        if (it != linear_cache_.end()) return it->second;
        if (linear_cache_.size() >= kMaxCachedPrimitives) linear_cache_.clear();

        const auto [m, k, n, has_bias, post_op, accumulate, dst_type] = key;
        const bool int8 = precision_ == Precision::Int8;
        const memory::desc row_md({1, n}, DataType::f32, Dims{n, 1});
        const memory::desc bias_md = has_bias ? row_md : memory::desc();
        dnnl::post_ops ops;
        // int8: dequantise with per-column scales that change every call (runtime output scales
        // would push oneDNN 2.6 off its brgemm kernels), then add the bias in float.
        if (int8) ops.append_binary(dnnl::algorithm::binary_mul, row_md);
        if (int8 && has_bias) ops.append_binary(dnnl::algorithm::binary_add, bias_md);
        if (accumulate) ops.append_sum(1.0f);
        switch (post_op) {
        case PostOp::None: break;
        case PostOp::QuickGelu:  // x * sigmoid(1.702 x) is swish with alpha 1.702
            ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_swish, 1.702f, 0.0f);
            break;
        case PostOp::Gelu: ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_gelu_erf, 0.0f, 0.0f); break;
        case PostOp::GeluTanh: ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_gelu_tanh, 0.0f, 0.0f); break;
        }
        dnnl::primitive_attr attr = source_attr();
        attr.set_post_ops(ops);
        const dnnl::matmul::desc desc(memory::desc({m, k}, source_type(), Dims{k, 1}), weights_md,
                                      int8 ? memory::desc() : bias_md,
                                      memory::desc({m, n}, dst_type, Dims{n, 1}));
        dnnl::matmul::primitive_desc pd;
        try {
            pd = dnnl::matmul::primitive_desc(desc, attr, engine_);
        } catch (const dnnl::error& e) {
            throw Error("oneDNN: no matmul for " + std::to_string(m) + "x" + std::to_string(k) + "x" +
                        std::to_string(n) + ": " + e.what());
        }
        kernels_.insert(pd.impl_info_str());
        return linear_cache_.emplace(key, dnnl::matmul(pd)).first->second;
    }

    dnnl::engine engine_;
    dnnl::stream stream_;
    int threads_ = 0;
    Precision precision_;
    std::string precision_note_;
    // Int8 below AVX-512: oneDNN's AVX2 int8 matmul (gemm:jit) multiplies a u8 source by s8
    // weights. Without VNNI, oneDNN's int8 kernels (AVX2, and AVX-512 ones, which shift an s8 source
    // to u8) sum pairs of products in 16 bits, saturating beyond 32767: the weights then use 64
    // levels a side (2 x 255 x 64 fits), 127 otherwise.
    bool unsigned_source_ = false;
    float weight_levels_ = 127.0f;
    std::map<LinearKey, dnnl::matmul> linear_cache_;
    std::set<std::string> kernels_;
    struct SourceBuffers {  // matmul inputs converted from float32 (see source_from_f32)
        std::vector<uint16_t> bf16;
        std::vector<int8_t> s8;
        std::vector<uint8_t> u8;
        std::vector<float> f32;
    } src_;
    float source_scale_ = 1.0f;  // Int8: the scale of the last quantised source
    int32_t source_zero_point_ = 0;  // Int8 with a u8 source: its zero point
    std::vector<uint16_t> intermediate_bf16_;
    std::vector<float> intermediate_, column_scales_, product_;
};

}  // namespace

BackendFactory cpu_backend_factory() {
    return {"cpu", {Precision::Fp32, Precision::Bf16, Precision::Int8}, [] { return DeviceProbe::found(1); },
            [](const BackendSettings& settings) -> std::unique_ptr<Backend> {
                try {
                    apply_cpu_isa_cap_to_onednn();
                    return std::make_unique<CpuBackend>(settings);
                } catch (const dnnl::error& e) {
                    throw Error(std::string("oneDNN: cannot create a CPU engine: ") + e.what());
                }
            }};
}

}  // namespace zeroclip
