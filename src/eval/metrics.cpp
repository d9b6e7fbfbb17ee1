// Zero-shot scoring of a dataset and CLIP_benchmark's metrics: top-1/top-5 accuracy, mean
// per-class recall (sklearn's balanced accuracy), per-class precision/recall, confusion matrix.
#include <cmath>
#include <limits>

#include "zeroclip/error.h"
#include "zeroclip/eval.h"

namespace zeroclip {

std::vector<ScoredImage> score_images(const Dataset& dataset, const DatasetEmbeddings& embeddings,
                                      const Matrix& class_weights, float logit_scale, int k) {
    return score_images(dataset, embeddings, class_weights, Scoring{ScoreFunction::Softmax, logit_scale, 0.0f}, k);
}

std::vector<ScoredImage> score_images(const Dataset& dataset, const DatasetEmbeddings& embeddings,
                                      const Matrix& class_weights, const Scoring& scoring, int k) {
    if (class_weights.rows != static_cast<int>(dataset.class_names.size()))
        throw Error("class weights have " + std::to_string(class_weights.rows) + " rows for " +
                    std::to_string(dataset.class_names.size()) + " classes");
    const Matrix probs = zero_shot_probabilities(embeddings.embeds, class_weights, scoring);
    std::vector<ScoredImage> scored;
    scored.reserve(embeddings.scored.size());
    for (int r = 0; r < probs.rows; ++r) {
        const Sample& sample = dataset.samples.at(static_cast<size_t>(embeddings.scored.at(r)));
        scored.push_back({sample.id, sample.label, top_k(probs.row(r), probs.cols, k)});
    }
    return scored;
}

Metrics compute_metrics(int num_classes, const std::vector<ScoredImage>& images) {
    if (num_classes < 1) throw Error("metrics need at least one class");
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const int top5 = num_classes < 5 ? 1 : 5;  // CLIP_benchmark's acc5 needs 5 classes; else acc1
    Metrics m;
    m.num_classes = num_classes;
    m.n = static_cast<int64_t>(images.size());
    m.per_class.resize(num_classes);
    m.confusion.assign(static_cast<size_t>(num_classes) * num_classes, 0);
    int64_t hits1 = 0, hits5 = 0;
    for (const auto& image : images) {
        if (image.label < 0 || image.label >= num_classes || image.top.empty() ||
            image.top[0].index < 0 || image.top[0].index >= num_classes)
            throw Error(image.id + ": label or prediction outside the " + std::to_string(num_classes) + " classes");
        const int predicted = image.top[0].index;
        ++m.per_class[image.label].n;
        ++m.per_class[predicted].predicted;
        ++m.confusion[static_cast<size_t>(image.label) * num_classes + predicted];
        hits1 += predicted == image.label;
        for (size_t j = 0; j < image.top.size() && j < static_cast<size_t>(top5); ++j)
            if (image.top[j].index == image.label) {
                ++hits5;
                break;
            }
    }
    double recall_sum = 0.0;
    int present = 0;
    for (int c = 0; c < num_classes; ++c) {
        auto& pc = m.per_class[c];
        const double correct = static_cast<double>(m.confusion[static_cast<size_t>(c) * num_classes + c]);
        pc.recall = pc.n > 0 ? correct / pc.n : nan;
        pc.precision = pc.predicted > 0 ? correct / pc.predicted : nan;
        if (pc.n > 0) recall_sum += pc.recall, ++present;
    }
    m.acc1 = m.n > 0 ? static_cast<double>(hits1) / m.n : nan;
    m.acc5 = m.n > 0 ? static_cast<double>(hits5) / m.n : nan;
    m.mean_per_class_recall = present > 0 ? recall_sum / present : nan;
    return m;
}

}  // namespace zeroclip
