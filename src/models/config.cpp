// ClipConfig parsing: Hugging Face `config.json` with the family's transformers defaults and sanity bounds.
#include "zeroclip/config.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

#include "models/registry.h"
#include "zeroclip/error.h"
#include "util/regular_file.h"
#include "util/json_text.h"

namespace zeroclip {

namespace {

using json = nlohmann::json;

constexpr int64_t kMaxConfigBytes = 16 << 20;

// Reads typed fields of one JSON object; every error names the file and the dotted field path.
class FieldReader {
public:
    FieldReader(const json& object, std::string file, std::string prefix)
        : object_(object), file_(std::move(file)), prefix_(std::move(prefix)) {}

    [[noreturn]] void fail(const std::string& key, const std::string& what) const {
        throw Error(file_ + ": " + prefix_ + key + ": " + what);
    }

    // Integer in [lo, hi]; absent keys keep `value`.
    void read_int(const std::string& key, int& value, int64_t lo, int64_t hi) const {
        const json* field = find(key);
        if (!field) return;
        int64_t v = 0;
        if (field->is_number_integer()) {
            v = field->is_number_unsigned() && field->get<uint64_t>() > uint64_t(INT64_MAX)
                    ? INT64_MAX
                    : field->get<int64_t>();
        } else if (field->is_number_float() && std::isfinite(field->get<double>()) &&
                   std::floor(field->get<double>()) == field->get<double>() &&
                   std::fabs(field->get<double>()) < 1e15) {
            v = static_cast<int64_t>(field->get<double>());  // e.g. 512.0 written by some tools
        } else {
            fail(key, "expected an integer, got " + describe(*field));
        }
        if (v < lo || v > hi) {
            fail(key, std::to_string(v) + " is out of range [" + std::to_string(lo) + ", " +
                          std::to_string(hi) + "]");
        }
        value = static_cast<int>(v);
    }

    // Finite number in [lo, hi] (lo exclusive when `lo_exclusive`); absent keys keep `value`.
    void read_float(const std::string& key, float& value, double lo, double hi,
                    bool lo_exclusive) const {
        const json* field = find(key);
        if (!field) return;
        if (!field->is_number()) fail(key, "expected a number, got " + describe(*field));
        const double v = field->get<double>();
        if (!std::isfinite(v) || v > hi || v < lo || (lo_exclusive && v == lo)) {
            std::ostringstream msg;
            msg << v << " is out of range " << (lo_exclusive ? "(" : "[") << lo << ", " << hi << "]";
            fail(key, msg.str());
        }
        value = static_cast<float>(v);
    }

    void read_activation(const std::string& key, Activation& value) const {
        const json* field = find(key);
        if (!field) return;
        if (!field->is_string()) fail(key, "expected a string, got " + describe(*field));
        try {
            value = parse_activation(field->get<std::string>());
        } catch (const Error& e) {
            fail(key, e.what());
        }
    }

private:
    const json* find(const std::string& key) const {
        auto it = object_.find(key);
        return it == object_.end() ? nullptr : &*it;
    }

    static std::string describe(const json& field) {
        std::string text = json_text(field);
        if (text.size() > 40) text = text.substr(0, 40) + "...";
        return std::string(field.type_name()) + " " + text;
    }

    const json& object_;
    std::string file_;
    std::string prefix_;
};

constexpr int64_t kMaxWidth = 1 << 16;     // hidden/intermediate/projection sizes
constexpr int64_t kMaxLayers = 1024;
constexpr int64_t kMaxVocab = 1 << 24;
constexpr int64_t kMaxPositions = 1 << 16;
constexpr int64_t kMaxImageSize = 8192;

void check_heads(const std::string& file, const std::string& prefix, int hidden, int heads) {
    if (heads > hidden || hidden % heads != 0) {
        throw Error(file + ": " + prefix + "num_attention_heads: " + std::to_string(heads) +
                    " does not divide hidden_size " + std::to_string(hidden));
    }
}

TextConfig parse_text(const json& object, const std::string& file, const std::string& prefix, TextConfig c) {
    // `c` holds the family's defaults (CLIPTextConfig's: transformers >= 4.31, bos/eos are the
    // CLIP special tokens; SiglipTextConfig's).
    FieldReader r(object, file, prefix);
    r.read_int("vocab_size", c.vocab_size, 1, kMaxVocab);
    r.read_int("hidden_size", c.hidden_size, 1, kMaxWidth);
    r.read_int("intermediate_size", c.intermediate_size, 1, kMaxWidth);
    r.read_int("num_hidden_layers", c.num_hidden_layers, 1, kMaxLayers);
    r.read_int("num_attention_heads", c.num_attention_heads, 1, kMaxWidth);
    r.read_int("max_position_embeddings", c.max_position_embeddings, 1, kMaxPositions);
    r.read_activation("hidden_act", c.hidden_act);
    r.read_float("layer_norm_eps", c.layer_norm_eps, 0.0, 1.0, true);
    r.read_int("bos_token_id", c.bos_token_id, INT32_MIN, INT32_MAX);
    r.read_int("eos_token_id", c.eos_token_id, INT32_MIN, INT32_MAX);
    r.read_int("pad_token_id", c.pad_token_id, INT32_MIN, INT32_MAX);
    check_heads(file, prefix, c.hidden_size, c.num_attention_heads);
    return c;
}

VisionConfig parse_vision(const json& object, const std::string& file, const std::string& prefix,
                          VisionConfig c) {  // `c`: the family's defaults
    FieldReader r(object, file, prefix);
    r.read_int("hidden_size", c.hidden_size, 1, kMaxWidth);
    r.read_int("intermediate_size", c.intermediate_size, 1, kMaxWidth);
    r.read_int("num_hidden_layers", c.num_hidden_layers, 1, kMaxLayers);
    r.read_int("num_attention_heads", c.num_attention_heads, 1, kMaxWidth);
    r.read_int("num_channels", c.num_channels, 3, 3);  // images are RGB
    r.read_int("image_size", c.image_size, 1, kMaxImageSize);
    r.read_int("patch_size", c.patch_size, 1, kMaxImageSize);
    r.read_activation("hidden_act", c.hidden_act);
    r.read_float("layer_norm_eps", c.layer_norm_eps, 0.0, 1.0, true);
    check_heads(file, prefix, c.hidden_size, c.num_attention_heads);
    if (c.image_size % c.patch_size != 0) {
        throw Error(file + ": " + prefix + "patch_size: " + std::to_string(c.patch_size) +
                    " does not divide image_size " + std::to_string(c.image_size));
    }
    const int64_t grid = c.image_size / c.patch_size;
    if (grid * grid + 1 > kMaxPositions) {
        throw Error(file + ": " + prefix + "image_size: " + std::to_string(grid * grid) +
                    " patches is too many");
    }
    return c;
}

// The sub-config object for `key`, preferring the legacy `<key>_dict` as transformers does
// (CLIPConfig overwrites `text_config` with the defaults-filled `text_config_dict`).
// Returns the object (an empty one when absent) and the field prefix used in errors.
std::pair<const json&, std::string> sub_config(const json& root, const std::string& key,
                                               const std::string& file) {
    static const json empty = json::object();
    for (const std::string& name : {key + "_dict", key}) {
        auto it = root.find(name);
        if (it == root.end() || it->is_null()) continue;
        if (!it->is_object()) {
            throw Error(file + ": " + name + ": expected an object, got " +
                        std::string(it->type_name()));
        }
        return {*it, name + "."};
    }
    return {empty, key + "."};
}

}  // namespace

Activation parse_activation(const std::string& name) {
    if (name == "quick_gelu") return Activation::QuickGelu;
    if (name == "gelu") return Activation::Gelu;
    if (name == "gelu_new" || name == "gelu_pytorch_tanh") return Activation::GeluTanh;
    std::string shown = name.size() > 40 ? name.substr(0, 40) + "..." : name;
    throw Error("unsupported activation \"" + shown +
                "\" (expected quick_gelu, gelu, gelu_new or gelu_pytorch_tanh)");
}

ClipConfig ClipConfig::from_json_text(const std::string& json_text, const std::string& name) {
    json root = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
    if (root.is_discarded()) throw Error(name + ": not valid JSON");
    if (!root.is_object()) throw Error(name + ": expected a JSON object at the top level");

    const ModelFamily& family = family_of_config(root, name);
    ClipConfig config = family.default_config();
    config.family = family.name;
    const auto [text, text_prefix] = sub_config(root, "text_config", name);
    const auto [vision, vision_prefix] = sub_config(root, "vision_config", name);
    config.text = parse_text(text, name, text_prefix, config.text);
    config.vision = parse_vision(vision, name, vision_prefix, config.vision);
    FieldReader top(root, name, "");
    if (family.embedding_size_from_text_head) {
        // SiglipTextConfig.projection_size defaults to the text hidden size.
        config.projection_dim = config.text.hidden_size;
        FieldReader(text, name, text_prefix).read_int("projection_size", config.projection_dim, 1, kMaxWidth);
    } else {
        top.read_int("projection_dim", config.projection_dim, 1, kMaxWidth);
    }
    top.read_float("logit_scale_init_value", config.logit_scale_init_value, -100.0, 100.0, false);
    return config;
}

ClipConfig ClipConfig::from_file(const std::filesystem::path& json_path) {
    const std::string name = json_path.string();
    require_regular_file(json_path);
    std::ifstream in(json_path, std::ios::binary);
    if (!in) throw Error(name + ": cannot open");
    std::string text;
    char buffer[65536];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
        text.append(buffer, static_cast<size_t>(in.gcount()));
        if (static_cast<int64_t>(text.size()) > kMaxConfigBytes) throw Error(name + ": file too large");
    }
    if (in.bad()) throw Error(name + ": read error");
    return from_json_text(text, name);
}

}  // namespace zeroclip
