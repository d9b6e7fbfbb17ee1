// zeroclip/pipelines.h - the library's end-to-end pipelines over image files: embedding and
// zero-shot classification (decode -> preprocess -> encode -> score). The command-line program,
// the server and the Python module call these instead of orchestrating the steps themselves.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "zeroclip/clip.h"
#include "zeroclip/image_batches.h"
#include "zeroclip/model.h"
#include "zeroclip/zeroshot.h"

namespace zeroclip {

struct ImageRunOptions {
    int batch_size = 32;  // images per call of the image tower
    int threads = 0;      // decoding workers; 0: all cores
};

using FailureHandler = std::function<void(const ImageFailure&)>;

// Receives each encoded batch: the images that decoded, in input order, and their
// get_image_features rows [paths.size(), projection_dim] (not normalised).
using EmbeddingBatchHandler =
    std::function<void(const std::vector<std::filesystem::path>& paths, Matrix& embeddings)>;

// Decodes, preprocesses and encodes `paths` in batches; the next batch is decoded while the
// current one is encoded. Unreadable images go to `on_failure` and are left out.
void embed_image_files(Clip& clip, const std::vector<std::filesystem::path>& paths,
                       const ImageRunOptions& options, const EmbeddingBatchHandler& on_batch,
                       const FailureHandler& on_failure);

struct ImageEmbeddings {
    std::vector<std::filesystem::path> paths;  // the images that decoded, in input order
    Matrix embeddings;                         // [paths.size(), projection_dim]
};

// All of `paths` at once (the batches concatenated).
ImageEmbeddings embed_image_files(Clip& clip, const std::vector<std::filesystem::path>& paths,
                                  const ImageRunOptions& options, const FailureHandler& on_failure);

// An image for the strict pipelines below: a file to decode, or pixels already decoded.
using ImageInput = std::variant<std::filesystem::path, RgbImage>;

// The pipelines for callers that need one row per input (the Python module): like
// embed_image_files, files are decoded on `options.threads` workers while the previous batch
// is encoded, but the first input that cannot be read throws its Error (naming it, with its
// ErrorKind), and an empty list is an InvalidInput error.
//
// get_image_features of every input, in order: [inputs.size(), projection_dim].
Matrix embed_images(Clip& clip, const std::vector<ImageInput>& inputs, const ImageRunOptions& options);
// CLIPImageProcessor's pixel_values of every input: float32 [inputs.size(), 3, crop_height, crop_width].
std::vector<float> preprocess_images(const PreprocessConfig& config, const std::vector<ImageInput>& inputs,
                                     const ImageRunOptions& options);

struct Classification {
    std::string image;                     // the path or name of the image
    std::vector<Prediction> predictions;   // best first; index into the classifier's labels
};

// Zero-shot classification against a fixed label set: the label prompts are encoded once, when
// the classifier is made; each image then costs one pass of the image tower.
class ZeroShotClassifier {
public:
    // Throws zeroclip::Error for an empty label or template list or a template without {}.
    ZeroShotClassifier(Clip& clip, std::vector<std::string> labels,
                       std::vector<std::string> templates = {kDefaultTemplate});

    const std::vector<std::string>& labels() const { return labels_; }
    const std::vector<std::string>& templates() const { return templates_; }
    const Matrix& class_weights() const { return class_weights_; }

    // The family's scores per row of `image_embeddings` (any norm): [rows, labels]. CLIP:
    // softmax(logit_scale * cosine) over the labels; SigLIP: sigmoid(logit_scale * cosine +
    // logit_bias) for each label on its own (Clip::scoring()).
    Matrix probabilities(Matrix image_embeddings) const;

    // The `top_k` best labels of one decoded image.
    Classification classify(const RgbImage& image, int top_k, std::string name = {});

    // Classifies image files in batches, in input order; `on_result` runs once per image that
    // decoded, `on_failure` once per image that did not.
    void classify_files(const std::vector<std::filesystem::path>& paths, const ImageRunOptions& options,
                        int top_k, const std::function<void(const Classification&)>& on_result,
                        const FailureHandler& on_failure);

    // The `top_k` best labels of every input, in order (strict, like embed_images); `image` is
    // the path of a file and empty for in-memory pixels.
    std::vector<Classification> classify(const std::vector<ImageInput>& inputs, const ImageRunOptions& options,
                                         int top_k);

    // One line of JSON: {"image": ..., "predictions": [{"label": ..., "score": ...}, ...]}.
    std::string to_json(const Classification& result) const;

private:
    Clip& clip_;
    std::vector<std::string> labels_;
    std::vector<std::string> templates_;
    Matrix class_weights_;
};

}  // namespace zeroclip
