// The backend's loops built for SSE4.1 (x86-64-v2): 4-float vectors in xmm registers; CMakeLists.txt gives this file its target flags.
#define ZEROCLIP_KERNELS_NAMESPACE kernels_sse41
#define ZEROCLIP_VECTOR_FLOATS 4
#include "backend/cpu/cpu_kernels_impl.h"
