// Thumbnails as BMP files.
#include "server/thumbnail.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace zeroclip::server {

namespace {

void put_u16(std::string& out, uint32_t v) {
    out += static_cast<char>(v & 0xFF);
    out += static_cast<char>((v >> 8) & 0xFF);
}

void put_u32(std::string& out, uint32_t v) {
    put_u16(out, v & 0xFFFF);
    put_u16(out, v >> 16);
}

}  // namespace

std::string thumbnail_bmp(const RgbImage& image, int max_side) {
    RgbImage small = image;
    const int longest = std::max(image.width, image.height);
    if (longest > max_side) {
        const double scale = static_cast<double>(max_side) / longest;
        const int w = std::max(1, static_cast<int>(std::lround(image.width * scale)));
        const int h = std::max(1, static_cast<int>(std::lround(image.height * scale)));
        small = resize_bicubic(image, w, h);
    }
    const uint32_t row_bytes = (static_cast<uint32_t>(small.width) * 3 + 3) & ~3u;  // rows padded to 4 bytes
    const uint32_t pixel_bytes = row_bytes * static_cast<uint32_t>(small.height);
    std::string out;
    out.reserve(54 + pixel_bytes);
    out += "BM";
    put_u32(out, 54 + pixel_bytes);  // file size
    put_u32(out, 0);                 // reserved
    put_u32(out, 54);                // pixel data offset
    put_u32(out, 40);                // BITMAPINFOHEADER
    put_u32(out, static_cast<uint32_t>(small.width));
    put_u32(out, static_cast<uint32_t>(small.height));  // positive: rows bottom-up
    put_u16(out, 1);                                     // planes
    put_u16(out, 24);                                    // bits per pixel
    put_u32(out, 0);                                     // BI_RGB
    put_u32(out, pixel_bytes);
    put_u32(out, 2835);  // 72 dpi
    put_u32(out, 2835);
    put_u32(out, 0);
    put_u32(out, 0);
    for (int y = small.height - 1; y >= 0; --y) {
        const uint8_t* row = small.pixels.data() + static_cast<size_t>(y) * small.width * 3;
        for (int x = 0; x < small.width; ++x) {
            out += static_cast<char>(row[x * 3 + 2]);  // BMP stores BGR
            out += static_cast<char>(row[x * 3 + 1]);
            out += static_cast<char>(row[x * 3]);
        }
        out.append(row_bytes - static_cast<uint32_t>(small.width) * 3, '\0');
    }
    return out;
}

}  // namespace zeroclip::server
