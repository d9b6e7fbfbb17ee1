// Zero-shot maths: templates, normalisation, softmax and top-k against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>

#include "zeroclip/zeroclip.h"

using namespace zeroclip;

TEST(ZeroShot, ApplyTemplateReplacesEveryPlaceholder) {
    EXPECT_EQ(apply_template("a photo of a {}.", "cat"), "a photo of a cat.");
    EXPECT_EQ(apply_template("{} and {}", "x"), "x and x");
    EXPECT_EQ(apply_template("{}", "tench"), "tench");
    EXPECT_THROW(apply_template("no placeholder", "cat"), Error);
}

TEST(ZeroShot, L2NormalizeRows) {
    Matrix m{2, 2, {3.0f, 4.0f, 0.0f, 0.0f}};
    l2_normalize_rows(m);
    EXPECT_FLOAT_EQ(m.data[0], 0.6f);
    EXPECT_FLOAT_EQ(m.data[1], 0.8f);
    EXPECT_EQ(m.data[2], 0.0f);  // a zero row stays zero instead of becoming NaN
    EXPECT_EQ(m.data[3], 0.0f);
}

TEST(ZeroShot, ProbabilitiesAreSoftmaxOfScaledCosine) {
    Matrix image{1, 2, {1.0f, 0.0f}};
    const float s = std::sqrt(0.5f);
    Matrix classes{3, 2, {1.0f, 0.0f, 0.0f, 1.0f, s, s}};
    const Matrix p = zero_shot_probabilities(image, classes, 10.0f);
    // logits 10, 0, 10*sqrt(0.5)
    const double e0 = std::exp(10.0), e1 = 1.0, e2 = std::exp(10.0 * s);
    const double sum = e0 + e1 + e2;
    EXPECT_NEAR(p.data[0], e0 / sum, 1e-6);
    EXPECT_NEAR(p.data[1], e1 / sum, 1e-6);
    EXPECT_NEAR(p.data[2], e2 / sum, 1e-6);
}

TEST(ZeroShot, ProbabilitiesRejectMismatchedSizes) {
    Matrix image{1, 2, {1.0f, 0.0f}};
    Matrix classes{1, 3, {1.0f, 0.0f, 0.0f}};
    EXPECT_THROW(zero_shot_probabilities(image, classes, 1.0f), Error);
}

TEST(ZeroShot, TopKOrdersByScoreThenIndex) {
    const float scores[] = {0.1f, 0.4f, 0.4f, 0.05f, 0.05f};
    const auto top = top_k(scores, 5, 3);
    ASSERT_EQ(top.size(), 3u);
    EXPECT_EQ(top[0].index, 1);
    EXPECT_EQ(top[1].index, 2);
    EXPECT_EQ(top[2].index, 0);
    EXPECT_EQ(top_k(scores, 5, 10).size(), 5u);  // k larger than n returns everything
}
