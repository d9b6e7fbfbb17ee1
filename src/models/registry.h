// registry.h - the model families zeroclip reads, and what each one declares: how config.json
// names it, its files, config defaults, tokenizer, image preprocessing, scoring and towers.
// A new family is a folder under src/models/ plus one entry in registry.cpp.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "backend/backend.h"
#include "zeroclip/cache.h"
#include "zeroclip/config.h"
#include "zeroclip/model.h"
#include "zeroclip/preprocess.h"
#include "zeroclip/tokenizer.h"

namespace zeroclip {

struct ModelFamily {
    std::string name;                      // ClipConfig::family
    std::vector<std::string> model_types;  // config.json model_type values of the family
    std::string architecture_prefix;       // architectures[0] prefix, for configs without model_type
    ScoreFunction score_function;
    // Files read besides config.json and the safetensors weights (the hub downloads them).
    std::vector<std::string> files;
    std::vector<std::string> optional_files;  // fetched when present (tokenizer descriptions)
    // The embedding size is the text head's projection_size (text_config), not projection_dim.
    bool embedding_size_from_text_head;

    ClipConfig (*default_config)();  // transformers' defaults for absent config.json fields
    PreprocessConfig (*load_preprocess)(const std::filesystem::path& model_dir, int image_size);
    // `cache`: where a family that caches its compiled tokenizer keeps it (CLIP; SigLIP ignores it).
    std::unique_ptr<TextTokenizer> (*load_tokenizer)(const std::filesystem::path& model_dir,
                                                     const CacheOptions& cache);
    // Floating-point operations of one image / one text of `tokens` ids (benchmarks' GFLOP/s).
    double (*image_flops)(const ClipConfig& config);
    double (*text_flops)(const ClipConfig& config, int tokens);
    // `cache`: the packed-weight cache (zeroclip/cache.h); a family that does not cache ignores it.
    std::unique_ptr<ClipModel> (*load_towers)(const std::filesystem::path& model_dir, ClipConfig config,
                                              std::unique_ptr<Backend> backend, CacheOptions cache);
};

const std::vector<ModelFamily>& model_families();

// Throws zeroclip::Error for a name no family has.
const ModelFamily& model_family(const std::string& name);

// config.json's family: its model_type, else the prefix of architectures[0], else CLIP (old
// configs name neither). An unknown model_type throws zeroclip::Error naming `file`.
const ModelFamily& family_of_config(const nlohmann::json& root, const std::string& file);

// family_of_config of `<model_dir>/config.json`.
const ModelFamily& family_of_directory(const std::filesystem::path& model_dir);

// "clip, siglip", for messages.
std::string family_names();

}  // namespace zeroclip
