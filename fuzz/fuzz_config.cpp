// libFuzzer target: config.json parsing (ClipConfig::from_json_text) of arbitrary text.
#include <cstddef>
#include <cstdint>
#include <string>

#include "zeroclip/config.h"
#include "zeroclip/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        const zeroclip::ClipConfig config =
            zeroclip::ClipConfig::from_json_text(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
        // Accepted configs must satisfy the invariants the model relies on.
        if (config.text.hidden_size % config.text.num_attention_heads != 0 ||
            config.vision.image_size % config.vision.patch_size != 0 || config.projection_dim <= 0) {
            __builtin_trap();
        }
    } catch (const zeroclip::Error&) {
    }
    return 0;
}
