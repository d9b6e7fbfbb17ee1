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
        return {0, cudaGetErrorString(status)};
    }
    if (count == 0) return {0, "no CUDA devices"};
    return {count, ""};
}

}  // namespace zeroclip
