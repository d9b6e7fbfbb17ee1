// cpu_kernel_table.h - one ISA's build of the backend's loops (cpu_kernels_impl.h) as a table of
// functions, for cpu_kernels.cpp to pick from at run time.
#pragma once

#include <cstdint>

namespace zeroclip {

struct KernelTable {
    void (*layer_norm_rows)(const float*, int64_t, int, const float*, const float*, float, float*);
    void (*layer_norm_rows_bf16)(const float*, int64_t, int, const float*, const float*, float, uint16_t*);
    void (*convert_to_bf16)(const float*, int64_t, uint16_t*);
    float (*abs_max)(const float*, int64_t);
    void (*add_rows)(const float*, int64_t, float*);
    void (*min_max)(const float*, int64_t, float&, float&);
    void (*quantize_u8)(const float*, int64_t, float, int32_t, uint8_t*);
    void (*quantize_s8)(const float*, int64_t, float, int8_t*);
    void (*attention_heads)(const float*, int, int, int, int, const int*, bool, float*);
};

// AVX-512 (x86-64-v4, 16-float vectors), AVX2 + FMA (x86-64-v3, 8 floats), SSE4.1 (x86-64-v2, 4).
namespace kernels_avx512 { extern const KernelTable kTable; }
namespace kernels_avx2 { extern const KernelTable kTable; }
namespace kernels_sse41 { extern const KernelTable kTable; }

}  // namespace zeroclip
