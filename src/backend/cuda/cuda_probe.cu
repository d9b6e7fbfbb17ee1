// cuda_runtime_probe: asks the (statically linked) CUDA runtime for devices. Without a driver the
// runtime returns an error code rather than failing, so this is safe on CPU-only machines.
#include <cuda_runtime.h>

#include "backend/cuda/cuda_backend.h"

namespace zeroclip {

DeviceProbe cuda_runtime_probe() {
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess) {
        cudaGetLastError();  // clear it, so later runtime calls do not report it again
        return DeviceProbe::none(cudaGetErrorString(status));
    }
    if (count == 0) return DeviceProbe::none("no CUDA devices");
    cudaDeviceProp props{};
    if (cudaGetDeviceProperties(&props, 0) != cudaSuccess) {
        cudaGetLastError();
        return DeviceProbe::none("cannot query CUDA device 0");
    }
    return DeviceProbe::found(count, props.name, props.major * 10 + props.minor);
}

}  // namespace zeroclip
