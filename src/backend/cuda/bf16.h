// bf16.h - float32 <-> bfloat16 on the host, for uploading weights to the GPU.
#pragma once

#include <cstddef>
#include <cstdint>

namespace zeroclip {

// Round to nearest, ties to even (what PyTorch's .to(torch.bfloat16) does); NaN stays NaN.
uint16_t float_to_bf16(float value);
float bf16_to_float(uint16_t value);
void floats_to_bf16(const float* src, size_t count, uint16_t* dst);

}  // namespace zeroclip
