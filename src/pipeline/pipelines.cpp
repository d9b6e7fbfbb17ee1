// The end-to-end pipelines over image files: embedding and zero-shot classification.
#include "zeroclip/pipelines.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "zeroclip/error.h"

namespace zeroclip {

namespace {

[[noreturn]] void throw_failure(const ImageFailure& failure) { throw Error(failure.message, failure.kind); }

// Hands the pixel values of `inputs` to `on_batch` in input order, at most options.batch_size
// images at a time: each run of consecutive files through for_each_image_batch (decoded on
// worker threads ahead of the consumer), each run of in-memory images preprocessed here.
// Throws at the first input that cannot be read.
void for_each_input_batch(const PreprocessConfig& config, const std::vector<ImageInput>& inputs,
                          const ImageRunOptions& options, const std::function<void(const float*, int)>& on_batch) {
    if (inputs.empty()) throw Error("no images given", ErrorKind::InvalidInput);
    if (options.batch_size < 1) throw Error("batch size must be at least 1", ErrorKind::InvalidInput);
    const size_t per_image = 3 * static_cast<size_t>(config.crop_height) * config.crop_width;
    const auto is_file = [](const ImageInput& input) { return std::holds_alternative<std::filesystem::path>(input); };
    for (size_t begin = 0; begin < inputs.size();) {
        const bool files = is_file(inputs[begin]);
        size_t end = begin + 1;
        while (end < inputs.size() && is_file(inputs[end]) == files) ++end;
        if (files) {
            std::vector<std::filesystem::path> paths;
            for (size_t i = begin; i < end; ++i) paths.push_back(std::get<std::filesystem::path>(inputs[i]));
            for_each_image_batch(
                paths, config, options.batch_size, options.threads,
                [&](ImageBatch& batch) { on_batch(batch.pixel_values.data(), static_cast<int>(batch.paths.size())); },
                throw_failure);
        } else {
            std::vector<float> values;
            for (size_t b = begin; b < end; b += options.batch_size) {
                const size_t n = std::min(end - b, static_cast<size_t>(options.batch_size));
                values.resize(n * per_image);
                for (size_t i = 0; i < n; ++i)
                    to_pixel_values(resize_and_crop(std::get<RgbImage>(inputs[b + i]), config), config,
                                    values.data() + i * per_image);
                on_batch(values.data(), static_cast<int>(n));
            }
        }
        begin = end;
    }
}

}  // namespace

Matrix embed_images(Clip& clip, const std::vector<ImageInput>& inputs, const ImageRunOptions& options) {
    Matrix out{0, clip.config().projection_dim, {}};
    for_each_input_batch(clip.preprocess_config(), inputs, options, [&](const float* pixels, int n) {
        const Matrix part = clip.model().encode_images(pixels, n);
        if (out.data.empty()) out.data.reserve(inputs.size() * static_cast<size_t>(out.cols));
        out.data.insert(out.data.end(), part.data.begin(), part.data.end());
        out.rows += part.rows;
    });
    return out;
}

std::vector<float> preprocess_images(const PreprocessConfig& config, const std::vector<ImageInput>& inputs,
                                     const ImageRunOptions& options) {
    std::vector<float> out;
    out.reserve(inputs.size() * 3 * static_cast<size_t>(config.crop_height) * config.crop_width);
    for_each_input_batch(config, inputs, options,
                         [&](const float* pixels, int n) {
                             out.insert(out.end(), pixels,
                                        pixels + static_cast<size_t>(n) * 3 * config.crop_height * config.crop_width);
                         });
    return out;
}

void embed_image_files(Clip& clip, const std::vector<std::filesystem::path>& paths,
                       const ImageRunOptions& options, const EmbeddingBatchHandler& on_batch,
                       const FailureHandler& on_failure) {
    for_each_image_batch(
        paths, clip.preprocess_config(), options.batch_size, options.threads,
        [&](ImageBatch& batch) {
            Matrix embeddings = clip.model().encode_images(batch.pixel_values.data(),
                                                           static_cast<int>(batch.paths.size()));
            on_batch(batch.paths, embeddings);
        },
        on_failure);
}

ImageEmbeddings embed_image_files(Clip& clip, const std::vector<std::filesystem::path>& paths,
                                  const ImageRunOptions& options, const FailureHandler& on_failure) {
    ImageEmbeddings out;
    out.embeddings.cols = clip.config().projection_dim;
    embed_image_files(
        clip, paths, options,
        [&](const std::vector<std::filesystem::path>& batch_paths, Matrix& part) {
            out.embeddings.data.insert(out.embeddings.data.end(), part.data.begin(), part.data.end());
            out.embeddings.rows += part.rows;
            out.paths.insert(out.paths.end(), batch_paths.begin(), batch_paths.end());
        },
        on_failure);
    return out;
}

ZeroShotClassifier::ZeroShotClassifier(Clip& clip, std::vector<std::string> labels,
                                       std::vector<std::string> templates)
    : clip_(clip), labels_(std::move(labels)), templates_(std::move(templates)) {
    if (labels_.empty()) throw Error("no class labels given", ErrorKind::InvalidInput);
    if (templates_.empty()) throw Error("no prompt templates given", ErrorKind::InvalidInput);
    for (const auto& t : templates_) apply_template(t, "");  // rejects a template without {}
    class_weights_ = zeroclip::class_weights(clip_, labels_, templates_);
}

Matrix ZeroShotClassifier::probabilities(Matrix image_embeddings) const {
    l2_normalize_rows(image_embeddings);
    return zero_shot_probabilities(image_embeddings, class_weights_, clip_.scoring());
}

Classification ZeroShotClassifier::classify(const RgbImage& image, int top_k, std::string name) {
    const Matrix probs = probabilities(clip_.embed_images({image}));
    return {std::move(name), zeroclip::top_k(probs.row(0), probs.cols, top_k)};
}

void ZeroShotClassifier::classify_files(const std::vector<std::filesystem::path>& paths,
                                        const ImageRunOptions& options, int top_k,
                                        const std::function<void(const Classification&)>& on_result,
                                        const FailureHandler& on_failure) {
    embed_image_files(
        clip_, paths, options,
        [&](const std::vector<std::filesystem::path>& batch_paths, Matrix& embeddings) {
            const Matrix probs = probabilities(std::move(embeddings));
            for (int i = 0; i < probs.rows; ++i)
                on_result({batch_paths[i].string(), zeroclip::top_k(probs.row(i), probs.cols, top_k)});
        },
        on_failure);
}

std::vector<Classification> ZeroShotClassifier::classify(const std::vector<ImageInput>& inputs,
                                                         const ImageRunOptions& options, int top_k) {
    if (top_k < 1) throw Error("top_k must be at least 1, got " + std::to_string(top_k), ErrorKind::InvalidInput);
    const Matrix probs = probabilities(embed_images(clip_, inputs, options));
    std::vector<Classification> out;
    out.reserve(inputs.size());
    for (int i = 0; i < probs.rows; ++i) {
        const auto* path = std::get_if<std::filesystem::path>(&inputs[i]);
        out.push_back({path ? path->string() : std::string(), zeroclip::top_k(probs.row(i), probs.cols, top_k)});
    }
    return out;
}

std::string ZeroShotClassifier::to_json(const Classification& result) const {
    nlohmann::json out = {{"image", result.image}, {"predictions", nlohmann::json::array()}};
    for (const auto& p : result.predictions)
        out["predictions"].push_back({{"label", labels_.at(p.index)}, {"score", p.score}});
    // Labels and file names need not be UTF-8: replace invalid bytes instead of throwing.
    return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace zeroclip
