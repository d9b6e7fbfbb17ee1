// zeroclip/clip.h - a model directory opened as a whole: the family's tokenizer, image
// preprocessing, towers and scoring, with text and image inputs in their natural form. Every
// family (CLIP, SigLIP) goes through this class.
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
    // Opens a Hugging Face model directory: CLIP (config.json, model.safetensors, vocab.json,
    // merges.txt, preprocessor_config.json) or SigLIP (spiece.model instead of the BPE files).
    // Throws zeroclip::Error naming the culprit.
    static Clip open(const std::filesystem::path& model_dir, const ModelOptions& options = {});

    const ClipConfig& config() const { return model_->config(); }
    // Read on first use (thread-safe), so that commands on images alone never load it; a
    // missing or broken vocabulary throws here then, naming the file.
    const TextTokenizer& tokenizer() const;
    const PreprocessConfig& preprocess_config() const { return preprocess_; }
    ClipModel& model() { return *model_; }
    float logit_scale() const { return model_->logit_scale(); }

    // The family's scores for zero-shot classification: softmax (CLIP) or sigmoid with a
    // learned bias (SigLIP: each label scored on its own).
    Scoring scoring() const;

    // Token ids with start/end tokens, truncated to the text tower's context length.
    std::vector<int32_t> tokenize(const std::string& text) const;

    // get_text_features for each text, in batches of `batch_size`: [texts.size(), projection_dim].
    // Within a batch the model groups texts of similar length, so large batches waste less on
    // padding (4096 texts of token ids are a few MB).
    Matrix embed_texts(const std::vector<std::string>& texts, int batch_size = 4096);

    // The image processor's output for one image: float32 [3, output_height, output_width].
    std::vector<float> pixel_values(const RgbImage& image) const;

    // get_image_features for already decoded images: [images.size(), projection_dim].
    Matrix embed_images(const std::vector<RgbImage>& images);

private:
    struct LazyTokenizer;
    Clip(std::shared_ptr<LazyTokenizer> tokenizer, PreprocessConfig preprocess, std::unique_ptr<ClipModel> model);

    std::shared_ptr<LazyTokenizer> tokenizer_;
    PreprocessConfig preprocess_;
    std::unique_ptr<ClipModel> model_;
};

}  // namespace zeroclip
