// PNG through libpng, converted like Pillow's convert("RGB"): alpha and tRNS ignored, palette
// expanded (undefined entries are Pillow's grey ramp), grey bit depths 1/2/4 scaled to 0..255,
// and 16-bit samples scaled with round(v / 257) (Pillow would saturate them instead).
#include <csetjmp>
#include <cstring>

#include <png.h>

#include "image/decoders.h"
#include "zeroclip/error.h"

namespace zeroclip::image {

namespace {

struct PngSource {
    std::span<const uint8_t> bytes;
    size_t position = 0;
    std::string message;
};

void png_read_from_memory(png_structp png, png_bytep out, size_t length) {
    auto* source = static_cast<PngSource*>(png_get_io_ptr(png));
    if (length > source->bytes.size() - source->position) png_error(png, "image file is truncated");
    std::memcpy(out, source->bytes.data() + source->position, length);
    source->position += length;
}

[[noreturn]] void png_fail(png_structp png, png_const_charp message) {
    static_cast<PngSource*>(png_get_error_ptr(png))->message = message;
    png_longjmp(png, 1);
}

void png_ignore_warning(png_structp, png_const_charp) {}

inline uint8_t scale16(const uint8_t* be) { return static_cast<uint8_t>(((be[0] << 8 | be[1]) + 128) / 257); }

// How the samples of one decoded row (after png_set_packing) become RGB.
struct RowLayout {
    int color_type;
    int bit_depth;
    int channels;
    Palette palette;
};

void convert_row(const RowLayout& layout, const uint8_t* in, uint8_t* out, int width) {
    const int bytes_per_sample = layout.bit_depth == 16 ? 2 : 1;
    const int pixel_bytes = layout.channels * bytes_per_sample;
    if (layout.color_type == PNG_COLOR_TYPE_PALETTE) {
        for (int x = 0; x < width; ++x, out += 3) std::memcpy(out, layout.palette[in[x]], 3);
        return;
    }
    if ((layout.color_type & PNG_COLOR_MASK_COLOR) == 0) {
        // L / LA: bit depths below 8 arrive unpacked but unscaled (0..2^d-1).
        const int gain = layout.bit_depth == 1 ? 255 : layout.bit_depth == 2 ? 85 : layout.bit_depth == 4 ? 17 : 1;
        for (int x = 0; x < width; ++x, in += pixel_bytes, out += 3) {
            const uint8_t v = bytes_per_sample == 2 ? scale16(in) : static_cast<uint8_t>(in[0] * gain);
            out[0] = out[1] = out[2] = v;
        }
        return;
    }
    for (int x = 0; x < width; ++x, in += pixel_bytes, out += 3) {
        if (bytes_per_sample == 2) {
            out[0] = scale16(in);
            out[1] = scale16(in + 2);
            out[2] = scale16(in + 4);
        } else {
            std::memcpy(out, in, 3);
        }
    }
}

}  // namespace

RgbImage decode_png(std::span<const uint8_t> bytes, const std::string& name) {
    PngSource source{bytes, 0, {}};
    RgbImage image;
    RowLayout layout{};
    std::vector<uint8_t> rows;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &source, png_fail, png_ignore_warning);
    if (!png) throw Error(name + ": cannot create PNG decoder");
    png_infop info = png_create_info_struct(png);
    // C++ objects above are only destroyed (never read) after a jump back here.
    if (!info || setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
        throw Error(name + ": invalid PNG: " + (source.message.empty() ? "out of memory" : source.message));
    }
    png_set_read_fn(png, &source, png_read_from_memory);
    png_read_info(png, info);

    png_uint_32 width = 0, height = 0;
    int interlace = 0;
    png_get_IHDR(png, info, &width, &height, &layout.bit_depth, &layout.color_type, &interlace, nullptr, nullptr);
    try {
        image = allocate_checked(width, height, name, "PNG");
    } catch (...) {
        png_destroy_read_struct(&png, &info, nullptr);
        throw;
    }
    if (layout.color_type == PNG_COLOR_TYPE_PALETTE) {
        png_colorp entries = nullptr;
        int count = 0;
        png_get_PLTE(png, info, &entries, &count);
        for (int i = 0; i < count && i < 256; ++i) layout.palette.set(i, entries[i].red, entries[i].green, entries[i].blue);
    }
    if (layout.bit_depth < 8) png_set_packing(png);
    const int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    layout.channels = png_get_channels(png, info);
    const size_t row_bytes = png_get_rowbytes(png, info);

    // Interlaced images need every pass's rows kept; others are converted row by row.
    const size_t buffered_rows = passes > 1 ? height : 1;
    rows.resize(row_bytes * buffered_rows);
    const size_t stride = static_cast<size_t>(width) * 3;
    for (int pass = 0; pass < passes; ++pass) {
        for (png_uint_32 y = 0; y < height; ++y) {
            uint8_t* row = rows.data() + (passes > 1 ? y * row_bytes : 0);
            png_read_row(png, row, nullptr);
            if (pass == passes - 1) convert_row(layout, row, image.pixels.data() + y * stride, image.width);
        }
    }
    // Like Pillow, chunks after the image data (up to IEND) are not required.
    png_destroy_read_struct(&png, &info, nullptr);
    return image;
}

}  // namespace zeroclip::image
