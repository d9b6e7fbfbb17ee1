// libFuzzer target: safetensors header parsing and validation of arbitrary file contents.
#include <cstddef>
#include <cstdint>

#include "model/safetensors.h"
#include "zeroclip/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        const zeroclip::SafetensorsHeader header = zeroclip::parse_safetensors({data, size}, "fuzz");
        // Whatever is accepted must describe tensors inside the data region.
        for (const auto& [name, info] : header.tensors) {
            if (info.begin > info.end || header.data_start + info.end > size) __builtin_trap();
        }
    } catch (const zeroclip::Error&) {
    }
    return 0;
}
