// The library's file pipelines against the step-by-step API they stand for.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <fstream>

#include "test_support.h"
#include "zeroclip/zeroclip.h"

using namespace zeroclip;
using zeroclip::test::fixtures_dir;

namespace {

std::filesystem::path model_dir() { return fixtures_dir() / "models" / "clip-f32-quickgelu"; }

std::vector<std::filesystem::path> fixture_images() {
    const auto dir = fixtures_dir() / "images";
    return {dir / "jpeg_baseline.jpg", dir / "png_rgb.png", dir / "webp_lossy.webp",
            dir / "bmp_24.bmp", dir / "gif_interlaced_trns.gif"};
}

}  // namespace

TEST(Pipelines, EmbedImageFilesEqualsEmbedImagesOfTheDecodedFiles) {
    Clip clip = Clip::open(model_dir());
    auto paths = fixture_images();
    paths.insert(paths.begin() + 2, fixtures_dir() / "images" / "missing.jpg");
    std::vector<std::string> failed;
    const ImageEmbeddings got = embed_image_files(clip, paths, {2, 2},
                                                  [&](const ImageFailure& f) { failed.push_back(f.path.string()); });
    ASSERT_EQ(failed.size(), 1u);
    EXPECT_NE(failed[0].find("missing.jpg"), std::string::npos);
    ASSERT_EQ(got.paths, fixture_images());

    std::vector<RgbImage> images;
    for (const auto& p : fixture_images()) images.push_back(read_image(p));
    const Matrix expected = clip.embed_images(images);
    ASSERT_EQ(got.embeddings.rows, expected.rows);
    ASSERT_EQ(got.embeddings.cols, expected.cols);
    EXPECT_EQ(got.embeddings.data, expected.data);  // same model, same inputs: bit-identical
}

TEST(Pipelines, ClassifierMatchesTheStepByStepScores) {
    Clip clip = Clip::open(model_dir());
    const std::vector<std::string> labels = {"cat", "dog", "bird"};
    const std::vector<std::string> templates = {"a photo of a {}.", "a drawing of a {}."};
    ZeroShotClassifier classifier(clip, labels, templates);

    const Matrix weights = class_weights(clip, labels, templates);
    Matrix embeds = clip.embed_images({read_image(fixture_images()[0])});
    l2_normalize_rows(embeds);
    const Matrix expected = zero_shot_probabilities(embeds, weights, clip.logit_scale());

    const Classification one = classifier.classify(read_image(fixture_images()[0]), 3, "x");
    ASSERT_EQ(one.predictions.size(), 3u);
    const auto expected_top = top_k(expected.row(0), expected.cols, 3);
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(one.predictions[i].index, expected_top[i].index);
        EXPECT_FLOAT_EQ(one.predictions[i].score, expected_top[i].score);
    }

    std::vector<Classification> results;
    classifier.classify_files(fixture_images(), {32, 1}, 2,
                              [&](const Classification& c) { results.push_back(c); },
                              [](const ImageFailure& f) { FAIL() << f.message; });
    ASSERT_EQ(results.size(), fixture_images().size());
    EXPECT_EQ(results[0].image, fixture_images()[0].string());
    EXPECT_EQ(results[0].predictions[0].index, expected_top[0].index);
    EXPECT_NEAR(results[0].predictions[0].score, expected_top[0].score, 1e-6);
}

TEST(Pipelines, ClassifierRejectsBadLabelsAndTemplates) {
    Clip clip = Clip::open(model_dir());
    EXPECT_THROW(ZeroShotClassifier(clip, {}), Error);
    EXPECT_THROW(ZeroShotClassifier(clip, {"cat"}, {}), Error);
    EXPECT_THROW(ZeroShotClassifier(clip, {"cat"}, {"no placeholder"}), Error);
}

TEST(Pipelines, JsonReplacesInvalidUtf8InsteadOfThrowing) {
    Clip clip = Clip::open(model_dir());
    ZeroShotClassifier classifier(clip, {"caf\xe9", "dog"});
    const Classification c{"img\xff.jpg", {{0, 0.75f}, {1, 0.25f}}};
    const auto parsed = nlohmann::json::parse(classifier.to_json(c));
    EXPECT_EQ(parsed["image"], "img\xef\xbf\xbd.jpg");  // U+FFFD
    EXPECT_EQ(parsed["predictions"][0]["label"], "caf\xef\xbf\xbd");
    EXPECT_FLOAT_EQ(parsed["predictions"][1]["score"].get<float>(), 0.25f);
}

TEST(Pipelines, ImagesAloneNeverReadTheVocabularyAndABrokenOneIsNamedWhenText) {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("zeroclip_lazy_tokenizer_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::copy(model_dir(), dir);
    std::ofstream(dir / "vocab.json", std::ios::trunc) << "{ not json";
    ModelOptions options;
    options.cache.enabled = false;  // a compiled tokenizer in the cache would hide the broken file
    Clip broken = Clip::open(dir, options);
    Clip good = Clip::open(model_dir(), options);
    const std::vector<RgbImage> images = {read_image(fixture_images()[0])};
    EXPECT_EQ(broken.embed_images(images).data, good.embed_images(images).data);
    try {
        broken.tokenize("a photo of a cat");
        ADD_FAILURE() << "a broken vocab.json was not reported";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("vocab.json"), std::string::npos) << e.what();
    }
    EXPECT_THROW(broken.tokenize("again"), Error);  // a failed load is not remembered as done
    EXPECT_EQ(good.tokenize("a photo of a cat"), good.tokenizer().encode_for_model("a photo of a cat", 77));
    fs::remove_all(dir);
}
