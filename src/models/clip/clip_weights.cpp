// Maps Hugging Face CLIPModel tensor names to the towers' weights, validating each one.
#include "models/clip/clip_weights.h"

namespace zeroclip {

ClipWeights ClipWeights::load(const std::filesystem::path& model_dir, const ClipConfig& config) {
    ClipWeights w{WeightLoader(model_dir)};
    WeightLoader& l = w.loader_;
    const TextConfig& tc = config.text;
    const VisionConfig& vc = config.vision;
    const int projection = config.projection_dim;

    w.text.token_embedding = l.get("text_model.embeddings.token_embedding.weight", {tc.vocab_size, tc.hidden_size});
    w.text.position_embedding =
        l.get("text_model.embeddings.position_embedding.weight", {tc.max_position_embeddings, tc.hidden_size});
    w.text.layers = load_encoder_layers(l, "text_model", tc.num_hidden_layers, tc.hidden_size, tc.intermediate_size);
    w.text.final_layer_norm = l.layer_norm("text_model.final_layer_norm", tc.hidden_size);
    w.text.projection = l.linear("text_projection", projection, tc.hidden_size, false);

    const int patch = vc.patch_size;
    const int grid = vc.image_size / patch;
    w.vision.class_embedding = l.get("vision_model.embeddings.class_embedding", {vc.hidden_size});
    w.vision.patch_embedding.weight = l.get("vision_model.embeddings.patch_embedding.weight",
                                            {vc.hidden_size, vc.num_channels, patch, patch});
    w.vision.patch_embedding.out_features = vc.hidden_size;
    w.vision.patch_embedding.in_features = vc.num_channels * patch * patch;
    w.vision.position_embedding =
        l.get("vision_model.embeddings.position_embedding.weight", {grid * grid + 1, vc.hidden_size});
    w.vision.pre_layernorm = l.layer_norm("vision_model.pre_layrnorm", vc.hidden_size);
    w.vision.layers =
        load_encoder_layers(l, "vision_model", vc.num_hidden_layers, vc.hidden_size, vc.intermediate_size);
    w.vision.post_layernorm = l.layer_norm("vision_model.post_layernorm", vc.hidden_size);
    w.vision.projection = l.linear("visual_projection", projection, vc.hidden_size, false);

    w.logit_scale = l.scalar("logit_scale");
    return w;
}

}  // namespace zeroclip
