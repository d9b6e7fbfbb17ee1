// image/decoders.h - one decoder per container format, each returning Pillow's convert("RGB").
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "zeroclip/image.h"

namespace zeroclip::image {

// Each takes the whole file in memory; `name` is the file named in error messages.
RgbImage decode_jpeg(std::span<const uint8_t> bytes, const std::string& name);
RgbImage decode_png(std::span<const uint8_t> bytes, const std::string& name);
RgbImage decode_webp(std::span<const uint8_t> bytes, const std::string& name);
RgbImage decode_gif(std::span<const uint8_t> bytes, const std::string& name);
RgbImage decode_bmp(std::span<const uint8_t> bytes, const std::string& name);

// Throws unless 0 < width, 0 < height and width * height <= kMaxImagePixels; returns an image
// of that size with its pixel buffer allocated.
RgbImage allocate_checked(int64_t width, int64_t height, const std::string& name, const char* format);

// A 256-entry RGB palette as Pillow holds one: entries the file does not define keep Pillow's
// grey ramp (i, i, i), so out-of-range indices expand exactly like Pillow's P -> RGB.
struct Palette {
    std::array<uint8_t, 256 * 3> rgb;
    Palette();
    void set(int index, uint8_t r, uint8_t g, uint8_t b);
    const uint8_t* operator[](int index) const { return &rgb[static_cast<size_t>(index) * 3]; }
};

}  // namespace zeroclip::image
