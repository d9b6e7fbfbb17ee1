// The CLIP family: BPE tokenizer, CLIPImageProcessor, softmax scores, CLIPModel's towers.
#include "models/clip/clip_family.h"

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
    f.load_tokenizer = [](const std::filesystem::path& dir) -> std::unique_ptr<TextTokenizer> {
        return std::make_unique<Tokenizer>(Tokenizer::from_directory(dir));
    };
    f.load_towers = load_clip_towers;
    return f;
}

}  // namespace zeroclip
