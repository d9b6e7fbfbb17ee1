// The entry point of libzeroclip-cuda.so (backend_module.h): the only symbol the module exports.
// Not part of zeroclip_cuda_host (cmake/cuda.cmake).
#include "backend/backend_module.h"
#include "backend/cuda/cuda_backend.h"

extern "C" __attribute__((visibility("default"))) const zeroclip::BackendModule* zeroclip_backend_module() {
    static const zeroclip::BackendModule module{zeroclip::kBackendModuleRevision, ZEROCLIP_VERSION,
                                                zeroclip::cuda_backend_factory};
    return &module;
}
