// cpu_isa.h - the one place that decides which x86-64 instructions zeroclip may use: what the CPU
// has, capped by ZEROCLIP_MAX_CPU_ISA (or oneDNN's ONEDNN_MAX_CPU_ISA) so that the AVX2 paths can be
// exercised on an AVX-512 machine. The kernels, the precision fallbacks, `bench --peak` and
// oneDNN (told the same cap) all ask here.
#pragma once

#include <string>

namespace zeroclip {

// ISA levels with oneDNN's values, which nest as bit sets: a level is usable when the CPU has it
// and its bits are all within the cap's (so AVX2_VNNI is outside an AVX512_CORE cap, as in oneDNN).
enum class CpuIsa : unsigned {
    Sse41 = 0x1,
    Avx = 0x3,
    Avx2 = 0x7,             // AVX2 + FMA (x86-64-v3)
    Avx512Core = 0x27,      // AVX-512 F, BW, VL, DQ (x86-64-v4)
    Avx512CoreVnni = 0x67,  // + AVX512-VNNI int8 dot products
    Avx512CoreBf16 = 0xe7,  // + AVX512-BF16
    Avx512CoreAmx = 0x3e7,  // + AMX tiles (int8, bf16)
    Avx2Vnni = 0x407,       // AVX2 + VEX-encoded VNNI (AVX-VNNI)
    All = 0xffffffff,
};

// Whether zeroclip may use `isa` here: the CPU (and OS) support it and the cap allows it.
bool cpu_has(CpuIsa isa);

// The cap in force: All unless ZEROCLIP_MAX_CPU_ISA, else ONEDNN_MAX_CPU_ISA (or DNNL_MAX_CPU_ISA),
// names one of oneDNN's levels (SSE41, AVX, AVX2, AVX2_VNNI, AVX512_CORE, AVX512_CORE_VNNI,
// AVX512_CORE_BF16, AVX512_CORE_AMX, ALL; any case). Throws zeroclip::Error naming the variable for
// any other value.
CpuIsa cpu_isa_cap();

// The widest vector level the backend's own kernels run at here: Avx512Core, Avx2 or Sse41.
CpuIsa kernel_isa();

// For logs and errors, e.g. "AVX2".
std::string cpu_isa_name(CpuIsa isa);

// Tells oneDNN the cap before its first primitive (so that ZEROCLIP_MAX_CPU_ISA alone caps it too).
void apply_cpu_isa_cap_to_onednn();

}  // namespace zeroclip
