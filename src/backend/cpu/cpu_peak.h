// cpu_peak.h - the CPU's measured peak multiply-add rate for a precision (roofline for bench).
#pragma once

#include <string>

#include "zeroclip/model.h"

namespace zeroclip {

struct CpuPeak {
    std::string instruction;  // what was timed, e.g. "avx2 vfmadd (fp32)"
    double gflop_per_s = 0;   // 0 only off x86-64
};

// Times `threads` (0: all cores) OpenMP threads, each running the fastest multiply-add this CPU
// has for the precision (under the ISA cap of cpu_isa.h) back to back for a fraction of a second:
// fp32 FMA (AVX-512, AVX2, or SSE multiply + add), bf16 dot products (AMX, AVX512-BF16) or int8 dot
// products (AMX, AVX512-VNNI, AVX-VNNI, or AVX-512 / AVX2 vpmaddubsw sequences). A precision the
// CPU has no instruction for (bf16 on AVX2) gets the fp32 figure, which is what then runs.
CpuPeak measure_cpu_peak(Precision precision, int threads);

}  // namespace zeroclip
