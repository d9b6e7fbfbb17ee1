// The end-to-end pipelines over image files: embedding and zero-shot classification.
#include "zeroclip/pipelines.h"

#include <nlohmann/json.hpp>

#include "zeroclip/error.h"

namespace zeroclip {

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
    if (labels_.empty()) throw Error("no class labels given");
    if (templates_.empty()) throw Error("no prompt templates given");
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

std::string ZeroShotClassifier::to_json(const Classification& result) const {
    nlohmann::json out = {{"image", result.image}, {"predictions", nlohmann::json::array()}};
    for (const auto& p : result.predictions)
        out["predictions"].push_back({{"label", labels_.at(p.index)}, {"score", p.score}});
    // Labels and file names need not be UTF-8: replace invalid bytes instead of throwing.
    return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace zeroclip
