// cpu_peak.h - the CPU's measured peak multiply-add rate for a precision (roofline for bench).
#pragma once

#include <string>

#include "zeroclip/model.h"

namespace zeroclip {

struct CpuPeak {
    std::string instruction;  // what was timed
    double gflop_per_s = 0;   // 0 when the CPU lacks the instruction (or it is not x86-64 AVX-512)
};

// Times `threads` (0: all cores) OpenMP threads, each running the precision's widest
// multiply-add back to back for a fraction of a second: fp32 FMA, AVX512-BF16 dot products or VNNI
// int8 dot products. No AMX: oneDNN 2.6 uses it where present, so the figure is then a floor.
CpuPeak measure_cpu_peak(Precision precision, int threads);

}  // namespace zeroclip
