// Choosing between the CPU and a CUDA GPU; the CPU-only build's answers to the CUDA entry points.
#include "cuda/cuda_clip_model.h"

#include "zeroclip/error.h"

namespace zeroclip {

bool cuda_device_available() { return probe_cuda().device_count > 0; }

Device select_device(Device requested, Precision precision, const CudaProbe& probe) {
    switch (requested) {
    case Device::Cpu: return Device::Cpu;
    case Device::Auto:  // the GPU path has no int8: the CPU has
        return probe.device_count > 0 && precision != Precision::Int8 ? Device::Cuda : Device::Cpu;
    case Device::Cuda:
        if (probe.device_count > 0) return Device::Cuda;
        throw Error("device cuda: no usable CUDA GPU (" +
                    (probe.error.empty() ? std::string("no devices") : probe.error) + ")");
    }
    throw Error("device: unknown device");
}

#ifndef ZEROCLIP_HAVE_CUDA
CudaProbe probe_cuda() {
    return {0, "this zeroclip was built without CUDA; reconfigure with -DZEROCLIP_CUDA=ON"};
}

std::unique_ptr<ClipModel> load_cuda_clip_model(const std::filesystem::path&, const ModelOptions&) {
    throw Error("device cuda: " + probe_cuda().error);
}
#endif

}  // namespace zeroclip
