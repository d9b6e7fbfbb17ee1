#include "backend/cuda/bf16.h"

#include <cstring>

namespace zeroclip {

uint16_t float_to_bf16(float value) {
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x0040u);  // quiet NaN
    const uint32_t lsb = (bits >> 16) & 1u;
    return static_cast<uint16_t>((bits + 0x7fffu + lsb) >> 16);
}

float bf16_to_float(uint16_t value) {
    const uint32_t bits = uint32_t(value) << 16;
    float result;
    std::memcpy(&result, &bits, sizeof result);
    return result;
}

void floats_to_bf16(const float* src, size_t count, uint16_t* dst) {
    for (size_t i = 0; i < count; ++i) dst[i] = float_to_bf16(src[i]);
}

}  // namespace zeroclip
