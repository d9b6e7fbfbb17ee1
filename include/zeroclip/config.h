// zeroclip/config.h - a dual-encoder architecture (CLIP, SigLIP) as described by a Hugging Face
// `config.json`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace zeroclip {

enum class Activation { QuickGelu, Gelu, GeluTanh };

struct TextConfig {
    int vocab_size = 49408;
    int hidden_size = 512;
    int intermediate_size = 2048;
    int num_hidden_layers = 12;
    int num_attention_heads = 8;
    int max_position_embeddings = 77;
    Activation hidden_act = Activation::QuickGelu;
    float layer_norm_eps = 1e-5f;
    int bos_token_id = 49406;
    int eos_token_id = 49407;
    int pad_token_id = 1;
};

struct VisionConfig {
    int hidden_size = 768;
    int intermediate_size = 3072;
    int num_hidden_layers = 12;
    int num_attention_heads = 12;
    int num_channels = 3;
    int image_size = 224;
    int patch_size = 32;
    Activation hidden_act = Activation::QuickGelu;
    float layer_norm_eps = 1e-5f;
};

struct ClipConfig {
    // The model family, from model_type / architectures: "clip" or "siglip" (src/models/registry.cpp).
    std::string family = "clip";
    TextConfig text;
    VisionConfig vision;
    int projection_dim = 512;  // the embedding size (SigLIP: the text head's projection_size)
    float logit_scale_init_value = 2.6592f;

    // Parses `config.json`: `text_config`/`vision_config` or the legacy `*_config_dict` keys,
    // the family's transformers defaults (CLIPConfig, SiglipConfig) for absent fields. Throws zeroclip::Error naming file and field.
    static ClipConfig from_file(const std::filesystem::path& json_path);
    static ClipConfig from_json_text(const std::string& json_text, const std::string& name);
};

Activation parse_activation(const std::string& name);  // throws on unknown names

}  // namespace zeroclip
