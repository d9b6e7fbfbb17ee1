// Pillow's palette model: 256 entries that start as a grey ramp, overwritten by the file's colours.
#include "image/decoders.h"

namespace zeroclip::image {

Palette::Palette() {
    for (int i = 0; i < 256; ++i) set(i, static_cast<uint8_t>(i), static_cast<uint8_t>(i), static_cast<uint8_t>(i));
}

void Palette::set(int index, uint8_t r, uint8_t g, uint8_t b) {
    uint8_t* entry = &rgb[static_cast<size_t>(index) * 3];
    entry[0] = r;
    entry[1] = g;
    entry[2] = b;
}

}  // namespace zeroclip::image
