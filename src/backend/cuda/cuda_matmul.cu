// cuBLASLt works on column-major matrices: the row-major y[m, out] = x[m, in] * W^T is computed
// as the column-major y^T[out, m] = op(W)[out, in] * x^T[in, m], with W (row-major [out, in],
// i.e. column-major [in, out]) transposed. The bias then runs along D's rows, as cuBLASLt wants.
#include "backend/cuda/cuda_matmul.h"

#include <string>

#include "backend/cuda/cuda_check.h"

namespace zeroclip::cuda {

namespace {

constexpr size_t kWorkspaceBytes = size_t(32) << 20;

cudaDataType_t data_type(DType type) { return type == DType::F32 ? CUDA_R_32F : CUDA_R_16BF; }

cublasLtEpilogue_t epilogue_for(bool bias, bool gelu_tanh) {
    if (bias) return gelu_tanh ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_BIAS;
    return gelu_tanh ? CUBLASLT_EPILOGUE_GELU : CUBLASLT_EPILOGUE_DEFAULT;
}

}  // namespace

Matmul::Matmul(cudaStream_t stream) : stream_(stream) {
    CUBLAS_CHECK(cublasLtCreate(&handle_));
    CUDA_CHECK(cudaMalloc(&workspace_, kWorkspaceBytes));
}

Matmul::~Matmul() {
    for (auto& [key, p] : plans_) {
        cublasLtMatrixLayoutDestroy(p.a);
        cublasLtMatrixLayoutDestroy(p.b);
        cublasLtMatrixLayoutDestroy(p.c);
        cublasLtMatmulDescDestroy(p.desc);
    }
    cudaFree(workspace_);
    cublasLtDestroy(handle_);
}

Matmul::Plan& Matmul::plan(const Key& key) {
    auto found = plans_.find(key);
    if (found != plans_.end()) return found->second;
    const auto [m, out, in, in_type, out_type, epilogue_value] = key;
    const auto epilogue = static_cast<cublasLtEpilogue_t>(epilogue_value);

    Plan p;
    // Float32 compute: CUBLAS_COMPUTE_32F never rounds float32 inputs to TF32.
    CUBLAS_CHECK(cublasLtMatmulDescCreate(&p.desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    const cublasOperation_t transpose = CUBLAS_OP_T, keep = CUBLAS_OP_N;
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSA, &transpose, sizeof transpose));
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSB, &keep, sizeof keep));
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof epilogue));
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.a, data_type(in_type), in, out, in));
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.b, data_type(in_type), in, m, in));
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.c, data_type(out_type), out, m, out));

    cublasLtMatmulPreference_t preference = nullptr;
    CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&preference));
    const size_t workspace = kWorkspaceBytes;
    cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace,
                                         sizeof workspace);
    cublasLtMatmulHeuristicResult_t result{};
    int found_count = 0;
    const cublasStatus_t status = cublasLtMatmulAlgoGetHeuristic(handle_, p.desc, p.a, p.b, p.c, p.c, preference, 1,
                                                                 &result, &found_count);
    cublasLtMatmulPreferenceDestroy(preference);
    if (status != CUBLAS_STATUS_SUCCESS || found_count == 0) {
        cublasLtMatrixLayoutDestroy(p.a);
        cublasLtMatrixLayoutDestroy(p.b);
        cublasLtMatrixLayoutDestroy(p.c);
        cublasLtMatmulDescDestroy(p.desc);
        throw Error("cuBLASLt: no algorithm for a " + std::to_string(m) + "x" + std::to_string(in) + " by " +
                    std::to_string(in) + "x" + std::to_string(out) + " matmul (" +
                    (in_type == DType::F32 ? "fp32" : "bf16") + " in, epilogue " + std::to_string(epilogue_value) + ")");
    }
    p.algo = result.algo;
    return plans_.emplace(key, p).first->second;
}

void Matmul::linear(const void* x, int m, const DeviceLinear& w, DType in_type, void* y, DType out_type,
                    bool gelu_tanh, bool accumulate) {
    const cublasLtEpilogue_t epilogue = epilogue_for(w.bias != nullptr, gelu_tanh);
    Plan& p = plan({m, w.out_features, w.in_features, in_type, out_type, int(epilogue)});
    if (w.bias) {
        CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &w.bias, sizeof w.bias));
    }
    const float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
    CUBLAS_CHECK(cublasLtMatmul(handle_, p.desc, &alpha, w.weight, p.a, x, p.b, &beta, y, p.c, y, p.c, &p.algo,
                                workspace_, kWorkspaceBytes, stream_));
}

}  // namespace zeroclip::cuda
