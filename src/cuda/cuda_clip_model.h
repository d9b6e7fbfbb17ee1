// cuda_clip_model.h - the CLIP towers on an NVIDIA GPU, and the choice between CPU and GPU.
//
// Plain C++: included by the library whether or not it was built with CUDA (ZEROCLIP_HAVE_CUDA);
// without CUDA the probe reports why and loading throws.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "zeroclip/model.h"

namespace zeroclip {

// What the CUDA runtime reports: the number of usable GPUs, or why there are none.
struct CudaProbe {
    int device_count = 0;
    std::string error;  // one line; empty when the query succeeded
};

// Never throws, never aborts: no driver, no GPU or a CPU-only build all give device_count 0.
CudaProbe probe_cuda();

bool cuda_device_available();

// Device::Cpu or Device::Cuda for a request, given the probe. Auto falls back to the CPU (also
// for int8, which only the CPU runs); an explicit Cuda request without a GPU throws
// zeroclip::Error saying why.
Device select_device(Device requested, Precision precision, const CudaProbe& probe);

// Both towers on GPU 0: weights uploaded once, activations resident on the device, cuBLASLt
// matmuls with float32 accumulation. Precision::Fp32 keeps TF32 off (parity with the CPU);
// Bf16 stores weights and activations in bf16 with a float32 residual stream.
std::unique_ptr<ClipModel> load_cuda_clip_model(const std::filesystem::path& model_dir,
                                                const ModelOptions& options);

}  // namespace zeroclip
