// The non-matmul kernels. Simple and exact first: float32 arithmetic throughout, bf16 only in
// memory; expf/erff/tanhf (not the fast intrinsics) so that the fp32 mode matches the CPU.
#include "backend/cuda/cuda_kernels.h"

#include <cuda_bf16.h>

#include <cmath>
#include <string>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_launch.h"

namespace zeroclip::cuda {

namespace {

constexpr unsigned kFullMask = 0xffffffffu;

__device__ inline float to_float(float x) { return x; }
__device__ inline float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }

template <typename T>
__device__ inline T from_float(float x);
template <>
__device__ inline float from_float<float>(float x) { return x; }
template <>
__device__ inline __nv_bfloat16 from_float<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }

__device__ inline float warp_sum(float x) {
    for (int offset = 16; offset > 0; offset >>= 1) x += __shfl_xor_sync(kFullMask, x, offset);
    return x;
}

__device__ inline float warp_max(float x) {
    for (int offset = 16; offset > 0; offset >>= 1) x = fmaxf(x, __shfl_xor_sync(kFullMask, x, offset));
    return x;
}

dim3 to_dim3(const LaunchDims& d) { return dim3(d.x, d.y, d.z); }

// Calls f with a null pointer of the element type, to pick the kernel instantiation.
template <typename F>
void dispatch(DType type, F&& f) {
    if (type == DType::F32) f(static_cast<float*>(nullptr));
    else f(static_cast<__nv_bfloat16*>(nullptr));
}

template <typename T>
__global__ void layer_norm_kernel(const float* x, int64_t rows, int cols, const float* gamma,
                                  const float* beta, float eps, T* y) {
    const int64_t row = int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / 32;
    if (row >= rows) return;  // whole warps leave together
    const int lane = threadIdx.x % 32;
    const float* xr = x + row * cols;
    float sum = 0.0f;
    for (int c = lane; c < cols; c += 32) sum += xr[c];
    const float mean = warp_sum(sum) / cols;
    float squares = 0.0f;
    for (int c = lane; c < cols; c += 32) {
        const float d = xr[c] - mean;
        squares += d * d;
    }
    const float inv_std = 1.0f / sqrtf(warp_sum(squares) / cols + eps);
    T* yr = y + row * cols;
    for (int c = lane; c < cols; c += 32) yr[c] = from_float<T>((xr[c] - mean) * inv_std * gamma[c] + beta[c]);
}

template <typename T>
__global__ void activate_kernel(T* x, size_t n, Activation activation) {
    for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
        const float v = to_float(x[i]);
        float r;
        switch (activation) {
        case Activation::QuickGelu: r = v / (1.0f + expf(-1.702f * v)); break;
        case Activation::Gelu: r = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f)); break;
        default: r = 0.5f * v * (1.0f + tanhf(0.79788456080286536f * (v + 0.044715f * v * v * v))); break;
        }
        x[i] = from_float<T>(r);
    }
}

// One warp per query; the block's queries share each tile of keys and values in shared memory.
// Online softmax (running max m and sum l per query), so any sequence length works.
template <typename T>
__global__ void attention_kernel(const T* qkv, int seq, int heads, int head_dim, int query_blocks,
                                 const int* lengths, bool causal, float scale, T* out) {
    extern __shared__ float shared[];
    const int key_stride = head_dim + 1;
    float* k_tile = shared;                                   // [kAttentionKeyTile][head_dim + 1]
    float* v_tile = k_tile + kAttentionKeyTile * key_stride;  // [kAttentionKeyTile][head_dim]
    float* q_rows = v_tile + kAttentionKeyTile * head_dim;    // [kAttentionQueries][head_dim]

    const int b = blockIdx.x / query_blocks;
    const int first_query = (blockIdx.x % query_blocks) * kAttentionQueries;
    const int h = blockIdx.y;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int query = first_query + warp;
    const bool active = query < seq;
    const int hidden = heads * head_dim;
    const size_t row_stride = 3 * size_t(hidden);
    const T* base = qkv + size_t(b) * seq * row_stride + size_t(h) * head_dim;

    const int length = lengths ? min(lengths[b], seq) : seq;
    // Keys no query of this block may see are never loaded.
    const int key_end = causal ? min(length, first_query + kAttentionQueries) : length;

    float* q = q_rows + warp * head_dim;
    if (active) {
        for (int c = lane; c < head_dim; c += 32) q[c] = to_float(base[size_t(query) * row_stride + c]) * scale;
    }
    constexpr int kPerLane = kAttentionMaxHeadDim / 32;
    float o[kPerLane] = {};
    float m = -INFINITY, l = 0.0f;

    for (int tile = 0; tile < key_end; tile += kAttentionKeyTile) {
        __syncthreads();  // the previous tile is consumed (and q is visible on the first pass)
        for (int i = threadIdx.x; i < kAttentionKeyTile * head_dim; i += blockDim.x) {
            const int j = i / head_dim, c = i % head_dim, key = tile + j;
            float k = 0.0f, v = 0.0f;
            if (key < key_end) {
                const T* row = base + size_t(key) * row_stride + c;
                k = to_float(row[hidden]);
                v = to_float(row[2 * hidden]);
            }
            k_tile[j * key_stride + c] = k;
            v_tile[j * head_dim + c] = v;
        }
        __syncthreads();
        if (!active) continue;

        const int key = tile + lane;
        const bool valid = key < key_end && (!causal || key <= query);
        float s = -INFINITY;
        if (valid) {
            s = 0.0f;
            for (int c = 0; c < head_dim; ++c) s += q[c] * k_tile[lane * key_stride + c];
        }
        const float tile_max = warp_max(s);
        if (tile_max == -INFINITY) continue;  // every key of the tile is masked for this query
        const float new_m = fmaxf(m, tile_max);
        const float correction = expf(m - new_m);
        const float p = valid ? expf(s - new_m) : 0.0f;
        l = l * correction + warp_sum(p);
#pragma unroll
        for (int i = 0; i < kPerLane; ++i) o[i] *= correction;
        for (int j = 0; j < kAttentionKeyTile; ++j) {
            const float pj = __shfl_sync(kFullMask, p, j);
#pragma unroll
            for (int i = 0; i < kPerLane; ++i) {
                const int c = lane + 32 * i;
                if (c < head_dim) o[i] += pj * v_tile[j * head_dim + c];
            }
        }
        m = new_m;
    }
    if (!active) return;
    T* dst = out + (size_t(b) * seq + query) * hidden + size_t(h) * head_dim;
#pragma unroll
    for (int i = 0; i < kPerLane; ++i) {
        const int c = lane + 32 * i;
        if (c < head_dim) dst[c] = from_float<T>(o[i] / l);
    }
}

template <typename T>
__global__ void patchify_kernel(const float* pixels, int count, int channels, int size, int patch, T* out) {
    const int grid = size / patch, patches = grid * grid, patch_len = channels * patch * patch;
    const size_t n = size_t(count) * patches * patch_len;
    for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
        const size_t row = i / patch_len;
        const int col = int(i % patch_len);
        const int b = int(row / patches), p = int(row % patches);
        const int py = p / grid, px = p % grid;
        const int c = col / (patch * patch), y = (col / patch) % patch, x = col % patch;
        out[i] = from_float<T>(pixels[((size_t(b) * channels + c) * size + py * patch + y) * size + px * patch + x]);
    }
}

__global__ void embed_patches_kernel(const float* patches, const float* class_embedding,
                                     const float* position_embedding, int count, int seq, int hidden, float* out) {
    const size_t n = size_t(count) * seq * hidden;
    for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
        const int col = int(i % hidden);
        const size_t row = i / hidden;
        const int t = int(row % seq), b = int(row / seq);
        const float value = !class_embedding ? patches[i]
                            : t == 0     ? class_embedding[col]
                                         : patches[(size_t(b) * (seq - 1) + t - 1) * hidden + col];
        out[i] = value + position_embedding[size_t(t) * hidden + col];
    }
}

__global__ void embed_tokens_kernel(const int* ids, const float* token_embedding, const float* position_embedding,
                                    int count, int seq, int hidden, float* out) {
    const size_t n = size_t(count) * seq * hidden;
    for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
        const int col = int(i % hidden);
        const size_t row = i / hidden;
        const int id = ids[row], t = int(row % seq);
        out[i] = id < 0 ? 0.0f : token_embedding[size_t(id) * hidden + col] + position_embedding[size_t(t) * hidden + col];
    }
}

template <typename T>
__global__ void gather_rows_kernel(const T* x, const int* rows, int count, int cols, T* out) {
    const size_t n = size_t(count) * cols;
    for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
        out[i] = x[size_t(rows[i / cols]) * cols + i % cols];
    }
}

template <typename T>
__global__ void convert_kernel(const float* x, size_t n, T* y) {
    for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
        y[i] = from_float<T>(x[i]);
    }
}

// Block-wide reductions over kPoolThreads threads (whole warps), through `scratch` (one float per warp).
constexpr int kPoolThreads = 128;

__device__ float block_max(float x, float* scratch) {
    x = warp_max(x);
    if (threadIdx.x % 32 == 0) scratch[threadIdx.x / 32] = x;
    __syncthreads();
    float result = scratch[0];
    for (int w = 1; w < kPoolThreads / 32; ++w) result = fmaxf(result, scratch[w]);
    __syncthreads();  // scratch is reused by the next reduction
    return result;
}

__device__ float block_sum(float x, float* scratch) {
    x = warp_sum(x);
    if (threadIdx.x % 32 == 0) scratch[threadIdx.x / 32] = x;
    __syncthreads();
    float result = 0.0f;
    for (int w = 0; w < kPoolThreads / 32; ++w) result += scratch[w];
    __syncthreads();
    return result;
}

// One block per (sequence, head): the scores of every position in shared memory, a softmax over
// them, then each thread sums its output columns over the positions.
__global__ void attention_pool_kernel(const float* kv, const float* query, int seq, int heads, int head_dim,
                                      float scale, float* out) {
    extern __shared__ float scores[];  // [seq]
    __shared__ float scratch[kPoolThreads / 32];
    const int b = blockIdx.x, h = blockIdx.y, hidden = heads * head_dim;
    const float* q = query + size_t(h) * head_dim;
    const float* rows = kv + size_t(b) * seq * 2 * hidden;
    float local_max = -INFINITY;
    for (int t = threadIdx.x; t < seq; t += blockDim.x) {
        const float* k = rows + size_t(t) * 2 * hidden + size_t(h) * head_dim;
        float dot = 0.0f;
        for (int d = 0; d < head_dim; ++d) dot += q[d] * k[d];
        scores[t] = dot * scale;
        local_max = fmaxf(local_max, scores[t]);
    }
    const float max_score = block_max(local_max, scratch);
    float local_sum = 0.0f;
    for (int t = threadIdx.x; t < seq; t += blockDim.x) local_sum += (scores[t] = expf(scores[t] - max_score));
    const float sum = block_sum(local_sum, scratch);  // its __syncthreads also publishes scores
    for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
        float acc = 0.0f;
        for (int t = 0; t < seq; ++t) acc += scores[t] * rows[size_t(t) * 2 * hidden + hidden + size_t(h) * head_dim + d];
        out[size_t(b) * hidden + size_t(h) * head_dim + d] = acc / sum;
    }
}

}  // namespace

void layer_norm(const float* x, int64_t rows, int cols, const float* gamma, const float* beta, float eps,
                void* y, DType y_type, cudaStream_t stream) {
    const LaunchShape shape = rows_launch(rows);
    dispatch(y_type, [&](auto* type) {
        using T = std::remove_pointer_t<decltype(type)>;
        layer_norm_kernel<T><<<to_dim3(shape.grid), to_dim3(shape.block), 0, stream>>>(
            x, rows, cols, gamma, beta, eps, static_cast<T*>(y));
    });
    CUDA_CHECK_LAUNCH("layer_norm kernel launch");
}

void activate(void* x, size_t n, DType type, Activation activation, cudaStream_t stream) {
    const LaunchShape shape = elementwise_launch(n);
    dispatch(type, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        activate_kernel<T><<<to_dim3(shape.grid), to_dim3(shape.block), 0, stream>>>(static_cast<T*>(x), n, activation);
    });
    CUDA_CHECK_LAUNCH("activation kernel launch");
}

void attention(const void* qkv, DType type, int batch, int seq, int heads, int head_dim, const int* lengths,
               bool causal, void* out, cudaStream_t stream) {
    const LaunchShape shape = attention_launch(batch, seq, heads, head_dim);
    const int query_blocks = (seq + kAttentionQueries - 1) / kAttentionQueries;
    const float scale = 1.0f / std::sqrt(float(head_dim));
    dispatch(type, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        attention_kernel<T><<<to_dim3(shape.grid), to_dim3(shape.block), shape.shared_bytes, stream>>>(
            static_cast<const T*>(qkv), seq, heads, head_dim, query_blocks, lengths, causal, scale, static_cast<T*>(out));
    });
    CUDA_CHECK_LAUNCH("attention kernel launch");
}

void patchify(const float* pixels, int count, int channels, int image_size, int patch, void* out, DType out_type,
              cudaStream_t stream) {
    const int grid = image_size / patch;
    const LaunchShape shape = elementwise_launch(size_t(count) * grid * grid * channels * patch * patch);
    dispatch(out_type, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        patchify_kernel<T><<<to_dim3(shape.grid), to_dim3(shape.block), 0, stream>>>(
            pixels, count, channels, image_size, patch, static_cast<T*>(out));
    });
    CUDA_CHECK_LAUNCH("patchify kernel launch");
}

void embed_patches(const float* patches, const float* class_embedding, const float* position_embedding, int count,
                   int seq, int hidden, float* out, cudaStream_t stream) {
    const LaunchShape shape = elementwise_launch(size_t(count) * seq * hidden);
    embed_patches_kernel<<<to_dim3(shape.grid), to_dim3(shape.block), 0, stream>>>(
        patches, class_embedding, position_embedding, count, seq, hidden, out);
    CUDA_CHECK_LAUNCH("embed_patches kernel launch");
}

void embed_tokens(const int* ids, const float* token_embedding, const float* position_embedding, int count, int seq,
                  int hidden, float* out, cudaStream_t stream) {
    const LaunchShape shape = elementwise_launch(size_t(count) * seq * hidden);
    embed_tokens_kernel<<<to_dim3(shape.grid), to_dim3(shape.block), 0, stream>>>(
        ids, token_embedding, position_embedding, count, seq, hidden, out);
    CUDA_CHECK_LAUNCH("embed_tokens kernel launch");
}

void gather_rows(const void* x, const int* rows, int count, int cols, DType type, void* out, cudaStream_t stream) {
    const LaunchShape shape = elementwise_launch(size_t(count) * cols);
    dispatch(type, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        gather_rows_kernel<T><<<to_dim3(shape.grid), to_dim3(shape.block), 0, stream>>>(
            static_cast<const T*>(x), rows, count, cols, static_cast<T*>(out));
    });
    CUDA_CHECK_LAUNCH("gather_rows kernel launch");
}

void convert(const float* x, size_t n, void* y, DType type, cudaStream_t stream) {
    if (n == 0) return;
    const LaunchShape shape = elementwise_launch(n);
    dispatch(type, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        convert_kernel<T><<<to_dim3(shape.grid), to_dim3(shape.block), 0, stream>>>(x, n, static_cast<T*>(y));
    });
    CUDA_CHECK_LAUNCH("convert kernel launch");
}

void attention_pool(const float* kv, const float* query, int batch, int seq, int heads, int head_dim, float* out,
                    cudaStream_t stream) {
    if (batch < 1 || seq < 1 || heads < 1 || heads > 65535 || head_dim < 1 || size_t(seq) * sizeof(float) > (size_t(40) << 10)) {
        throw Error("CUDA attention pooling: unsupported shape batch " + std::to_string(batch) + ", seq " +
                    std::to_string(seq) + ", heads " + std::to_string(heads) + ", head_dim " + std::to_string(head_dim));
    }
    const float scale = 1.0f / std::sqrt(float(head_dim));
    attention_pool_kernel<<<dim3(batch, heads), kPoolThreads, size_t(seq) * sizeof(float), stream>>>(
        kv, query, seq, heads, head_dim, scale, out);
    CUDA_CHECK_LAUNCH("attention_pool kernel launch");
}

}  // namespace zeroclip::cuda
