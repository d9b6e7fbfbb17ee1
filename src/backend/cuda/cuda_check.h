// cuda_check.h - CUDA runtime and cuBLAS status codes to zeroclip::Error (one line each).
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <string>

#include "zeroclip/error.h"

namespace zeroclip {

inline void cuda_check(cudaError_t status, const char* what) {
    if (status != cudaSuccess) {
        // Clear a recoverable error (e.g. out of memory), or the next launch check reports it again.
        cudaGetLastError();
        throw Error(std::string("CUDA: ") + what + ": " + cudaGetErrorString(status));
    }
}

inline void cublas_check(cublasStatus_t status, const char* what) {
    if (status != CUBLAS_STATUS_SUCCESS) {
        throw Error(std::string("cuBLASLt: ") + what + ": " + cublasLtGetStatusString(status));
    }
}

}  // namespace zeroclip

// The failing call's text names the culprit in the message.
#define CUDA_CHECK(call) ::zeroclip::cuda_check((call), #call)
#define CUBLAS_CHECK(call) ::zeroclip::cublas_check((call), #call)
// After a kernel launch: bad launch configurations are reported here, faults at the next sync.
#define CUDA_CHECK_LAUNCH(name) ::zeroclip::cuda_check(cudaGetLastError(), name)
