// cuda_matmul.h - linear layers through cuBLASLt, float32 accumulation (no TF32), fused epilogues.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <map>
#include <tuple>

#include "backend/cuda/cuda_kernels.h"

namespace zeroclip::cuda {

// A linear layer in device memory: weight [out, in] (torch.nn.Linear layout) of the input type,
// bias [out] (or null) of the output type, as cuBLASLt's bias epilogue reads it.
struct DeviceLinear {
    const void* weight = nullptr;
    const void* bias = nullptr;
    int out_features = 0;
    int in_features = 0;
};

class Matmul {
public:
    explicit Matmul(cudaStream_t stream);
    ~Matmul();
    Matmul(const Matmul&) = delete;
    Matmul& operator=(const Matmul&) = delete;

    // y[m, out] = x[m, in] * W^T + bias, then tanh-GELU when `gelu_tanh`; y += ... instead when
    // `accumulate` (the residual connections). x and W are `in_type`, y and the bias `out_type`.
    void linear(const void* x, int m, const DeviceLinear& w, DType in_type, void* y, DType out_type,
                bool gelu_tanh = false, bool accumulate = false);

private:
    // Descriptors and the heuristic's algorithm for one problem shape.
    struct Plan {
        cublasLtMatmulDesc_t desc = nullptr;
        cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
        cublasLtMatmulAlgo_t algo{};
    };
    using Key = std::tuple<int, int, int, DType, DType, int>;  // m, out, in, types, epilogue
    Plan& plan(const Key& key);

    cudaStream_t stream_;
    cublasLtHandle_t handle_ = nullptr;
    void* workspace_ = nullptr;
    std::map<Key, Plan> plans_;
};

}  // namespace zeroclip::cuda
