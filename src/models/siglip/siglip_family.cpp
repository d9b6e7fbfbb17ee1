// The SigLIP family: SentencePiece tokenizer, SiglipImageProcessor, sigmoid scores, SiglipModel's towers.
#include "models/siglip/siglip_family.h"

#include "models/encoder.h"
#include "models/siglip/siglip_tokenizer.h"
#include "zeroclip/error.h"

namespace zeroclip {

ClipConfig siglip_default_config() {
    ClipConfig c;
    // SiglipTextConfig
    c.text.vocab_size = 32000;
    c.text.hidden_size = 768;
    c.text.intermediate_size = 3072;
    c.text.num_hidden_layers = 12;
    c.text.num_attention_heads = 12;
    c.text.max_position_embeddings = 64;
    c.text.hidden_act = Activation::GeluTanh;  // gelu_pytorch_tanh
    c.text.layer_norm_eps = 1e-6f;
    c.text.pad_token_id = 1;
    c.text.bos_token_id = 49406;
    c.text.eos_token_id = 49407;
    // SiglipVisionConfig
    c.vision.hidden_size = 768;
    c.vision.intermediate_size = 3072;
    c.vision.num_hidden_layers = 12;
    c.vision.num_attention_heads = 12;
    c.vision.num_channels = 3;
    c.vision.image_size = 224;
    c.vision.patch_size = 16;
    c.vision.hidden_act = Activation::GeluTanh;
    c.vision.layer_norm_eps = 1e-6f;
    c.projection_dim = c.text.hidden_size;  // projection_size defaults to the text hidden size
    return c;
}

PreprocessConfig load_siglip_preprocess(const std::filesystem::path& model_dir, int image_size) {
    PreprocessConfig defaults;
    defaults.do_resize = true;
    defaults.resize_height = defaults.resize_width = image_size;
    defaults.do_center_crop = false;
    defaults.rescale_factor = 1.0 / 255.0;
    defaults.mean = {0.5f, 0.5f, 0.5f};
    defaults.std = {0.5f, 0.5f, 0.5f};
    const std::filesystem::path file = model_dir / "preprocessor_config.json";
    PreprocessConfig config = std::filesystem::exists(file) ? PreprocessConfig::from_file(file, defaults) : defaults;
    if (!config.do_resize || config.resize_height <= 0 || config.resize_width <= 0)
        throw Error(file.string() + ": SiglipImageProcessor needs do_resize with size {\"height\", \"width\"}");
    // SiglipImageProcessor never crops: its output is the resized image.
    config.do_center_crop = false;
    config.crop_height = config.resize_height;
    config.crop_width = config.resize_width;
    return config;
}

ModelFamily siglip_family() {
    ModelFamily f;
    f.name = "siglip";
    f.model_types = {"siglip"};
    f.architecture_prefix = "Siglip";
    f.score_function = ScoreFunction::Sigmoid;
    f.files = {"spiece.model", "preprocessor_config.json"};
    f.optional_files = {"tokenizer_config.json", "special_tokens_map.json"};
    f.embedding_size_from_text_head = true;
    f.default_config = siglip_default_config;
    f.load_preprocess = load_siglip_preprocess;
    // SentencePiece loads its model in milliseconds: no compiled-tokenizer cache.
    f.load_tokenizer = [](const std::filesystem::path& dir, const CacheOptions&) -> std::unique_ptr<TextTokenizer> {
        return SiglipTokenizer::from_file(dir / "spiece.model");
    };
    f.image_flops = [](const ClipConfig& c) {
        const VisionConfig& v = c.vision;
        const int patches = (v.image_size / v.patch_size) * (v.image_size / v.patch_size), h = v.hidden_size;
        const double patch_embedding = 2.0 * patches * v.num_channels * v.patch_size * v.patch_size * h;
        // Pooling head: keys and values of every patch, one query's attention, out_proj, MLP.
        const double head = 2.0 * patches * h * 2 * h + 4.0 * patches * h + 2.0 * h * h +
                            4.0 * h * v.intermediate_size;
        return patch_embedding + encoder_flops(patches, h, v.intermediate_size, v.num_hidden_layers) + head;
    };
    f.text_flops = [](const ClipConfig& c, int) {
        // Every text is padded to max_position_embeddings: that is the work done.
        const TextConfig& t = c.text;
        return encoder_flops(t.max_position_embeddings, t.hidden_size, t.intermediate_size, t.num_hidden_layers) +
               2.0 * t.hidden_size * c.projection_dim;
    };
    f.load_towers = load_siglip_towers;
    return f;
}

}  // namespace zeroclip
