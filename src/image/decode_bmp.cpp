// Windows BMP, read the way Pillow's BmpImagePlugin does: headers of 12 (OS/2), 40, 64, 108 or
// 124 bytes; 1/4/8-bit palette (raw, RLE8, RLE4), 16-bit 5:5:5 or 5:6:5, 24-bit, 32-bit BGRX
// and the bitfield layouts Pillow accepts; rows bottom-up unless the height is negative.
// Alpha is ignored, as convert("RGB") drops it.
#include <cstring>

#include "image/decoders.h"
#include "zeroclip/error.h"

namespace zeroclip::image {

namespace {

uint32_t u16_at(std::span<const uint8_t> b, size_t at) { return b[at] | b[at + 1] << 8; }
uint32_t u32_at(std::span<const uint8_t> b, size_t at) {
    return b[at] | b[at + 1] << 8 | b[at + 2] << 16 | static_cast<uint32_t>(b[at + 3]) << 24;
}

enum Compression : uint32_t { kRaw = 0, kRle8 = 1, kRle4 = 2, kBitfields = 3 };

// Where R, G and B sit in a 16/24/32-bit pixel.
struct DirectLayout {
    int bits;
    bool rgb565 = false;              // 16-bit: 5:6:5 instead of 5:5:5
    int r_byte = 2, g_byte = 1, b_byte = 0;  // 24/32-bit byte offsets
};

DirectLayout bitfield_layout(int bits, uint32_t r, uint32_t g, uint32_t b, uint32_t a, const std::string& name) {
    DirectLayout layout{bits};
    if (bits == 32) {
        const bool bgrx = (r == 0xFF0000 && g == 0xFF00 && b == 0xFF && (a == 0 || a == 0xFF000000)) ||
                          (r == 0 && g == 0 && b == 0 && a == 0);
        const bool xbgr = r == 0xFF000000 && g == 0xFF0000 && b == 0xFF00 && (a == 0 || a == 0xFF);
        const bool rgba = r == 0xFF && g == 0xFF00 && b == 0xFF0000 && a == 0xFF000000;
        if (bgrx) return layout;
        if (xbgr) return {32, false, 3, 2, 1};
        if (rgba) return {32, false, 0, 1, 2};
    } else if (bits == 24) {
        if (r == 0xFF0000 && g == 0xFF00 && b == 0xFF) return layout;
    } else if (bits == 16) {
        if (r == 0xF800 && g == 0x7E0 && b == 0x1F) return {16, true};
        if (r == 0x7C00 && g == 0x3E0 && b == 0x1F) return layout;
    }
    throw Error(name + ": unsupported BMP bitfields layout");
}

void direct_row(const DirectLayout& layout, const uint8_t* in, uint8_t* out, int width) {
    if (layout.bits == 16) {
        // Pillow's BGR;15 / BGR;16 unpackers: v * 255 / max, truncated.
        for (int x = 0; x < width; ++x, in += 2, out += 3) {
            const uint32_t p = in[0] | in[1] << 8;
            if (layout.rgb565) {
                out[0] = static_cast<uint8_t>((p >> 11 & 31) * 255 / 31);
                out[1] = static_cast<uint8_t>((p >> 5 & 63) * 255 / 63);
            } else {
                out[0] = static_cast<uint8_t>((p >> 10 & 31) * 255 / 31);
                out[1] = static_cast<uint8_t>((p >> 5 & 31) * 255 / 31);
            }
            out[2] = static_cast<uint8_t>((p & 31) * 255 / 31);
        }
        return;
    }
    const int step = layout.bits / 8;
    for (int x = 0; x < width; ++x, in += step, out += 3) {
        out[0] = in[layout.r_byte];
        out[1] = in[layout.g_byte];
        out[2] = in[layout.b_byte];
    }
}

// Pillow's BmpRleDecoder: a stream of indices in file row order, short rows zero padded.
std::vector<uint8_t> decode_rle(std::span<const uint8_t> file, size_t at, bool rle4, int width, int height,
                                const std::string& name) {
    const size_t total = static_cast<size_t>(width) * height;
    std::vector<uint8_t> data;
    data.reserve(total);
    size_t x = 0;
    auto available = [&](size_t n) { return at + n <= file.size(); };
    while (data.size() < total && available(2)) {
        const uint8_t count = file[at], value = file[at + 1];
        at += 2;
        if (count) {  // encoded run, clipped to the row
            const size_t n = x + count > static_cast<size_t>(width) ? (x < static_cast<size_t>(width) ? width - x : 0) : count;
            for (size_t i = 0; i < n; ++i) data.push_back(rle4 ? (i % 2 ? value & 15 : value >> 4) : value);
            x += n;
        } else if (value == 0) {  // end of line
            while (data.size() % width) data.push_back(0);
            x = 0;
        } else if (value == 1) {  // end of bitmap
            break;
        } else if (value == 2) {  // delta
            if (!available(2)) break;
            data.resize(data.size() + file[at] + static_cast<size_t>(file[at + 1]) * width, 0);
            at += 2;
            x = data.size() % width;
        } else {  // absolute run; RLE4 reads value / 2 bytes, as Pillow does
            const size_t byte_count = rle4 ? value / 2 : value;
            const size_t n = available(byte_count) ? byte_count : file.size() - at;
            for (size_t i = 0; i < n; ++i) {
                if (rle4) {
                    data.push_back(file[at + i] >> 4);
                    data.push_back(file[at + i] & 15);
                } else {
                    data.push_back(file[at + i]);
                }
            }
            at += n;
            if (n < byte_count) break;
            x += value;
            if (at % 2) ++at;  // runs are word aligned in the file
        }
        if (data.size() > total) data.resize(total);  // a delta may overshoot
    }
    if (data.size() < total) throw Error(name + ": truncated BMP RLE data");
    return data;
}

}  // namespace

RgbImage decode_bmp(std::span<const uint8_t> file, const std::string& name) {
    if (file.size() < 18) throw Error(name + ": truncated BMP header");
    const uint32_t data_offset = u32_at(file, 10);
    const uint32_t header_size = u32_at(file, 14);
    if (header_size != 12 && header_size != 40 && header_size != 64 && header_size != 108 && header_size != 124) {
        throw Error(name + ": unsupported BMP header size " + std::to_string(header_size));
    }
    if (file.size() < 14 + header_size) throw Error(name + ": truncated BMP header");

    int64_t width, height;
    int bits;
    uint32_t compression = kRaw, colors = 0;
    bool top_down = false;
    size_t palette_at = 14 + header_size, palette_entry = 4;
    uint32_t masks[4] = {0, 0, 0, 0};
    if (header_size == 12) {
        width = u16_at(file, 18);
        height = u16_at(file, 20);
        bits = static_cast<int>(u16_at(file, 24));
        palette_entry = 3;
    } else {
        width = u32_at(file, 18);
        const uint32_t raw_height = u32_at(file, 22);
        top_down = file[25] == 0xFF;  // Pillow's test for a negative height
        height = top_down ? (int64_t{1} << 32) - raw_height : raw_height;
        bits = static_cast<int>(u16_at(file, 28));
        compression = u32_at(file, 30);
        colors = u32_at(file, 46);
        if (compression == kBitfields) {
            // 40-byte headers keep R, G, B masks right after the header; larger ones inside it.
            const int count = header_size == 40 ? 3 : 4;
            if (file.size() < 54 + 4 * static_cast<size_t>(count)) throw Error(name + ": truncated BMP bitfields");
            for (int i = 0; i < count; ++i) masks[i] = u32_at(file, 54 + 4 * i);
            if (header_size == 40) palette_at += 12;
        }
    }
    if (bits != 1 && bits != 4 && bits != 8 && bits != 16 && bits != 24 && bits != 32) {
        throw Error(name + ": unsupported BMP bit depth " + std::to_string(bits));
    }
    if (colors == 0) colors = bits <= 8 ? 1u << bits : 0;
    size_t offset = data_offset;
    if (offset == 14 + header_size && bits <= 8) offset += 4 * static_cast<size_t>(colors);  // Pillow's fix-up

    DirectLayout direct{bits};
    const bool rle = compression == kRle8 || compression == kRle4;
    if (compression == kBitfields) {
        direct = bitfield_layout(bits, masks[0], masks[1], masks[2], masks[3], name);
    } else if (!rle && compression != kRaw) {
        throw Error(name + ": unsupported BMP compression " + std::to_string(compression));
    }
    if (rle && bits > 8) throw Error(name + ": BMP RLE needs a palette bit depth");

    Palette palette;
    if (bits <= 8) {
        if (colors > 65536) throw Error(name + ": unsupported BMP palette size " + std::to_string(colors));
        for (uint32_t i = 0; i < colors && i < 256; ++i) {
            const size_t at = palette_at + i * palette_entry;
            if (at + 3 > file.size()) throw Error(name + ": truncated BMP palette");
            palette.set(static_cast<int>(i), file[at + 2], file[at + 1], file[at]);
        }
    }

    RgbImage image = allocate_checked(width, height, name, "BMP");
    const size_t out_stride = static_cast<size_t>(image.width) * 3;
    auto out_row = [&](int64_t file_row) {
        return image.pixels.data() + (top_down ? file_row : image.height - 1 - file_row) * out_stride;
    };

    if (rle) {
        if (offset > file.size()) throw Error(name + ": truncated BMP pixel data");
        const std::vector<uint8_t> indices =
            decode_rle(file, offset, compression == kRle4, image.width, image.height, name);
        for (int y = 0; y < image.height; ++y) {
            uint8_t* out = out_row(y);
            const uint8_t* in = indices.data() + static_cast<size_t>(y) * image.width;
            for (int x = 0; x < image.width; ++x) std::memcpy(out + 3 * x, palette[in[x]], 3);
        }
        return image;
    }

    const size_t row_bytes = (static_cast<size_t>(image.width) * bits + 7) / 8;
    const size_t stride = ((static_cast<size_t>(image.width) * bits + 31) >> 3) & ~size_t{3};
    // The last row needs no padding, as with Pillow's raw decoder.
    if (offset > file.size() || file.size() - offset < row_bytes ||
        (file.size() - offset - row_bytes) / stride + 1 < static_cast<size_t>(image.height)) {
        throw Error(name + ": truncated BMP pixel data");
    }
    for (int y = 0; y < image.height; ++y) {
        const uint8_t* in = file.data() + offset + static_cast<size_t>(y) * stride;
        uint8_t* out = out_row(y);
        if (bits > 8) {
            direct_row(direct, in, out, image.width);
            continue;
        }
        const int per_byte = 8 / bits, mask = (1 << bits) - 1;
        for (int x = 0; x < image.width; ++x) {
            const int shift = 8 - bits * (x % per_byte + 1);
            std::memcpy(out + 3 * x, palette[in[x / per_byte] >> shift & mask], 3);
        }
    }
    return image;
}

}  // namespace zeroclip::image
