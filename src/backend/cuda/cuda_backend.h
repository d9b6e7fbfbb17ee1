// cuda_backend.h - the CUDA backend's entry in the backend registry (src/backend/registry.cpp).
//
// Plain C++, in the zeroclip_cuda library (built with -DZEROCLIP_CUDA=ON), which links nothing of
// the core; the module libzeroclip-cuda.so hands the factory to the core (cuda_module.cpp).
//
// The towers' operations on GPU 0: weights uploaded once, activations resident on the device,
// cuBLASLt matmuls with float32 accumulation and our own kernels (cuda_kernels.cu) for the rest.
// Precision::Fp32 keeps TF32 off (parity with the CPU); Bf16 stores weights and the tensors that
// only feed a matmul in bf16, with a float32 residual stream (compute capability 8.0 or newer).
#pragma once

#include "backend/backend.h"

namespace zeroclip {

BackendFactory cuda_backend_factory();

// What the (statically linked) CUDA runtime reports; never throws, never aborts (no driver, no
// GPU: device_count 0 and the runtime's reason).
DeviceProbe cuda_runtime_probe();

}  // namespace zeroclip
