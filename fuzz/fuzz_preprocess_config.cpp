// libFuzzer target: preprocessor_config.json (PreprocessConfig::from_json_text) of arbitrary
// text, then every accepted config run on a small image into a batch slot of the size the
// config promises: the write that once overflowed the heap (issue 14.1) must throw instead.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "zeroclip/error.h"
#include "zeroclip/preprocess.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    // The first two bytes choose the test image's size (1..32 x 1..32); the rest is the config.
    const int width = 1 + data[0] % 32, height = 1 + data[1] % 32;
    const std::string text(reinterpret_cast<const char*>(data + 2), size - 2);
    zeroclip::PreprocessConfig config;
    try {
        config = zeroclip::PreprocessConfig::from_json_text(text, "fuzz");
    } catch (const zeroclip::Error&) {
        return 0;
    }
    if (config.crop_height <= 0 || config.crop_width <= 0) __builtin_trap();
    // Keep each run small: sizes up to 16384 are valid, but not worth the fuzzer's time.
    const int64_t resized = config.resize_height > 0 ? int64_t{config.resize_height} * config.resize_width
                                                      : int64_t{config.shortest_edge} * config.shortest_edge * 32;
    if (int64_t{config.crop_height} * config.crop_width > 256 * 256 || resized > 512 * 512) return 0;
    zeroclip::RgbImage image{width, height, std::vector<uint8_t>(static_cast<size_t>(width) * height * 3)};
    for (size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = static_cast<uint8_t>(i * 37 + size);
    std::vector<float> slot(3 * static_cast<size_t>(config.crop_height) * config.crop_width);
    try {
        zeroclip::write_pixel_values(image, config, "fuzz image", slot.data());
    } catch (const zeroclip::Error&) {
    }
    return 0;
}
