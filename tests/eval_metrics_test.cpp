// Evaluation metrics against hand-computed cases, and zero-shot scoring of a dataset.
#include <gtest/gtest.h>

#include <cmath>

#include "zeroclip/error.h"
#include "zeroclip/eval.h"

using namespace zeroclip;

namespace {

ScoredImage scored(int label, std::vector<int> top) {
    ScoredImage s{"img", label, {}};
    for (int i : top) s.top.push_back({i, 0.0f});
    return s;
}

}  // namespace

TEST(EvalMetrics, HandComputedSixClasses) {
    const std::vector<ScoredImage> images = {
        scored(0, {0, 1, 2, 3, 4}),  // top-1 hit
        scored(0, {1, 0, 2, 3, 4}),  // top-5 hit only
        scored(1, {1, 0, 2, 3, 4}),  // top-1 hit
        scored(2, {0, 1, 3, 4, 5}),  // miss
        scored(2, {2, 0, 1, 3, 4}),  // top-1 hit
        scored(3, {4, 5, 0, 1, 3}),  // top-5 hit at rank 5
    };
    const Metrics m = compute_metrics(6, images);
    EXPECT_EQ(m.n, 6);
    EXPECT_DOUBLE_EQ(m.acc1, 3.0 / 6);
    EXPECT_DOUBLE_EQ(m.acc5, 5.0 / 6);
    // Recall of classes 0..3 (4 and 5 have no images): 1/2, 1, 1/2, 0.
    EXPECT_DOUBLE_EQ(m.mean_per_class_recall, 0.5);
    const double expected_recall[] = {0.5, 1.0, 0.5, 0.0};
    const double expected_precision[] = {0.5, 0.5, 1.0};
    const int64_t expected_n[] = {2, 1, 2, 1, 0, 0};
    const int64_t expected_predicted[] = {2, 2, 1, 0, 1, 0};
    for (int c = 0; c < 6; ++c) {
        EXPECT_EQ(m.per_class[c].n, expected_n[c]) << c;
        EXPECT_EQ(m.per_class[c].predicted, expected_predicted[c]) << c;
    }
    for (int c = 0; c < 4; ++c) EXPECT_DOUBLE_EQ(m.per_class[c].recall, expected_recall[c]) << c;
    for (int c = 0; c < 3; ++c) EXPECT_DOUBLE_EQ(m.per_class[c].precision, expected_precision[c]) << c;
    EXPECT_TRUE(std::isnan(m.per_class[3].precision));  // never predicted
    EXPECT_DOUBLE_EQ(m.per_class[4].precision, 0.0);     // predicted once, wrongly
    EXPECT_TRUE(std::isnan(m.per_class[4].recall));      // no images
    EXPECT_TRUE(std::isnan(m.per_class[5].recall));

    std::vector<int64_t> confusion(36, 0);
    confusion[0 * 6 + 0] = confusion[0 * 6 + 1] = confusion[1 * 6 + 1] = 1;
    confusion[2 * 6 + 0] = confusion[2 * 6 + 2] = confusion[3 * 6 + 4] = 1;
    EXPECT_EQ(m.confusion, confusion);
}

TEST(EvalMetrics, Acc5IsAcc1UnderFiveClasses) {
    const Metrics m = compute_metrics(3, {scored(0, {1, 0, 2}), scored(2, {2, 1, 0})});
    EXPECT_DOUBLE_EQ(m.acc1, 0.5);
    EXPECT_DOUBLE_EQ(m.acc5, 0.5);
    EXPECT_DOUBLE_EQ(m.mean_per_class_recall, 0.5);  // class 0: 0, class 2: 1, class 1 absent
}

TEST(EvalMetrics, EmptyAndInvalidInputs) {
    const Metrics empty = compute_metrics(2, {});
    EXPECT_EQ(empty.n, 0);
    EXPECT_TRUE(std::isnan(empty.acc1));
    EXPECT_THROW(compute_metrics(0, {}), Error);
    EXPECT_THROW(compute_metrics(2, {scored(2, {0, 1})}), Error);
    EXPECT_THROW(compute_metrics(2, {scored(0, {})}), Error);
}

TEST(EvalMetrics, ScoreImagesRanksBySoftmaxOfCosine) {
    Dataset d;
    d.class_names = {"a", "b", "c"};
    d.samples = {{"x", {}, -1, 0}, {"y", {}, -1, 2}, {"z", {}, -1, 1}};
    DatasetEmbeddings e;
    const float s = std::sqrt(0.5f);
    e.embeds = {2, 2, {1.0f, 0.0f, s, s}};
    e.scored = {0, 2};  // sample 1 was skipped
    const Matrix weights{3, 2, {1.0f, 0.0f, 0.0f, 1.0f, -1.0f, 0.0f}};
    const auto out = score_images(d, e, weights, 10.0f, 2);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].id, "x");
    EXPECT_EQ(out[0].label, 0);
    ASSERT_EQ(out[0].top.size(), 2u);
    EXPECT_EQ(out[0].top[0].index, 0);
    EXPECT_EQ(out[0].top[1].index, 1);
    const double sum = std::exp(10.0) + 1.0 + std::exp(-10.0);
    EXPECT_NEAR(out[0].top[0].score, std::exp(10.0) / sum, 1e-6);
    EXPECT_EQ(out[1].id, "z");
    EXPECT_EQ(out[1].label, 1);
    EXPECT_EQ(out[1].top[0].index, 0);  // tie between a and b: lower index first
    EXPECT_THROW(score_images(d, e, Matrix{2, 2, {1, 0, 0, 1}}, 1.0f), Error);
}
