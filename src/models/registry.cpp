// The family table. Each family's functions live in its own folder (src/models/<family>/).
#include "models/registry.h"

#include <fstream>

#include <nlohmann/json.hpp>

#include "models/clip/clip_family.h"
#include "models/siglip/siglip_family.h"
#include "zeroclip/error.h"

namespace zeroclip {

const std::vector<ModelFamily>& model_families() {
    static const std::vector<ModelFamily> families = {clip_family(), siglip_family()};
    return families;
}

const ModelFamily& model_family(const std::string& name) {
    for (const ModelFamily& f : model_families())
        if (f.name == name) return f;
    throw Error("unknown model family \"" + name + "\" (zeroclip reads " + family_names() + ")");
}

std::string family_names() {
    std::string names;
    for (const ModelFamily& f : model_families()) names += (names.empty() ? "" : ", ") + f.name;
    return names;
}

const ModelFamily& family_of_config(const nlohmann::json& root, const std::string& file) {
    const auto type = root.find("model_type");
    if (type != root.end() && !type->is_null()) {
        if (!type->is_string()) throw Error(file + ": model_type: expected a string");
        const std::string name = type->get<std::string>();
        for (const ModelFamily& f : model_families())
            for (const std::string& t : f.model_types)
                if (t == name) return f;
        const std::string shown = name.size() > 40 ? name.substr(0, 40) + "..." : name;
        throw Error(file + ": model_type \"" + shown + "\" is not a family zeroclip reads (" + family_names() + ")");
    }
    const auto arch = root.find("architectures");
    if (arch != root.end() && arch->is_array() && !arch->empty() && (*arch)[0].is_string()) {
        const std::string name = (*arch)[0].get<std::string>();
        for (const ModelFamily& f : model_families())
            if (name.rfind(f.architecture_prefix, 0) == 0) return f;
    }
    return model_families().front();  // CLIP: configs from before model_type name neither
}

const ModelFamily& family_of_directory(const std::filesystem::path& model_dir) {
    const std::filesystem::path file = model_dir / "config.json";
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error(file.string() + ": cannot open");
    const nlohmann::json root = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (root.is_discarded() || !root.is_object()) throw Error(file.string() + ": not a JSON object");
    return family_of_config(root, file.string());
}

PreprocessConfig preprocess_config_for_model(const std::filesystem::path& model_dir) {
    const ClipConfig config = ClipConfig::from_file(model_dir / "config.json");
    return model_family(config.family).load_preprocess(model_dir, config.vision.image_size);
}

std::unique_ptr<TextTokenizer> load_tokenizer(const std::filesystem::path& model_dir, const CacheOptions& cache) {
    return family_of_directory(model_dir).load_tokenizer(model_dir, cache);
}

}  // namespace zeroclip
