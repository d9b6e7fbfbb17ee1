// The one place where decoders turn declared dimensions into an allocation.
#include "image/image_limits.h"

#include <algorithm>

#include "image/decoders.h"

namespace zeroclip::image {

namespace {

// The limit of the decode running on this thread: decode_image_within lowers it for one call,
// so that every decoder checks it in allocate_checked without a parameter of its own.
thread_local int64_t t_max_pixels = kMaxImagePixels;

}  // namespace

RgbImage allocate_checked(int64_t width, int64_t height, const std::string& name, const char* format) {
    if (width <= 0 || height <= 0) {
        throw Error(name + ": " + format + " has invalid dimensions " + std::to_string(width) + "x" +
                    std::to_string(height));
    }
    // Both factors are positive and each fits in 32 bits in every format, so this cannot overflow.
    if (width > t_max_pixels || height > t_max_pixels || width * height > t_max_pixels) {
        throw ImageTooLarge(name + ": " + format + " dimensions " + std::to_string(width) + "x" +
                            std::to_string(height) + " exceed the limit of " + std::to_string(t_max_pixels) +
                            " pixels");
    }
    RgbImage image;
    image.width = static_cast<int>(width);
    image.height = static_cast<int>(height);
    image.pixels.resize(static_cast<size_t>(width * height) * 3);
    return image;
}

RgbImage decode_image_within(std::span<const uint8_t> bytes, const std::string& name, int64_t max_pixels) {
    struct Scope {
        int64_t saved = t_max_pixels;
        explicit Scope(int64_t limit) { t_max_pixels = std::clamp<int64_t>(limit, 1, kMaxImagePixels); }
        ~Scope() { t_max_pixels = saved; }
    } scope(max_pixels);
    return decode_image(bytes, name);
}

}  // namespace zeroclip::image
