// The backend's loops, dispatched at run time to the build for the widest vectors this CPU has
// under the ISA cap (cpu_isa.h): one binary runs everywhere from x86-64-v2 up, at full width.
#include "backend/cpu/cpu_kernels.h"

#include "backend/cpu/cpu_isa.h"
#include "backend/cpu/cpu_kernel_table.h"

namespace zeroclip {

namespace {

const KernelTable& kernels() {
    static const KernelTable& table = kernel_isa() == CpuIsa::Avx512Core ? kernels_avx512::kTable
                                      : kernel_isa() == CpuIsa::Avx2     ? kernels_avx2::kTable
                                                                         : kernels_sse41::kTable;
    return table;
}

}  // namespace

void layer_norm_rows(const float* x, int64_t m, int n, const float* gamma, const float* beta, float eps,
                     float* y) {
    kernels().layer_norm_rows(x, m, n, gamma, beta, eps, y);
}

void layer_norm_rows_bf16(const float* x, int64_t m, int n, const float* gamma, const float* beta, float eps,
                          uint16_t* y) {
    kernels().layer_norm_rows_bf16(x, m, n, gamma, beta, eps, y);
}

void convert_to_bf16(const float* x, int64_t count, uint16_t* y) { kernels().convert_to_bf16(x, count, y); }

float abs_max(const float* x, int64_t count) { return kernels().abs_max(x, count); }

void add_rows(const float* x, int64_t count, float* y) { kernels().add_rows(x, count, y); }

void min_max(const float* x, int64_t count, float& low, float& high) { kernels().min_max(x, count, low, high); }

void quantize_u8(const float* x, int64_t count, float inv_scale, int32_t zero_point, uint8_t* y) {
    kernels().quantize_u8(x, count, inv_scale, zero_point, y);
}

void quantize_s8(const float* x, int64_t count, float inv_scale, int8_t* y) {
    kernels().quantize_s8(x, count, inv_scale, y);
}

void attention_heads(const float* qkv, int batch, int seq, int heads, int head_dim, const int* lengths, bool causal,
                     float* out) {
    kernels().attention_heads(qkv, batch, seq, heads, head_dim, lengths, causal, out);
}

}  // namespace zeroclip
