// WebP (lossy or lossless, still images) through libwebp's default decoder; alpha is dropped
// like Pillow's RGBA -> RGB, which leaves the colour channels untouched.
#include <webp/decode.h>

#include "image/decoders.h"
#include "zeroclip/error.h"

namespace zeroclip::image {

RgbImage decode_webp(std::span<const uint8_t> bytes, const std::string& name) {
    WebPBitstreamFeatures features;
    if (WebPGetFeatures(bytes.data(), bytes.size(), &features) != VP8_STATUS_OK) {
        throw Error(name + ": invalid WebP header");
    }
    if (features.has_animation) throw Error(name + ": animated WebP is not supported");
    RgbImage image = allocate_checked(features.width, features.height, name, "WebP");
    const int stride = image.width * 3;
    if (!WebPDecodeRGBInto(bytes.data(), bytes.size(), image.pixels.data(), image.pixels.size(), stride)) {
        throw Error(name + ": invalid or truncated WebP data");
    }
    return image;
}

}  // namespace zeroclip::image
