// CLIPImageProcessor's pixel steps: shortest-edge resize, centre crop, rescale and normalise.
#include <algorithm>
#include <cstring>

#include "zeroclip/error.h"
#include "zeroclip/preprocess.h"

namespace zeroclip {

namespace {

// Python's floor division, which transformers' centre-crop offsets use.
int floor_div2(int v) { return v >= 0 ? v / 2 : -((-v + 1) / 2); }

// transformers' center_crop: offset (size - crop) // 2 per axis; where the image is smaller than
// the crop it is zero padded, which amounts to reading zeros outside the image.
RgbImage center_crop(const RgbImage& image, int crop_height, int crop_width) {
    const int top = floor_div2(image.height - crop_height);
    const int left = floor_div2(image.width - crop_width);
    RgbImage out{crop_width, crop_height, std::vector<uint8_t>(static_cast<size_t>(crop_width) * crop_height * 3, 0)};
    const int x0 = std::max(0, -left), x1 = std::min(crop_width, image.width - left);
    for (int y = 0; y < crop_height; ++y) {
        const int sy = y + top;
        if (sy < 0 || sy >= image.height || x1 <= x0) continue;
        std::memcpy(&out.pixels[(static_cast<size_t>(y) * crop_width + x0) * 3],
                    &image.pixels[(static_cast<size_t>(sy) * image.width + x0 + left) * 3],
                    static_cast<size_t>(x1 - x0) * 3);
    }
    return out;
}

}  // namespace

RgbImage resize_and_crop(const RgbImage& image, const PreprocessConfig& config) {
    RgbImage out = image;
    if (config.do_resize) {
        int width = config.resize_width, height = config.resize_height;
        if (width <= 0 || height <= 0) {
            // get_resize_output_image_size(default_to_square=False): int(size * long / short).
            const int s = config.shortest_edge;
            const bool portrait = image.width <= image.height;
            const int short_side = portrait ? image.width : image.height;
            const int long_side = portrait ? image.height : image.width;
            if (short_side <= 0) throw Error("resize_and_crop: empty image");
            const double scaled = static_cast<double>(int64_t{s} * long_side) / short_side;
            if (scaled > kMaxImagePixels) throw Error("resize_and_crop: resized image would be too large");
            const int new_long = static_cast<int>(scaled);
            width = portrait ? s : new_long;
            height = portrait ? new_long : s;
        }
        out = resize_bicubic(out, width, height);
    }
    if (config.do_center_crop) out = center_crop(out, config.crop_height, config.crop_width);
    return out;
}

void to_pixel_values(const RgbImage& crop, const PreprocessConfig& config, float* out) {
    // transformers rescales in float64 then casts to float32, and normalises in float32.
    float table[3][256];
    for (int c = 0; c < 3; ++c) {
        for (int v = 0; v < 256; ++v) {
            float x = config.do_rescale ? static_cast<float>(v * config.rescale_factor) : static_cast<float>(v);
            if (config.do_normalize) x = (x - config.mean[c]) / config.std[c];
            table[c][v] = x;
        }
    }
    const size_t plane = static_cast<size_t>(crop.width) * crop.height;
    for (size_t i = 0; i < plane; ++i) {
        for (int c = 0; c < 3; ++c) out[c * plane + i] = table[c][crop.pixels[i * 3 + c]];
    }
}

void write_pixel_values(const RgbImage& image, const PreprocessConfig& config, const std::string& source,
                        float* slot) {
    const RgbImage crop = resize_and_crop(image, config);
    if (crop.width != config.crop_width || crop.height != config.crop_height) {
        std::string why;
        if (!config.do_center_crop)
            why = " (preprocessor_config.json: do_center_crop is false, so the image is not cropped to the model's input)";
        throw Error(source + ": preprocessed to " + std::to_string(crop.width) + "x" + std::to_string(crop.height) +
                    " but the model takes " + std::to_string(config.crop_width) + "x" +
                    std::to_string(config.crop_height) + why);
    }
    to_pixel_values(crop, config, slot);
}

}  // namespace zeroclip
