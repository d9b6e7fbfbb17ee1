// zeroclip/clip.h - a CLIP model directory opened as a whole: tokenizer, image preprocessing
// and the two towers, with text and image inputs in their natural form.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "zeroclip/image.h"
#include "zeroclip/model.h"
#include "zeroclip/preprocess.h"
#include "zeroclip/tokenizer.h"

namespace zeroclip {

class Clip {
public:
    // Opens a Hugging Face CLIP directory (config.json, model.safetensors, vocab.json,
    // merges.txt, preprocessor_config.json). Throws zeroclip::Error naming the culprit.
    static Clip open(const std::filesystem::path& model_dir, const ModelOptions& options = {});

    const ClipConfig& config() const { return model_->config(); }
    const Tokenizer& tokenizer() const { return tokenizer_; }
    const PreprocessConfig& preprocess_config() const { return preprocess_; }
    ClipModel& model() { return *model_; }
    float logit_scale() const { return model_->logit_scale(); }

    // Token ids with start/end tokens, truncated to the text tower's context length.
    std::vector<int32_t> tokenize(const std::string& text) const;

    // get_text_features for each text, in batches of `batch_size`: [texts.size(), projection_dim].
    // Within a batch the model groups texts of similar length, so large batches waste less on
    // padding (4096 texts of token ids are a few MB).
    Matrix embed_texts(const std::vector<std::string>& texts, int batch_size = 4096);

    // CLIPImageProcessor output for one image: float32 [3, crop_height, crop_width].
    std::vector<float> pixel_values(const RgbImage& image) const;

    // get_image_features for already decoded images: [images.size(), projection_dim].
    Matrix embed_images(const std::vector<RgbImage>& images);

private:
    Clip(Tokenizer tokenizer, PreprocessConfig preprocess, std::unique_ptr<ClipModel> model);

    Tokenizer tokenizer_;
    PreprocessConfig preprocess_;
    std::unique_ptr<ClipModel> model_;
};

}  // namespace zeroclip
