// The backend registry, and the one place that picks a backend and the precision it runs.
#include <algorithm>

#include "backend/backend.h"
#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_isa.h"
#include "backend/backend_module.h"
#include "zeroclip/error.h"

namespace zeroclip {

namespace {

// " (capped at AVX2)" when an ISA cap is in force, so that a note does not blame the hardware.
std::string cap_note() {
    const CpuIsa cap = cpu_isa_cap();
    return cap == CpuIsa::All ? "" : " (capped at " + cpu_isa_name(cap) + ")";
}

}  // namespace

const std::vector<BackendFactory>& backend_factories() {
    static const std::vector<BackendFactory> factories = {cpu_backend_factory()};
    return factories;
}

const BackendFactory* find_backend(const std::string& name) {
    for (const BackendFactory& f : backend_factories())
        if (f.name == name) return &f;
#ifdef ZEROCLIP_HAVE_CUDA
    if (name == "cuda") return load_backend_module(name).factory;  // libzeroclip-cuda.so, on first use
#endif
    return nullptr;
}

DeviceProbe probe_cuda() {
#ifdef ZEROCLIP_HAVE_CUDA
    const LoadedBackendModule& cuda = load_backend_module("cuda");
    if (!cuda.factory) return DeviceProbe::unloadable(cuda.error);
    return cuda.factory->probe();
#else
    return DeviceProbe::none("this zeroclip was built without CUDA; reconfigure with -DZEROCLIP_CUDA=ON");
#endif
}

bool cuda_device_available() { return probe_cuda().device_count > 0; }

Device select_device(Device requested, Precision precision, const DeviceProbe& probe) {
    switch (requested) {
    case Device::Cpu: return Device::Cpu;
    case Device::Auto:  // the GPU path has no int8: the CPU has
        return probe.device_count > 0 && precision != Precision::Int8 ? Device::Cuda : Device::Cpu;
    case Device::Cuda:
        if (probe.device_count > 0) return Device::Cuda;
        if (probe.module_missing) throw Error("device cuda: " + probe.error);
        throw Error("device cuda: no usable CUDA GPU (" +
                    (probe.error.empty() ? std::string("no devices") : probe.error) + ")");
    }
    throw Error("device: unknown device");
}

Precision effective_precision(Device device, Precision requested, const DeviceProbe& probe, std::string& note) {
    note.clear();
    if (device == Device::Cuda) {
        if (requested == Precision::Int8) throw Error("device cuda: precision int8 is not supported (fp32, bf16)");
        if (requested == Precision::Bf16 && probe.compute_capability < 80) {
            throw Error("device cuda: bf16 needs compute capability 8.0 or newer; " + probe.device_name + " is " +
                        std::to_string(probe.compute_capability / 10) + "." +
                        std::to_string(probe.compute_capability % 10));
        }
        return requested;
    }
    if (requested == Precision::Bf16 && !cpu_has(CpuIsa::Avx512CoreBf16)) {
        note = "this CPU" + cap_note() + " has neither AVX512-BF16 nor AMX-BF16: running fp32 instead of bf16";
        return Precision::Fp32;
    }
    if (requested == Precision::Int8 && !cpu_has(CpuIsa::Avx2)) {
        note = "this CPU" + cap_note() + " has neither AVX-512 nor AVX2: running fp32 instead of int8";
        return Precision::Fp32;
    }
    return requested;
}

std::unique_ptr<Backend> make_backend(Device device, Precision precision, int threads) {
    if (threads < 0) throw Error("threads must be >= 0, got " + std::to_string(threads));
    const DeviceProbe probe = device == Device::Cpu ? DeviceProbe{} : probe_cuda();
    const Device chosen = device == Device::Cpu ? Device::Cpu : select_device(device, precision, probe);
    BackendSettings settings;
    settings.threads = threads;
    settings.precision = effective_precision(chosen, precision, probe, settings.precision_note);
    const std::string name = chosen == Device::Cuda ? "cuda" : "cpu";
    const BackendFactory* factory = find_backend(name);
    if (!factory) throw Error("device " + name + ": " + probe_cuda().error);
    return factory->create(settings);
}

}  // namespace zeroclip
