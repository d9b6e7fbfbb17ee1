// The backend's loops built for AVX2 + FMA (x86-64-v3): 8-float vectors in ymm registers; CMakeLists.txt gives this file its target flags.
#define ZEROCLIP_KERNELS_NAMESPACE kernels_avx2
#define ZEROCLIP_VECTOR_FLOATS 8
#include "backend/cpu/cpu_kernels_impl.h"
