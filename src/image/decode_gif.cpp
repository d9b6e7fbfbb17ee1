// GIF through giflib: the first frame only, as Pillow loads it before convert("RGB"): a canvas
// the size of the logical screen (grown to hold the frame), filled with the frame's
// transparent index (else index 0), the frame drawn at its offset, then every index expanded
// through the frame's palette (local, else global, else Pillow's grey ramp).
#include <algorithm>
#include <cstring>

#include <gif_lib.h>

#include "image/decoders.h"
#include "zeroclip/error.h"

namespace zeroclip::image {

namespace {

struct GifSource {
    std::span<const uint8_t> bytes;
    size_t position = 0;
};

int gif_read_from_memory(GifFileType* gif, GifByteType* out, int length) {
    auto* source = static_cast<GifSource*>(gif->UserData);
    const size_t n = std::min(static_cast<size_t>(std::max(length, 0)), source->bytes.size() - source->position);
    std::memcpy(out, source->bytes.data() + source->position, n);
    source->position += n;
    return static_cast<int>(n);
}

struct GifCloser {
    GifFileType* gif;
    ~GifCloser() {
        int error = 0;
        DGifCloseFile(gif, &error);
    }
};

// The row of the frame that the n-th stored line fills (GIF interlacing: 4 passes).
int interlaced_row(int n, int height) {
    static constexpr int kStart[4] = {0, 4, 2, 1};
    static constexpr int kStep[4] = {8, 8, 4, 2};
    for (int pass = 0; pass < 4; ++pass) {
        const int rows = kStart[pass] < height ? (height - kStart[pass] + kStep[pass] - 1) / kStep[pass] : 0;
        if (n < rows) return kStart[pass] + n * kStep[pass];
        n -= rows;
    }
    return height;  // unreachable for n < height
}

}  // namespace

RgbImage decode_gif(std::span<const uint8_t> bytes, const std::string& name) {
    GifSource source{bytes};
    int error = 0;
    GifFileType* gif = DGifOpen(&source, gif_read_from_memory, &error);
    if (!gif) throw Error(name + ": invalid GIF: " + GifErrorString(error));
    GifCloser closer{gif};
    auto fail = [&](const char* what) {
        const char* detail = GifErrorString(gif->Error);
        return Error(name + ": invalid GIF: " + what + (detail ? std::string(" (") + detail + ")" : ""));
    };

    // Extensions before the first image: only the graphic control block's transparency matters.
    int transparent = -1;
    for (;;) {
        GifRecordType record;
        if (DGifGetRecordType(gif, &record) == GIF_ERROR) throw fail("bad record");
        if (record == IMAGE_DESC_RECORD_TYPE) break;
        if (record == TERMINATE_RECORD_TYPE) throw Error(name + ": GIF contains no image");
        if (record != EXTENSION_RECORD_TYPE) continue;
        int code = 0;
        GifByteType* block = nullptr;
        if (DGifGetExtension(gif, &code, &block) == GIF_ERROR) throw fail("bad extension");
        if (code == GRAPHICS_EXT_FUNC_CODE && block && block[0] >= 4 && (block[1] & 1)) transparent = block[4];
        while (block) {
            if (DGifGetExtensionNext(gif, &block) == GIF_ERROR) throw fail("bad extension");
        }
    }
    if (DGifGetImageDesc(gif) == GIF_ERROR) throw fail("bad image descriptor");

    const GifImageDesc& frame = gif->Image;
    const int64_t canvas_width = std::max<int64_t>(gif->SWidth, int64_t{frame.Left} + frame.Width);
    const int64_t canvas_height = std::max<int64_t>(gif->SHeight, int64_t{frame.Top} + frame.Height);
    RgbImage image = allocate_checked(canvas_width, canvas_height, name, "GIF");

    Palette palette;
    if (const ColorMapObject* map = frame.ColorMap ? frame.ColorMap : gif->SColorMap) {
        for (int i = 0; i < map->ColorCount && i < 256; ++i) {
            palette.set(i, map->Colors[i].Red, map->Colors[i].Green, map->Colors[i].Blue);
        }
    }
    const uint8_t* background = palette[transparent >= 0 ? transparent : 0];
    for (size_t i = 0; i < image.pixels.size(); i += 3) std::memcpy(&image.pixels[i], background, 3);

    std::vector<GifPixelType> line(static_cast<size_t>(frame.Width));
    const size_t stride = static_cast<size_t>(image.width) * 3;
    for (int n = 0; n < frame.Height && frame.Width > 0; ++n) {
        if (DGifGetLine(gif, line.data(), frame.Width) == GIF_ERROR) throw fail("truncated or corrupt image data");
        const int y = frame.Interlace ? interlaced_row(n, frame.Height) : n;
        uint8_t* out = image.pixels.data() + (frame.Top + y) * stride + static_cast<size_t>(frame.Left) * 3;
        for (int x = 0; x < frame.Width; ++x, out += 3) std::memcpy(out, palette[line[x]], 3);
    }
    return image;
}

}  // namespace zeroclip::image
