// The CLIP family: BPE tokenizer, CLIPImageProcessor, softmax scores, CLIPModel's towers.
#include "models/clip/clip_family.h"

#include "models/encoder.h"

namespace zeroclip {

ModelFamily clip_family() {
    ModelFamily f;
    f.name = "clip";
    f.model_types = {"clip"};
    f.architecture_prefix = "CLIP";
    f.score_function = ScoreFunction::Softmax;
    f.files = {"vocab.json", "merges.txt", "preprocessor_config.json"};
    f.optional_files = {"tokenizer_config.json", "special_tokens_map.json"};
    f.embedding_size_from_text_head = false;
    f.default_config = [] { return ClipConfig{}; };
    f.load_preprocess = [](const std::filesystem::path& dir, int image_size) {
        return PreprocessConfig::from_directory(dir, image_size);
    };
    f.load_tokenizer = [](const std::filesystem::path& dir, const CacheOptions& cache) -> std::unique_ptr<TextTokenizer> {
        return std::make_unique<Tokenizer>(Tokenizer::from_directory(dir, cache));
    };
    f.image_flops = [](const ClipConfig& c) {
        const VisionConfig& v = c.vision;
        const int patches = (v.image_size / v.patch_size) * (v.image_size / v.patch_size);
        const double patch_embedding = 2.0 * patches * v.num_channels * v.patch_size * v.patch_size * v.hidden_size;
        return patch_embedding + encoder_flops(patches + 1, v.hidden_size, v.intermediate_size, v.num_hidden_layers) +
               2.0 * v.hidden_size * c.projection_dim;
    };
    f.text_flops = [](const ClipConfig& c, int tokens) {
        const TextConfig& t = c.text;
        return encoder_flops(tokens, t.hidden_size, t.intermediate_size, t.num_hidden_layers) +
               2.0 * t.hidden_size * c.projection_dim;
    };
    f.load_towers = load_clip_towers;
    return f;
}

}  // namespace zeroclip
