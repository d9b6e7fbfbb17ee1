// cpu_backend.h - the CPU backend's entry in the backend registry (src/backend/registry.cpp).
//
// oneDNN on the CPU. Tensors are plain float32 host memory, used in place. Weights are packed
// once into oneDNN's blocked layout. Precision of the linear layers: Fp32 exact; Bf16 multiplies
// bf16 weights by bf16 activations with float32 accumulation (AVX512-BF16 / AMX); Int8 quantises
// weights per output channel and activations per call (AVX-512: symmetric s8 on VNNI / AMX
// kernels; AVX2: u8 with a zero point, oneDNN's AVX2 int8 GEMM). Layer norm, attention and the
// residual stream stay float32 in every precision. The precision it is created with must be one
// this CPU runs (effective_precision in backend.h decides).
#pragma once

#include "backend/backend.h"

namespace zeroclip {

BackendFactory cpu_backend_factory();

}  // namespace zeroclip
