// CPU feature detection and the ISA cap (see cpu_isa.h).
#include "backend/cpu/cpu_isa.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <mutex>
#include <utility>

#include <oneapi/dnnl/dnnl.hpp>

#include "zeroclip/error.h"

namespace zeroclip {

namespace {

constexpr std::pair<const char*, CpuIsa> kIsaNames[] = {
    {"SSE41", CpuIsa::Sse41},
    {"AVX", CpuIsa::Avx},
    {"AVX2", CpuIsa::Avx2},
    {"AVX2_VNNI", CpuIsa::Avx2Vnni},
    {"AVX512_CORE", CpuIsa::Avx512Core},
    {"AVX512_CORE_VNNI", CpuIsa::Avx512CoreVnni},
    {"AVX512_CORE_BF16", CpuIsa::Avx512CoreBf16},
    {"AVX512_CORE_AMX", CpuIsa::Avx512CoreAmx},
    {"ALL", CpuIsa::All},
};

// What the CPU and OS support (GCC's __builtin_cpu_supports checks the OS saves the registers).
bool hardware_has(CpuIsa isa) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    const bool avx512_vnni = avx512 && __builtin_cpu_supports("avx512vnni");
    const bool avx512_bf16 = avx512_vnni && __builtin_cpu_supports("avx512bf16");
    switch (isa) {
    case CpuIsa::Sse41: return __builtin_cpu_supports("sse4.1");
    case CpuIsa::Avx: return __builtin_cpu_supports("avx");
    case CpuIsa::Avx2: return avx2;
    case CpuIsa::Avx2Vnni: return avx2 && __builtin_cpu_supports("avxvnni");
    case CpuIsa::Avx512Core: return avx512;
    case CpuIsa::Avx512CoreVnni: return avx512_vnni;
    case CpuIsa::Avx512CoreBf16: return avx512_bf16;
    case CpuIsa::Avx512CoreAmx:
        return avx512_bf16 && __builtin_cpu_supports("amx-tile") && __builtin_cpu_supports("amx-int8") &&
               __builtin_cpu_supports("amx-bf16");
    case CpuIsa::All: return false;
    }
#else
    (void)isa;
#endif
    return false;
}

CpuIsa parse_cap(const char* variable) {
    const char* value = std::getenv(variable);
    std::string name = value ? value : "";
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::toupper(c); });
    for (const auto& [known, isa] : kIsaNames) {
        if (name == known) return isa;
    }
    std::string names;
    for (const auto& entry : kIsaNames) names += std::string(names.empty() ? "" : ", ") + entry.first;
    throw Error(std::string(variable) + "=" + (value ? value : "") + ": unknown ISA (one of " + names + ")");
}

}  // namespace

CpuIsa cpu_isa_cap() {
    for (const char* variable : {"ZEROCLIP_MAX_CPU_ISA", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"}) {
        const char* value = std::getenv(variable);
        if (value && *value) return parse_cap(variable);
    }
    return CpuIsa::All;
}

bool cpu_has(CpuIsa isa) {
    const auto bits = static_cast<unsigned>(isa), cap = static_cast<unsigned>(cpu_isa_cap());
    return isa != CpuIsa::All && (bits & cap) == bits && hardware_has(isa);
}

CpuIsa kernel_isa() {
    static const CpuIsa isa = cpu_has(CpuIsa::Avx512Core) ? CpuIsa::Avx512Core
                              : cpu_has(CpuIsa::Avx2)     ? CpuIsa::Avx2
                                                          : CpuIsa::Sse41;
    return isa;
}

std::string cpu_isa_name(CpuIsa isa) {
    for (const auto& [name, known] : kIsaNames) {
        if (known == isa) return name;
    }
    return "unknown";
}

void apply_cpu_isa_cap_to_onednn() {
    static std::once_flag once;
    std::call_once(once, [] {
        const CpuIsa cap = cpu_isa_cap();
        // Fails (harmlessly) once oneDNN has dispatched a kernel; ONEDNN_MAX_CPU_ISA set alone is
        // read by oneDNN itself.
        if (cap != CpuIsa::All) dnnl::set_max_cpu_isa(static_cast<dnnl::cpu_isa>(cap));
    });
}

}  // namespace zeroclip
