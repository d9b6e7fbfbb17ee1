// What the tests expect this CPU to run, worked out independently of src/backend/cpu/cpu_isa.cpp:
// straight from GCC's CPU detection and the ISA cap in the test's environment, so that the suite
// holds on any x86-64 CPU and under ZEROCLIP_MAX_CPU_ISA / ONEDNN_MAX_CPU_ISA (the capped ctest run).
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <initializer_list>
#include <string>

namespace zeroclip::test {

// The cap's name in upper case ("" when none): zeroclip's variable wins over oneDNN's.
inline std::string isa_cap() {
    for (const char* variable : {"ZEROCLIP_MAX_CPU_ISA", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"}) {
        const char* value = std::getenv(variable);
        if (value && *value) {
            std::string name = value;
            std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::toupper(c); });
            return name;
        }
    }
    return "";
}

inline bool cap_is_one_of(const std::string& cap, std::initializer_list<const char*> allowed) {
    if (cap.empty() || cap == "ALL") return true;
    return std::any_of(allowed.begin(), allowed.end(), [&](const char* name) { return cap == name; });
}

// Each takes the cap (an ONEDNN_MAX_CPU_ISA name), by default the environment's.
inline bool cpu_allows_avx2(const std::string& cap = isa_cap()) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
           cap_is_one_of(cap, {"AVX2", "AVX2_VNNI", "AVX512_CORE", "AVX512_CORE_VNNI", "AVX512_CORE_BF16",
                               "AVX512_CORE_AMX"});
}

inline bool cpu_allows_avx512(const std::string& cap = isa_cap()) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
           cap_is_one_of(cap, {"AVX512_CORE", "AVX512_CORE_VNNI", "AVX512_CORE_BF16", "AVX512_CORE_AMX"});
}

// bf16 runs natively with AVX512-BF16 (or AMX, which comes with it) within the cap.
inline bool cpu_runs_bf16(const std::string& cap = isa_cap()) {
    return cpu_allows_avx512(cap) && __builtin_cpu_supports("avx512bf16") &&
           cap_is_one_of(cap, {"AVX512_CORE_BF16", "AVX512_CORE_AMX"});
}

// int8 runs natively wherever oneDNN has a jitted int8 matmul: AVX-512, or AVX2 (u8 x s8 GEMM).
inline bool cpu_runs_int8(const std::string& cap = isa_cap()) { return cpu_allows_avx2(cap); }

// The precision a run asking for `requested` ("fp32", "bf16", "int8") reports here.
inline std::string expected_precision(const std::string& requested, const std::string& cap = isa_cap()) {
    if (requested == "bf16" && !cpu_runs_bf16(cap)) return "fp32";
    if (requested == "int8" && !cpu_runs_int8(cap)) return "fp32";
    return requested;
}

}  // namespace zeroclip::test
