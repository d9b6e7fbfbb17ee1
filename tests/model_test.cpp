// ClipModel on the committed fixture models (scripts/make_tiny_model.py), whose expected outputs
// come from an independent float64 PyTorch implementation of CLIP's forward pass.
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_support.h"
#include "util/npy.h"
#include "zeroclip/error.h"
#include "zeroclip/model.h"

namespace zeroclip {
namespace {

std::filesystem::path model_dir(const std::string& name) { return test::fixtures_dir() / "models" / name; }

nlohmann::json read_expected(const std::string& name) {
    std::ifstream in(model_dir(name) / "expected.json");
    return nlohmann::json::parse(in);
}

// Same tolerances as the transformers conformance tests: cosine >= 0.99999 and
// max |actual - expected| <= 1e-4 * max |expected|, row by row.
void expect_rows_match(const Matrix& actual, const nlohmann::json& expected, const std::string& what) {
    const test::Agreement agreement = test::compare_rows(actual, test::rows_of(expected));
    EXPECT_GE(agreement.min_cosine, 0.99999) << what;
    EXPECT_LE(agreement.max_rel_error, 1e-4) << what;
}

class FixtureModel : public ::testing::TestWithParam<std::string> {};

TEST_P(FixtureModel, MatchesReferenceImplementation) {
    const auto expected = read_expected(GetParam());
    auto model = ClipModel::load(model_dir(GetParam()));

    const auto ids = expected["input_ids"].get<std::vector<std::vector<int32_t>>>();
    expect_rows_match(model->encode_texts(ids), expected["text_embeds"], "text_embeds");

    const NpyArray pixels = read_npy_f32(model_dir(GetParam()) / "pixel_values.npy");
    ASSERT_EQ(pixels.shape.size(), 4u);
    expect_rows_match(model->encode_images(pixels.data.data(), static_cast<int>(pixels.shape[0])),
                      expected["image_embeds"], "image_embeds");

    EXPECT_NEAR(model->logit_scale(), expected["logit_scale"].get<double>(),
                1e-6 * expected["logit_scale"].get<double>());
}

TEST_P(FixtureModel, BatchingAndPaddingDoNotChangeResults) {
    const auto expected = read_expected(GetParam());
    auto model = ClipModel::load(model_dir(GetParam()));
    const auto ids = expected["input_ids"].get<std::vector<std::vector<int32_t>>>();
    const Matrix batched = model->encode_texts(ids);
    for (size_t i = 0; i < ids.size(); ++i) {
        const Matrix single = model->encode_texts({ids[i]});
        for (int c = 0; c < single.cols; ++c) {
            EXPECT_NEAR(single.row(0)[c], batched.row(int(i))[c], 1e-5 * (1 + std::fabs(batched.row(int(i))[c])));
        }
    }

    const NpyArray pixels = read_npy_f32(model_dir(GetParam()) / "pixel_values.npy");
    const int n = static_cast<int>(pixels.shape[0]);
    const Matrix images = model->encode_images(pixels.data.data(), n);
    const size_t image_floats = pixels.data.size() / n;
    const Matrix last = model->encode_images(pixels.data.data() + (n - 1) * image_floats, 1);
    for (int c = 0; c < last.cols; ++c) {
        EXPECT_NEAR(last.row(0)[c], images.row(n - 1)[c], 1e-5 * (1 + std::fabs(images.row(n - 1)[c])));
    }
    EXPECT_EQ(model->encode_texts({}).rows, 0);
    EXPECT_EQ(model->encode_images(nullptr, 0).rows, 0);
}

INSTANTIATE_TEST_SUITE_P(Models, FixtureModel,
                         ::testing::Values("clip-f32-quickgelu", "clip-f16-gelu-sharded", "clip-bf16-tanh-eos2"));

TEST(ClipModel, LegacyConfigDictsWinOverPlainKeys) {
    auto model = ClipModel::load(model_dir("clip-f16-gelu-sharded"));
    EXPECT_EQ(model->config().text.hidden_size, 32);  // text_config says 999
    EXPECT_EQ(model->config().text.max_position_embeddings, 77);  // absent: transformers' default
    EXPECT_EQ(model->config().vision.hidden_act, Activation::Gelu);
}

TEST(ClipModel, RejectsBadTokenSequences) {
    auto model = ClipModel::load(model_dir("clip-f32-quickgelu"));
    EXPECT_THROW(model->encode_texts({{}}), Error);
    EXPECT_THROW(model->encode_texts({{2512, 2514, 2513}}), Error);  // outside the vocabulary
    EXPECT_THROW(model->encode_texts({{2512, -1, 2513}}), Error);
    EXPECT_THROW(model->encode_texts({std::vector<int32_t>(78, 5)}), Error);
    EXPECT_THROW(model->encode_images(nullptr, 2), Error);
}

TEST(ClipModel, RejectsUnsupportedOptions) {
    EXPECT_THROW(ClipModel::load(model_dir("clip-f32-quickgelu"), {Precision::Fp32, -1}), Error);
    EXPECT_THROW(ClipModel::load(test::fixtures_dir() / "no-such-model"), Error);
}

TEST(ClipModel, ThreadCountDoesNotChangeResults) {
    const auto expected = read_expected("clip-f32-quickgelu");
    const auto ids = expected["input_ids"].get<std::vector<std::vector<int32_t>>>();
    auto model = ClipModel::load(model_dir("clip-f32-quickgelu"), {Precision::Fp32, 1});
    expect_rows_match(model->encode_texts(ids), expected["text_embeds"], "text_embeds, 1 thread");
}

}  // namespace
}  // namespace zeroclip
