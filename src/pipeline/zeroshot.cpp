// Zero-shot classification from embeddings.
#include "zeroclip/zeroshot.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "pipeline/class_weight_cache.h"
#include "zeroclip/error.h"

namespace zeroclip {

std::string apply_template(std::string_view templ, std::string_view label) {
    if (templ.find("{}") == std::string_view::npos)
        throw Error("template \"" + std::string(templ) + "\" has no {} placeholder for the label", ErrorKind::InvalidInput);
    std::string out;
    size_t pos = 0;
    for (size_t hit; (hit = templ.find("{}", pos)) != std::string_view::npos; pos = hit + 2) {
        out.append(templ.substr(pos, hit - pos));
        out.append(label);
    }
    out.append(templ.substr(pos));
    return out;
}

void l2_normalize_rows(Matrix& m) {
    for (int r = 0; r < m.rows; ++r) {
        float* row = m.row(r);
        double sum = 0.0;
        for (int c = 0; c < m.cols; ++c) sum += static_cast<double>(row[c]) * row[c];
        if (sum == 0.0) continue;
        const float inv = static_cast<float>(1.0 / std::sqrt(sum));
        for (int c = 0; c < m.cols; ++c) row[c] *= inv;
    }
}

Matrix class_weights(Clip& clip, const std::vector<std::string>& labels,
                     const std::vector<std::string>& templates) {
    if (labels.empty()) throw Error("no class labels given", ErrorKind::InvalidInput);
    if (templates.empty()) throw Error("no prompt templates given", ErrorKind::InvalidInput);
    std::vector<std::string> prompts;
    prompts.reserve(labels.size() * templates.size());
    for (const auto& label : labels)
        for (const auto& templ : templates) prompts.push_back(apply_template(templ, label));
    // Reused from the cache when this model, backend and precision have seen these prompts.
    const std::string key = class_weights_key(clip, prompts, labels.size());
    const CacheOptions* cache = clip.model().cache();
    if (!key.empty() && cache) {
        if (auto cached = load_class_weights(*cache, key, static_cast<int>(labels.size()), clip.config().projection_dim))
            return std::move(*cached);
    }
    Matrix embeds = clip.embed_texts(prompts);
    l2_normalize_rows(embeds);

    const int dim = embeds.cols;
    const int per_label = static_cast<int>(templates.size());
    Matrix weights{static_cast<int>(labels.size()), dim, {}};
    weights.data.assign(labels.size() * static_cast<size_t>(dim), 0.0f);
    for (int l = 0; l < weights.rows; ++l) {
        float* out = weights.row(l);
        for (int t = 0; t < per_label; ++t) {
            const float* e = embeds.row(l * per_label + t);
            for (int c = 0; c < dim; ++c) out[c] += e[c];
        }
        for (int c = 0; c < dim; ++c) out[c] /= static_cast<float>(per_label);
    }
    l2_normalize_rows(weights);
    if (!key.empty() && cache) {
        std::string first = labels.front().substr(0, 40);
        for (char& c : first) c = static_cast<unsigned char>(c) < 0x20 ? '?' : c;
        const std::string description = std::to_string(labels.size()) + " labels (" + first +
                                        (labels.size() > 1 ? ", ..." : "") + ") x " + std::to_string(templates.size()) +
                                        " templates";
        store_class_weights(*cache, key, description, weights);
    }
    return weights;
}

Matrix zero_shot_probabilities(const Matrix& image_embeds, const Matrix& class_weights,
                               float logit_scale) {
    if (image_embeds.cols != class_weights.cols)
        throw Error("embedding sizes differ: images " + std::to_string(image_embeds.cols) +
                    ", classes " + std::to_string(class_weights.cols));
    Matrix probs{image_embeds.rows, class_weights.rows, {}};
    probs.data.resize(static_cast<size_t>(probs.rows) * probs.cols);
    std::vector<double> logits(class_weights.rows);
    for (int i = 0; i < image_embeds.rows; ++i) {
        const float* x = image_embeds.row(i);
        double max_logit = -INFINITY;
        for (int k = 0; k < class_weights.rows; ++k) {
            const float* w = class_weights.row(k);
            double dot = 0.0;
            for (int c = 0; c < image_embeds.cols; ++c) dot += static_cast<double>(x[c]) * w[c];
            logits[k] = logit_scale * dot;
            max_logit = std::max(max_logit, logits[k]);
        }
        double sum = 0.0;
        for (auto& v : logits) sum += (v = std::exp(v - max_logit));
        float* p = probs.row(i);
        for (int k = 0; k < class_weights.rows; ++k) p[k] = static_cast<float>(logits[k] / sum);
    }
    return probs;
}

Matrix zero_shot_probabilities(const Matrix& image_embeds, const Matrix& class_weights,
                               const Scoring& scoring) {
    if (scoring.function == ScoreFunction::Softmax)
        return zero_shot_probabilities(image_embeds, class_weights, scoring.logit_scale);
    if (image_embeds.cols != class_weights.cols)
        throw Error("embedding sizes differ: images " + std::to_string(image_embeds.cols) +
                    ", classes " + std::to_string(class_weights.cols));
    Matrix probs{image_embeds.rows, class_weights.rows, {}};
    probs.data.resize(static_cast<size_t>(probs.rows) * probs.cols);
    for (int i = 0; i < image_embeds.rows; ++i) {
        const float* x = image_embeds.row(i);
        float* p = probs.row(i);
        for (int k = 0; k < class_weights.rows; ++k) {
            const float* w = class_weights.row(k);
            double dot = 0.0;
            for (int c = 0; c < image_embeds.cols; ++c) dot += static_cast<double>(x[c]) * w[c];
            const double logit = double(scoring.logit_scale) * dot + scoring.logit_bias;
            p[k] = static_cast<float>(1.0 / (1.0 + std::exp(-logit)));
        }
    }
    return probs;
}

std::vector<Prediction> top_k(const float* scores, int n, int k) {
    std::vector<int> order(n);
    std::iota(order.begin(), order.end(), 0);
    k = std::clamp(k, 0, n);
    std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int a, int b) {
        return scores[a] != scores[b] ? scores[a] > scores[b] : a < b;
    });
    std::vector<Prediction> out;
    out.reserve(k);
    for (int i = 0; i < k; ++i) out.push_back({order[i], scores[order[i]]});
    return out;
}

}  // namespace zeroclip
