// zeroclip/zeroshot.h - zero-shot classification from CLIP embeddings: prompt templates,
// class weights, the family's scores (softmax or sigmoid of the scaled cosine) and top-k.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "zeroclip/clip.h"
#include "zeroclip/model.h"

namespace zeroclip {

inline constexpr const char* kDefaultTemplate = "a photo of a {}.";

// Replaces every "{}" in `templ` with `label`; a template without "{}" is an error.
std::string apply_template(std::string_view templ, std::string_view label);

// Scales each row to unit L2 norm (rows of zeros stay zero).
void l2_normalize_rows(Matrix& m);

// One unit-norm weight row per label: the mean of the L2-normalised text embeddings of the
// label under each template, renormalised (CLIP's prompt ensembling).
Matrix class_weights(Clip& clip, const std::vector<std::string>& labels,
                     const std::vector<std::string>& templates);

// Row-wise softmax(logit_scale * image_embeds · class_weights^T); image rows must be unit norm.
Matrix zero_shot_probabilities(const Matrix& image_embeds, const Matrix& class_weights,
                               float logit_scale);

// The family's scores: the softmax above, or sigmoid(logit_scale * cos + logit_bias) per label.
Matrix zero_shot_probabilities(const Matrix& image_embeds, const Matrix& class_weights,
                               const Scoring& scoring);

struct Prediction {
    int index = 0;
    float score = 0.0f;
};

// The k highest scores, best first (ties broken by lower index).
std::vector<Prediction> top_k(const float* scores, int n, int k);

}  // namespace zeroclip
