// libFuzzer target: decode_image on arbitrary bytes (every format sniffed from the content),
// then a small Pillow-exact resize of whatever decoded. Anything but zeroclip::Error is a bug.
// Seed corpus: tests/fixtures/images/.
#include <cstddef>
#include <cstdint>

#include "zeroclip/error.h"
#include "zeroclip/image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        const zeroclip::RgbImage image = zeroclip::decode_image({data, size}, "fuzz-input");
        if (static_cast<int64_t>(image.width) * image.height <= 512 * 512) {
            zeroclip::resize_bicubic(image, 1 + image.height % 37, 1 + image.width % 29);
        }
    } catch (const zeroclip::Error&) {
    }
    return 0;
}
