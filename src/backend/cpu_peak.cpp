// The CPU's peak multiply-add rate, measured: what `zeroclip bench --peak` compares a model's
// throughput against. Each thread runs independent chains of the widest multiply-add the CPU has
// for the precision (enough chains to hide the instruction latency), so nothing but the FMA
// units limits the loop.
#include "backend/cpu_peak.h"

#include <omp.h>

#include <chrono>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace zeroclip {

#if defined(__x86_64__)

namespace {

// Independent accumulator chains: latency 4-5 cycles x 2 FMA pipes, with margin.
constexpr int kChains = 12;
constexpr long kIterations = 100'000'000;  // about 0.2 s at 3.5 GHz

// Each function returns its chains' sum, stored here so that the compiler cannot drop the loops.
volatile float chains_result;

// Sums a vector's lanes (GCC 12's _mm512_reduce_* intrinsics trip -Wuninitialized).
template <typename Vector, typename Lane>
Lane lane_sum(Vector v) {
    Lane lanes[sizeof(Vector) / sizeof(Lane)];
    __builtin_memcpy(lanes, &v, sizeof lanes);
    Lane sum = 0;
    for (Lane lane : lanes) sum += lane;
    return sum;
}

__attribute__((target("avx512f"))) float fp32_chains(long iterations) {
    __m512 acc[kChains];
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(0.001f * c);
    const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(1e-4f);
    for (long i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
        for (int c = 0; c < kChains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
    }
    for (int c = 1; c < kChains; ++c) acc[0] = _mm512_add_ps(acc[0], acc[c]);
    return lane_sum<__m512, float>(acc[0]);
}

__attribute__((target("avx512f,avx512bf16"))) float bf16_chains(long iterations) {
    __m512 acc[kChains];
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(0.001f * c);
    const __m512bh a = (__m512bh)_mm512_set1_epi16(0x3f80), b = (__m512bh)_mm512_set1_epi16(0x3a80);
    for (long i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
        for (int c = 0; c < kChains; ++c) acc[c] = _mm512_dpbf16_ps(acc[c], a, b);
    }
    for (int c = 1; c < kChains; ++c) acc[0] = _mm512_add_ps(acc[0], acc[c]);
    return lane_sum<__m512, float>(acc[0]);
}

__attribute__((target("avx512f,avx512vnni"))) float int8_chains(long iterations) {
    __m512i acc[kChains];
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_epi32(c);
    const __m512i a = _mm512_set1_epi8(1), b = _mm512_set1_epi8(1);
    for (long i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
        for (int c = 0; c < kChains; ++c) acc[c] = _mm512_dpbusd_epi32(acc[c], a, b);
    }
    for (int c = 1; c < kChains; ++c) acc[0] = _mm512_add_epi32(acc[0], acc[c]);
    return static_cast<float>(lane_sum<__m512i, int32_t>(acc[0]));
}

}  // namespace

CpuPeak measure_cpu_peak(Precision precision, int threads) {
    CpuPeak peak;
    __builtin_cpu_init();
    float (*chains)(long) = nullptr;
    double ops_per_instruction = 0;  // multiply-adds x 2 per 512-bit instruction
    switch (precision) {
    case Precision::Fp32:
        if (__builtin_cpu_supports("avx512f")) chains = fp32_chains, ops_per_instruction = 2 * 16;
        peak.instruction = "avx512 vfmadd (fp32)";
        break;
    case Precision::Bf16:
        if (__builtin_cpu_supports("avx512bf16")) chains = bf16_chains, ops_per_instruction = 2 * 32;
        peak.instruction = "avx512 vdpbf16ps (bf16)";
        break;
    case Precision::Int8:
        if (__builtin_cpu_supports("avx512vnni")) chains = int8_chains, ops_per_instruction = 2 * 64;
        peak.instruction = "avx512 vpdpbusd (int8)";
        break;
    }
    if (!chains) return peak;  // not measurable here: gflop_per_s stays 0

    if (threads <= 0) threads = omp_get_num_procs();
    chains(kIterations / 10);  // wake the cores up to their working clock
    float sink = 0;
    const auto start = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    sink += chains(kIterations);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    chains_result = sink;
    peak.gflop_per_s = threads * kIterations * kChains * ops_per_instruction / seconds / 1e9;
    return peak;
}

#else

CpuPeak measure_cpu_peak(Precision, int) { return {"AVX-512 multiply-adds (x86-64 only)", 0}; }

#endif

}  // namespace zeroclip
