// Decoded pixels handed over by a caller (numpy arrays, PIL images) turned into RgbImage.
#include <string>

#include "zeroclip/error.h"
#include "zeroclip/image.h"

namespace zeroclip {

RgbImage rgb_image_from_pixels(std::span<const uint8_t> pixels, int width, int height, int channels,
                               const std::string& name) {
    if (channels < 1 || channels > 4)
        throw Error(name + ": " + std::to_string(channels) +
                        " channels; expected 1 (L), 2 (LA), 3 (RGB) or 4 (RGBA)",
                    ErrorKind::InvalidInput);
    if (width <= 0 || height <= 0)
        throw Error(name + ": empty image (" + std::to_string(width) + "x" + std::to_string(height) + ")",
                    ErrorKind::InvalidInput);
    const int64_t count = static_cast<int64_t>(width) * height;
    if (count > kMaxImagePixels)
        throw Error(name + ": " + std::to_string(width) + "x" + std::to_string(height) + " exceeds the limit of " +
                        std::to_string(kMaxImagePixels) + " pixels",
                    ErrorKind::InvalidInput);
    if (pixels.size() != static_cast<size_t>(count) * channels)
        throw Error(name + ": " + std::to_string(pixels.size()) + " bytes for " + std::to_string(width) + "x" +
                        std::to_string(height) + "x" + std::to_string(channels),
                    ErrorKind::InvalidInput);
    RgbImage image{width, height, std::vector<uint8_t>(static_cast<size_t>(count) * 3)};
    uint8_t* out = image.pixels.data();
    const uint8_t* in = pixels.data();
    for (int64_t i = 0; i < count; ++i, out += 3, in += channels) {
        if (channels < 3) {
            out[0] = out[1] = out[2] = in[0];  // L and LA: gray replicated, alpha dropped
        } else {
            out[0] = in[0], out[1] = in[1], out[2] = in[2];  // RGB and RGBA: alpha dropped
        }
    }
    return image;
}

}  // namespace zeroclip
