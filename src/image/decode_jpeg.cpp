// JPEG through libjpeg-turbo with Pillow's decoder settings: libjpeg's defaults (ISLOW DCT,
// fancy upsampling, block smoothing), full size (no DCT scaling), 1 component -> L, 3 -> RGB,
// 4 -> CMYK read as Adobe-inverted ("CMYK;I") and converted with Pillow's cmyk2rgb.
#include <csetjmp>
#include <cstdio>
#include <cstring>

#include <jpeglib.h>
#include <jerror.h>

#include "image/decoders.h"
#include "zeroclip/error.h"

namespace zeroclip::image {

namespace {

struct JpegErrorManager {
    jpeg_error_mgr pub;
    std::jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void jpeg_fail(j_common_ptr cinfo) {
    auto* err = reinterpret_cast<JpegErrorManager*>(cinfo->err);
    (*cinfo->err->format_message)(cinfo, err->message);
    std::longjmp(err->jump, 1);
}

// Pillow ignores libjpeg's warnings except running out of data, which it reports as
// "image file is truncated"; the memory source signals that with JWRN_JPEG_EOF.
void jpeg_message(j_common_ptr cinfo, int level) {
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
        auto* err = reinterpret_cast<JpegErrorManager*>(cinfo->err);
        std::snprintf(err->message, sizeof(err->message), "image file is truncated");
        std::longjmp(err->jump, 1);
    }
}

// Pillow's Convert.c cmyk2rgb after the "CMYK;I" unpacker inverted every channel.
inline uint8_t cmyk_channel(uint8_t inverted, int nk) {
    const int t = (255 - inverted) * nk + 128;
    const int v = nk - (((t >> 8) + t) >> 8);
    return static_cast<uint8_t>(v < 0 ? 0 : v);
}

void cmyk_inverted_to_rgb(const uint8_t* in, uint8_t* out, int width) {
    for (int x = 0; x < width; ++x, in += 4, out += 3) {
        const int nk = in[3];  // 255 - (255 - k)
        out[0] = cmyk_channel(in[0], nk);
        out[1] = cmyk_channel(in[1], nk);
        out[2] = cmyk_channel(in[2], nk);
    }
}

}  // namespace

RgbImage decode_jpeg(std::span<const uint8_t> bytes, const std::string& name) {
    jpeg_decompress_struct cinfo;
    JpegErrorManager err;
    RgbImage image;
    std::vector<uint8_t> cmyk_row;
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = jpeg_fail;
    err.pub.emit_message = jpeg_message;
    err.message[0] = '\0';
    // Everything libjpeg can fail in lies between here and jpeg_destroy_decompress; C++ objects
    // above are only destroyed (never read) after a jump back here.
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        throw Error(name + ": invalid JPEG: " + err.message);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, bytes.data(), static_cast<unsigned long>(bytes.size()));
    jpeg_read_header(&cinfo, TRUE);

    const bool cmyk = cinfo.num_components == 4;
    if (cinfo.num_components != 1 && cinfo.num_components != 3 && !cmyk) {
        jpeg_destroy_decompress(&cinfo);
        throw Error(name + ": unsupported JPEG with " + std::to_string(cinfo.num_components) + " components");
    }
    // Grey -> RGB in libjpeg-turbo is plain replication, identical to Pillow's L -> RGB.
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    try {
        image = allocate_checked(cinfo.image_width, cinfo.image_height, name, "JPEG");
    } catch (...) {
        jpeg_destroy_decompress(&cinfo);
        throw;
    }
    if (cmyk) cmyk_row.resize(static_cast<size_t>(image.width) * 4);

    jpeg_start_decompress(&cinfo);
    const size_t stride = static_cast<size_t>(image.width) * 3;
    while (cinfo.output_scanline < cinfo.output_height) {
        uint8_t* dst = image.pixels.data() + cinfo.output_scanline * stride;
        if (cmyk) {
            JSAMPROW row = cmyk_row.data();
            jpeg_read_scanlines(&cinfo, &row, 1);
            cmyk_inverted_to_rgb(cmyk_row.data(), dst, image.width);
        } else {
            JSAMPROW rows[16];
            const JDIMENSION left = cinfo.output_height - cinfo.output_scanline;
            const JDIMENSION count = left < 16 ? left : 16;
            for (JDIMENSION i = 0; i < count; ++i) rows[i] = dst + i * stride;
            jpeg_read_scanlines(&cinfo, rows, count);
        }
    }
    // Like Pillow, data after the last scanline (the EOI marker) is not required.
    jpeg_destroy_decompress(&cinfo);
    return image;
}

}  // namespace zeroclip::image
