// zeroclip/preprocess.h - CLIPImageProcessor (slow, Pillow based) as a function.
#pragma once

#include <array>
#include <filesystem>
#include <string>

#include "zeroclip/image.h"

namespace zeroclip {

struct PreprocessConfig {
    bool do_convert_rgb = true;
    bool do_resize = true;
    int shortest_edge = 224;   // `size` (int or {"shortest_edge": n})
    int resize_height = 0;     // `size` as {"height", "width"}: resize to exactly that size
    int resize_width = 0;      //   (0 when `size` is a shortest edge)
    bool do_center_crop = true;
    // The size of pixel_values, which the vision tower takes: `crop_size` (int or {"height",
    // "width"}); without a centre crop, the resize's size (a shortest edge s gives s x s, the
    // only size such a resize can give that the tower accepts).
    int crop_height = 224;
    int crop_width = 224;
    bool do_rescale = true;
    double rescale_factor = 1.0 / 255.0;
    bool do_normalize = true;
    std::array<float, 3> mean{0.48145466f, 0.4578275f, 0.40821073f};
    std::array<float, 3> std{0.26862954f, 0.26130258f, 0.27577711f};
    int resample = 3;  // PIL.Image.BICUBIC; the only one supported

    // Reads `preprocessor_config.json`; absent keys keep `defaults` (CLIPImageProcessor's unless
    // a family passes its own processor's).
    static PreprocessConfig from_file(const std::filesystem::path& json_path);
    static PreprocessConfig from_file(const std::filesystem::path& json_path, const PreprocessConfig& defaults);
    // The same from the file's text; `file` names it in errors.
    static PreprocessConfig from_json_text(const std::string& text, const std::string& file);
    static PreprocessConfig from_json_text(const std::string& text, const std::string& file,
                                           const PreprocessConfig& defaults);
    // From a model directory; falls back to defaults sized by `image_size` when the file is absent.
    static PreprocessConfig from_directory(const std::filesystem::path& model_dir, int image_size);
};

// The image processor of a model directory's family (config.json's model_type):
// CLIPImageProcessor's or SiglipImageProcessor's settings, sized by the vision tower's image_size
// when preprocessor_config.json is absent. Throws zeroclip::Error naming the file.
PreprocessConfig preprocess_config_for_model(const std::filesystem::path& model_dir);

// Resize of the shortest side to `shortest_edge` (long side truncated: int(s * long / short)),
// or to exactly resize_width x resize_height when set, then a centre crop with offset
// ((h - ch) // 2, (w - cw) // 2), zero padded when smaller (both steps per their do_* flags).
RgbImage resize_and_crop(const RgbImage& image, const PreprocessConfig& config);

// The uint8 crop as float32 planar CHW: (x * rescale_factor - mean) / std.
// `out` must hold 3 * crop.height * crop.width floats.
void to_pixel_values(const RgbImage& crop, const PreprocessConfig& config, float* out);

// resize_and_crop then to_pixel_values into a batch slot of 3 * crop_height * crop_width floats.
// Throws, naming `source`, when the result has another size (an image that a config without a
// centre crop resizes to a non-square size): the slot is never overrun.
void write_pixel_values(const RgbImage& image, const PreprocessConfig& config, const std::string& source,
                        float* slot);

}  // namespace zeroclip
