// image/image_limits.h - decoding under a caller's pixel limit (the server's
// --max-image-pixels), checked from the file header before the pixel buffer is allocated.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "zeroclip/error.h"
#include "zeroclip/image.h"

namespace zeroclip::image {

// An image whose declared dimensions exceed the limit in force.
class ImageTooLarge : public Error {
public:
    explicit ImageTooLarge(const std::string& message) : Error(message, ErrorKind::InvalidInput) {}
};

// decode_image, refusing (ImageTooLarge) any image of more than `max_pixels` pixels
// (at most kMaxImagePixels) before decoding it.
RgbImage decode_image_within(std::span<const uint8_t> bytes, const std::string& name, int64_t max_pixels);

}  // namespace zeroclip::image
