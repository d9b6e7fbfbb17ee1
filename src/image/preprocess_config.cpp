// preprocessor_config.json -> PreprocessConfig, with CLIPImageProcessor's defaults for absent keys.
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "zeroclip/error.h"
#include "zeroclip/preprocess.h"
#include "util/regular_file.h"

namespace zeroclip {

namespace {

using nlohmann::json;

// Sizes beyond this are not plausible model inputs; rejecting them bounds every allocation.
constexpr int kMaxSide = 16384;

class ConfigReader {
public:
    ConfigReader(const json& root, std::string file) : root_(root), file_(std::move(file)) {}

    const json* find(const char* key) const {
        auto it = root_.find(key);
        return it == root_.end() || it->is_null() ? nullptr : &*it;
    }

    [[noreturn]] void fail(const std::string& key, const std::string& problem) const {
        throw Error(file_ + ": '" + key + "' " + problem);
    }

    bool flag(const char* key, bool fallback) const {
        const json* v = find(key);
        if (!v) return fallback;
        if (!v->is_boolean()) fail(key, "must be true or false");
        return v->get<bool>();
    }

    int side(const json& v, const std::string& key) const {
        if (!v.is_number_integer() || v.get<int64_t>() <= 0 || v.get<int64_t>() > kMaxSide) {
            fail(key, "must be an integer in 1.." + std::to_string(kMaxSide));
        }
        return v.get<int>();
    }

    double number(const json& v, const std::string& key) const {
        if (!v.is_number()) fail(key, "must be a number");
        return v.get<double>();
    }

    // image_mean / image_std: three numbers, or one for every channel.
    void channels(const char* key, std::array<float, 3>& out) const {
        const json* v = find(key);
        if (!v) return;
        if (v->is_number()) {
            out.fill(static_cast<float>(number(*v, key)));
            return;
        }
        if (!v->is_array() || v->size() != 3) fail(key, "must be a number or a list of 3 numbers");
        for (int c = 0; c < 3; ++c) out[c] = static_cast<float>(number((*v)[c], key));
    }

private:
    const json& root_;
    std::string file_;
};

}  // namespace

PreprocessConfig PreprocessConfig::from_file(const std::filesystem::path& json_path) {
    return from_file(json_path, PreprocessConfig{});
}

PreprocessConfig PreprocessConfig::from_file(const std::filesystem::path& json_path, const PreprocessConfig& defaults) {
    const std::string file = json_path.string();
    require_regular_file(json_path);
    std::error_code ec;
    if (std::filesystem::file_size(json_path, ec) > (size_t{16} << 20) && !ec)
        throw Error(file + ": larger than 16 MiB: not a preprocessor config");
    std::ifstream in(json_path, std::ios::binary);
    if (!in) throw Error(file + ": cannot open preprocessor config");
    const std::string text{std::istreambuf_iterator<char>(in), {}};
    if (in.bad()) throw Error(file + ": read error");
    return from_json_text(text, file, defaults);
}

PreprocessConfig PreprocessConfig::from_json_text(const std::string& text, const std::string& file) {
    return from_json_text(text, file, PreprocessConfig{});
}

PreprocessConfig PreprocessConfig::from_json_text(const std::string& text, const std::string& file,
                                                  const PreprocessConfig& defaults) {
    json root;
    try {
        root = json::parse(text);
    } catch (const json::exception& e) {
        throw Error(file + ": invalid JSON: " + e.what());
    }
    if (!root.is_object()) throw Error(file + ": preprocessor config must be a JSON object");
    const ConfigReader r(root, file);

    PreprocessConfig config = defaults;
    config.do_convert_rgb = r.flag("do_convert_rgb", config.do_convert_rgb);
    config.do_resize = r.flag("do_resize", config.do_resize);
    config.do_center_crop = r.flag("do_center_crop", config.do_center_crop);
    config.do_rescale = r.flag("do_rescale", config.do_rescale);
    config.do_normalize = r.flag("do_normalize", config.do_normalize);

    // transformers' get_size_dict: an int size means the shortest edge, an int crop a square.
    if (const json* size = r.find("size")) {
        if (size->is_object() && size->contains("shortest_edge")) {
            config.shortest_edge = r.side((*size)["shortest_edge"], "size.shortest_edge");
        } else if (size->is_object() && size->contains("height") && size->contains("width")) {
            config.resize_height = r.side((*size)["height"], "size.height");
            config.resize_width = r.side((*size)["width"], "size.width");
        } else if (size->is_number_integer()) {
            config.shortest_edge = r.side(*size, "size");
        } else {
            r.fail("size", "must be an integer, {\"shortest_edge\": n} or {\"height\": h, \"width\": w}");
        }
    }
    if (const json* crop = r.find("crop_size")) {
        if (crop->is_object() && crop->contains("height") && crop->contains("width")) {
            config.crop_height = r.side((*crop)["height"], "crop_size.height");
            config.crop_width = r.side((*crop)["width"], "crop_size.width");
        } else if (crop->is_number_integer()) {
            config.crop_height = config.crop_width = r.side(*crop, "crop_size");
        } else {
            r.fail("crop_size", "must be an integer or {\"height\": h, \"width\": w}");
        }
    }
    // Without a centre crop the resize alone decides the size of pixel_values (transformers
    // ignores crop_size then).
    if (!config.do_center_crop && config.do_resize) {
        const bool exact = config.resize_height > 0;
        config.crop_height = exact ? config.resize_height : config.shortest_edge;
        config.crop_width = exact ? config.resize_width : config.shortest_edge;
    }
    if (const json* factor = r.find("rescale_factor")) config.rescale_factor = r.number(*factor, "rescale_factor");
    r.channels("image_mean", config.mean);
    r.channels("image_std", config.std);
    for (int c = 0; c < 3; ++c) {
        if (config.std[c] == 0.0f) r.fail("image_std", "must not contain 0");
    }
    if (const json* resample = r.find("resample")) {
        if (!resample->is_number_integer() || resample->get<int64_t>() != 3) {
            r.fail("resample", "is " + resample->dump() + ": only 3 (PIL BICUBIC) is supported");
        }
    }
    return config;
}

PreprocessConfig PreprocessConfig::from_directory(const std::filesystem::path& model_dir, int image_size) {
    const std::filesystem::path file = model_dir / "preprocessor_config.json";
    if (std::filesystem::exists(file)) return from_file(file);
    if (image_size <= 0 || image_size > kMaxSide) {
        throw Error(model_dir.string() + ": invalid image_size " + std::to_string(image_size));
    }
    PreprocessConfig config;
    config.shortest_edge = config.crop_height = config.crop_width = image_size;
    return config;
}

}  // namespace zeroclip
