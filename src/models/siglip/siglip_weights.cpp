// Maps Hugging Face SiglipModel tensor names to the towers' weights, validating each one.
#include "models/siglip/siglip_weights.h"

#include "zeroclip/error.h"

namespace zeroclip {

SiglipWeights SiglipWeights::load(const std::filesystem::path& model_dir, const ClipConfig& config) {
    SiglipWeights w{WeightLoader(model_dir)};
    WeightLoader& l = w.loader_;
    const TextConfig& tc = config.text;
    const VisionConfig& vc = config.vision;

    w.text.token_embedding = l.get("text_model.embeddings.token_embedding.weight", {tc.vocab_size, tc.hidden_size});
    w.text.position_embedding =
        l.get("text_model.embeddings.position_embedding.weight", {tc.max_position_embeddings, tc.hidden_size});
    w.text.layers = load_encoder_layers(l, "text_model", tc.num_hidden_layers, tc.hidden_size, tc.intermediate_size);
    w.text.final_layer_norm = l.layer_norm("text_model.final_layer_norm", tc.hidden_size);
    w.text.head = l.linear("text_model.head", config.projection_dim, tc.hidden_size, true);

    const int hidden = vc.hidden_size, patch = vc.patch_size, grid = vc.image_size / patch;
    w.vision.patch_embedding.weight =
        l.get("vision_model.embeddings.patch_embedding.weight", {hidden, vc.num_channels, patch, patch});
    w.vision.patch_embedding.bias = l.get("vision_model.embeddings.patch_embedding.bias", {hidden});
    w.vision.patch_embedding.out_features = hidden;
    w.vision.patch_embedding.in_features = vc.num_channels * patch * patch;
    w.vision.position_embedding = l.get("vision_model.embeddings.position_embedding.weight", {grid * grid, hidden});
    w.vision.layers = load_encoder_layers(l, "vision_model", vc.num_hidden_layers, hidden, vc.intermediate_size);
    w.vision.post_layernorm = l.layer_norm("vision_model.post_layernorm", hidden);

    SiglipPoolingHeadWeights& head = w.vision.head;
    if (!l.contains("vision_model.head.probe"))
        throw Error(model_dir.string() + ": no vision_model.head.probe: SigLIP without the attention-pooling "
                                         "head (vision_use_head false) is not supported");
    head.probe = l.get("vision_model.head.probe", {1, 1, hidden});
    head.in_proj.weight = l.get("vision_model.head.attention.in_proj_weight", {3 * hidden, hidden});
    head.in_proj.bias = l.get("vision_model.head.attention.in_proj_bias", {3 * hidden});
    head.in_proj.out_features = 3 * hidden;
    head.in_proj.in_features = hidden;
    head.out_proj = l.linear("vision_model.head.attention.out_proj", hidden, hidden, true);
    head.layernorm = l.layer_norm("vision_model.head.layernorm", hidden);
    head.fc1 = l.linear("vision_model.head.mlp.fc1", vc.intermediate_size, hidden, true);
    head.fc2 = l.linear("vision_model.head.mlp.fc2", hidden, vc.intermediate_size, true);

    w.logit_scale = l.scalar("logit_scale");
    w.logit_bias = l.scalar("logit_bias");
    return w;
}

}  // namespace zeroclip
