// The CPU's peak multiply-add rate, measured: what `zeroclip bench --peak` compares a model's
// throughput against. Each thread runs independent chains of the widest multiply-add the CPU has
// (under the ISA cap, cpu_isa.h) for the precision, enough chains to hide the instruction
// latency, so nothing but the multiply-add units limits the loop.
#include "backend/cpu/cpu_peak.h"

#include <type_traits>
#include <omp.h>

#include <chrono>

#include "backend/cpu/cpu_isa.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace zeroclip {

#if defined(__x86_64__)

namespace {

// Independent accumulator chains: latency 4-5 cycles x 2 FMA pipes, with margin.
constexpr int kChains = 12;
constexpr long kIterations = 100'000'000;  // about 0.2 s at 3.5 GHz for one instruction per chain

// Each function returns its chains' sum, stored here so that the compiler cannot drop the loops.
volatile float chains_result;

// The type a lane sum is kept in: unsigned for integer lanes (wraps, defined), the lane type otherwise.
template <typename T, bool = std::is_integral_v<T>>
struct WrappingSum {
    using type = T;
};
template <typename T>
struct WrappingSum<T, true> {
    using type = std::make_unsigned_t<T>;
};

// Sums a vector's lanes (GCC 12's _mm512_reduce_* intrinsics trip -Wuninitialized).
template <typename Vector, typename Lane>
Lane lane_sum(Vector v) {
    Lane lanes[sizeof(Vector) / sizeof(Lane)];
    __builtin_memcpy(lanes, &v, sizeof lanes);
    // Integer lanes are summed unsigned, where wrapping is defined: the value only keeps the loop alive.
    using Sum = typename WrappingSum<Lane>::type;
    Sum sum = 0;
    for (Lane lane : lanes) sum += static_cast<Sum>(lane);
    return static_cast<Lane>(sum);
}

// Inputs the compiler cannot see through (so that it cannot fold the chains).
volatile float kA = 0.999f, kB = 1e-4f;
volatile int kOnes = 0x01010101;

__attribute__((target("avx512f"))) float avx512_fma_chains(long iterations) {
    __m512 acc[kChains];
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(0.001f * c);
    const __m512 a = _mm512_set1_ps(kA), b = _mm512_set1_ps(kB);
    for (long i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
        for (int c = 0; c < kChains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
    }
    for (int c = 1; c < kChains; ++c) acc[0] = _mm512_add_ps(acc[0], acc[c]);
    return lane_sum<__m512, float>(acc[0]);
}

__attribute__((target("avx2,fma"))) float avx2_fma_chains(long iterations) {
    __m256 acc[kChains];
    for (int c = 0; c < kChains; ++c) acc[c] = _mm256_set1_ps(0.001f * c);
    const __m256 a = _mm256_set1_ps(kA), b = _mm256_set1_ps(kB);
    for (long i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
        for (int c = 0; c < kChains; ++c) acc[c] = _mm256_fmadd_ps(acc[c], a, b);
    }
    for (int c = 1; c < kChains; ++c) acc[0] = _mm256_add_ps(acc[0], acc[c]);
    return lane_sum<__m256, float>(acc[0]);
}

// Without FMA: a multiply and an add per multiply-add.
float sse_mul_add_chains(long iterations) {
    __m128 acc[kChains];
    for (int c = 0; c < kChains; ++c) acc[c] = _mm_set1_ps(0.001f * c);
    const __m128 a = _mm_set1_ps(kA), b = _mm_set1_ps(kB);
    for (long i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
        for (int c = 0; c < kChains; ++c) acc[c] = _mm_add_ps(_mm_mul_ps(acc[c], a), b);
    }
    for (int c = 1; c < kChains; ++c) acc[0] = _mm_add_ps(acc[0], acc[c]);
    return lane_sum<__m128, float>(acc[0]);
}

__attribute__((target("avx512f,avx512bf16"))) float avx512_bf16_chains(long iterations) {
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

__attribute__((target("avx512f,avx512vnni"))) float avx512_vnni_chains(long iterations) {
    __m512i acc[kChains];
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_epi32(c);
    const __m512i a = _mm512_set1_epi32(kOnes), b = _mm512_set1_epi32(kOnes);
    for (long i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
        for (int c = 0; c < kChains; ++c) acc[c] = _mm512_dpbusd_epi32(acc[c], a, b);
    }
    for (int c = 1; c < kChains; ++c) acc[0] = _mm512_add_epi32(acc[0], acc[c]);
    return static_cast<float>(lane_sum<__m512i, int32_t>(acc[0]));
}

__attribute__((target("avx2,avxvnni"))) float avx_vnni_chains(long iterations) {
    __m256i acc[kChains];
    for (int c = 0; c < kChains; ++c) acc[c] = _mm256_set1_epi32(c);
    const __m256i a = _mm256_set1_epi32(kOnes), b = _mm256_set1_epi32(kOnes);
    for (long i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
        for (int c = 0; c < kChains; ++c) acc[c] = _mm256_dpbusd_avx_epi32(acc[c], a, b);
    }
    for (int c = 1; c < kChains; ++c) acc[0] = _mm256_add_epi32(acc[0], acc[c]);
    return static_cast<float>(lane_sum<__m256i, int32_t>(acc[0]));
}

// Without VNNI, int8 dot products take three instructions (what oneDNN's AVX2 / AVX-512 int8
// kernels run): u8 x s8 pairs summed to s16, those pairs summed to s32, then accumulated.
__attribute__((target("avx512f,avx512bw"))) float avx512_maddubs_chains(long iterations) {
    __m512i acc[kChains];
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_epi32(c);
    const __m512i a = _mm512_set1_epi32(kOnes), b = _mm512_set1_epi32(kOnes), ones = _mm512_set1_epi16(1);
    for (long i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
        for (int c = 0; c < kChains; ++c)
            acc[c] = _mm512_add_epi32(acc[c], _mm512_madd_epi16(_mm512_maddubs_epi16(a, b), ones));
    }
    for (int c = 1; c < kChains; ++c) acc[0] = _mm512_add_epi32(acc[0], acc[c]);
    return static_cast<float>(lane_sum<__m512i, int32_t>(acc[0]));
}

__attribute__((target("avx2"))) float avx2_maddubs_chains(long iterations) {
    __m256i acc[kChains];
    for (int c = 0; c < kChains; ++c) acc[c] = _mm256_set1_epi32(c);
    const __m256i a = _mm256_set1_epi32(kOnes), b = _mm256_set1_epi32(kOnes), ones = _mm256_set1_epi16(1);
    for (long i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
        for (int c = 0; c < kChains; ++c)
            acc[c] = _mm256_add_epi32(acc[c], _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), ones));
    }
    for (int c = 1; c < kChains; ++c) acc[0] = _mm256_add_epi32(acc[0], acc[c]);
    return static_cast<float>(lane_sum<__m256i, int32_t>(acc[0]));
}

// AMX: four 16x16 accumulator tiles, each updated from two of four source tiles per step (the
// values do not matter: only the instruction rate is measured).
struct TileConfig {
    uint8_t palette = 1, start_row = 0, reserved[14] = {};
    uint16_t bytes_per_row[16] = {};
    uint8_t rows[16] = {};
};

// Linux hands out the AMX tile state only on request (arch_prctl ARCH_REQ_XCOMP_PERM).
bool amx_permitted() {
    constexpr int kArchReqXcompPerm = 0x1023, kXfeatureTileData = 18;
    static const bool permitted = syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureTileData) == 0;
    return permitted;
}

template <bool kInt8>
__attribute__((target("amx-tile,amx-int8,amx-bf16"))) float amx_chains(long iterations) {
    TileConfig config;
    for (int t = 0; t < 8; ++t) config.bytes_per_row[t] = 64, config.rows[t] = 16;
    _tile_loadconfig(&config);
    alignas(64) uint8_t data[16 * 64];
    __builtin_memset(data, 1, sizeof data);  // small int8 and bf16 values alike
    // Tile numbers must be constants: one load per tile, by hand.
    _tile_loadd(0, data, 64);
    _tile_loadd(1, data, 64);
    _tile_loadd(2, data, 64);
    _tile_loadd(3, data, 64);
    _tile_loadd(4, data, 64);
    _tile_loadd(5, data, 64);
    _tile_loadd(6, data, 64);
    _tile_loadd(7, data, 64);
    for (long i = 0; i < iterations; ++i) {
        if constexpr (kInt8) {
            _tile_dpbusd(0, 4, 6);
            _tile_dpbusd(1, 4, 7);
            _tile_dpbusd(2, 5, 6);
            _tile_dpbusd(3, 5, 7);
        } else {
            _tile_dpbf16ps(0, 4, 6);
            _tile_dpbf16ps(1, 4, 7);
            _tile_dpbf16ps(2, 5, 6);
            _tile_dpbf16ps(3, 5, 7);
        }
    }
    alignas(64) float out[16 * 16];
    _tile_stored(0, out, 64);
    _tile_release();
    return out[0];
}

struct Kernel {
    float (*chains)(long);
    double ops_per_iteration;  // multiply-adds x 2 per loop iteration, all chains
    long iterations;
    const char* name;
};

// The fastest multiply-add this CPU (under the cap) has for the precision.
Kernel peak_kernel(Precision precision) {
    const bool amx = cpu_has(CpuIsa::Avx512CoreAmx) && amx_permitted();
    // One AMX step: 4 tile products of 16x16 outputs, each a dot product of 32 bf16 or 64 int8 pairs.
    if (precision == Precision::Bf16 && amx) return {amx_chains<false>, 4 * 2.0 * 16 * 16 * 32, kIterations / 20, "amx tdpbf16ps (bf16)"};
    if (precision == Precision::Int8 && amx) return {amx_chains<true>, 4 * 2.0 * 16 * 16 * 64, kIterations / 20, "amx tdpbusd (int8)"};
    if (precision == Precision::Bf16 && cpu_has(CpuIsa::Avx512CoreBf16))
        return {avx512_bf16_chains, kChains * 2.0 * 32, kIterations, "avx512 vdpbf16ps (bf16)"};
    if (precision == Precision::Int8) {
        if (cpu_has(CpuIsa::Avx512CoreVnni))
            return {avx512_vnni_chains, kChains * 2.0 * 64, kIterations, "avx512 vpdpbusd (int8)"};
        if (cpu_has(CpuIsa::Avx2Vnni))
            return {avx_vnni_chains, kChains * 2.0 * 32, kIterations, "avx-vnni vpdpbusd (int8)"};
        if (cpu_has(CpuIsa::Avx512Core))
            return {avx512_maddubs_chains, kChains * 2.0 * 64, kIterations / 2,
                    "avx512 vpmaddubsw+vpmaddwd+vpaddd (int8)"};
        if (cpu_has(CpuIsa::Avx2))
            return {avx2_maddubs_chains, kChains * 2.0 * 32, kIterations / 2, "avx2 vpmaddubsw+vpmaddwd+vpaddd (int8)"};
    }
    // fp32, and any precision the CPU has nothing better for.
    if (cpu_has(CpuIsa::Avx512Core)) return {avx512_fma_chains, kChains * 2.0 * 16, kIterations, "avx512 vfmadd (fp32)"};
    if (cpu_has(CpuIsa::Avx2)) return {avx2_fma_chains, kChains * 2.0 * 8, kIterations, "avx2 vfmadd (fp32)"};
    return {sse_mul_add_chains, kChains * 2.0 * 4, kIterations / 2, "sse mulps+addps (fp32)"};
}

}  // namespace

CpuPeak measure_cpu_peak(Precision precision, int threads) {
    const Kernel kernel = peak_kernel(precision);
    if (threads <= 0) threads = omp_get_num_procs();
    kernel.chains(kernel.iterations / 10);  // wake the cores up to their working clock
    float sink = 0;
    const auto start = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    sink += kernel.chains(kernel.iterations);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    chains_result = sink;
    return {kernel.name, threads * kernel.iterations * kernel.ops_per_iteration / seconds / 1e9};
}

#else

CpuPeak measure_cpu_peak(Precision, int) { return {"x86-64 multiply-adds only", 0}; }

#endif

}  // namespace zeroclip
