// The backend's loops built for AVX-512 (x86-64-v4): 16-float vectors in zmm registers; CMakeLists.txt gives this file its target flags.
#define ZEROCLIP_KERNELS_NAMESPACE kernels_avx512
#define ZEROCLIP_VECTOR_FLOATS 16
#include "backend/cpu/cpu_kernels_impl.h"
