// zeroclip/image.h - decoding images to 8-bit RGB with Pillow's conversion rules, and
// Pillow-exact BICUBIC resampling.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace zeroclip {

// Interleaved 8-bit RGB, row-major, no padding: pixels.size() == width * height * 3.
struct RgbImage {
    int width = 0;
    int height = 0;
    std::vector<uint8_t> pixels;
};

// Largest width*height accepted from a file header (guards against decompression bombs).
inline constexpr int64_t kMaxImagePixels = 178956970;  // Pillow's MAX_IMAGE_PIXELS * 2

// Decodes JPEG, PNG, WebP, BMP or GIF (first frame), detected from the content, not the name.
// Conversion to RGB follows Pillow's Image.convert("RGB"): alpha dropped, palette expanded,
// L/LA replicated, CMYK (incl. Adobe-inverted JPEG) converted like Pillow; 16-bit samples are
// scaled to 8 bits with round(v / 257). No EXIF rotation.
// Throws zeroclip::Error naming `name` for unreadable, truncated, empty or oversized images.
RgbImage decode_image(std::span<const uint8_t> bytes, const std::string& name);
RgbImage read_image(const std::filesystem::path& path);

// Interleaved 8-bit pixels already in memory (e.g. numpy.asarray of a PIL image, HWC) as RGB,
// with Pillow's convert("RGB") rules: 1 channel (L) replicated, 2 (LA) and 4 (RGBA) lose alpha,
// 3 (RGB) copied. pixels.size() must be width * height * channels. Throws zeroclip::Error
// (InvalidInput) naming `name` for another channel count, a size mismatch or empty or oversized
// dimensions.
RgbImage rgb_image_from_pixels(std::span<const uint8_t> pixels, int width, int height, int channels,
                               const std::string& name);

// Resizes with Pillow's Image.resize(size, Image.BICUBIC): separable fixed-point convolution
// with antialiasing on downscale (support scaled by the factor), horizontal pass then vertical,
// uint8 rounding between passes; bit-exact with Pillow.
RgbImage resize_bicubic(const RgbImage& image, int width, int height);

}  // namespace zeroclip
