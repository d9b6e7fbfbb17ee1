// server/thumbnail.h - small previews of indexed images for the web page's search grid.
#pragma once

#include <string>

#include "zeroclip/image.h"

namespace zeroclip::server {

// `image` scaled (Pillow-exact bicubic) so that its longer side is at most `max_side`, as an
// uncompressed 24-bit BMP file: every browser shows it and it needs no encoder library.
std::string thumbnail_bmp(const RgbImage& image, int max_side);

}  // namespace zeroclip::server
