// The one place where decoders turn declared dimensions into an allocation.
#include "image/decoders.h"
#include "zeroclip/error.h"

namespace zeroclip::image {

RgbImage allocate_checked(int64_t width, int64_t height, const std::string& name, const char* format) {
    if (width <= 0 || height <= 0) {
        throw Error(name + ": " + format + " has invalid dimensions " + std::to_string(width) + "x" +
                    std::to_string(height));
    }
    // Both factors are positive and each fits in 32 bits in every format, so this cannot overflow.
    if (width > kMaxImagePixels || height > kMaxImagePixels || width * height > kMaxImagePixels) {
        throw Error(name + ": " + format + " dimensions " + std::to_string(width) + "x" + std::to_string(height) +
                    " exceed the limit of " + std::to_string(kMaxImagePixels) + " pixels");
    }
    RgbImage image;
    image.width = static_cast<int>(width);
    image.height = static_cast<int>(height);
    image.pixels.resize(static_cast<size_t>(width * height) * 3);
    return image;
}

}  // namespace zeroclip::image
