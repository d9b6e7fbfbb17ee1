// The strict pipelines over mixed inputs (files and in-memory pixels), pixels from caller
// arrays, error kinds, and the evaluate() pipeline, against the step-by-step API.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_support.h"
#include "zeroclip/zeroclip.h"

using namespace zeroclip;
using zeroclip::test::fixtures_dir;

namespace {

std::filesystem::path model_dir() { return fixtures_dir() / "models" / "clip-f32-quickgelu"; }
std::filesystem::path image(const char* name) { return fixtures_dir() / "images" / name; }

ErrorKind kind_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.kind();
    }
    ADD_FAILURE() << "no zeroclip::Error thrown";
    return ErrorKind::Failure;
}

}  // namespace

TEST(ImageInputs, PixelsFollowPillowsConvertRgb) {
    // 2x1 pixels, channels last.
    const std::vector<uint8_t> gray = {10, 200};
    EXPECT_EQ(rgb_image_from_pixels(gray, 2, 1, 1, "a").pixels, (std::vector<uint8_t>{10, 10, 10, 200, 200, 200}));
    const std::vector<uint8_t> gray_alpha = {10, 0, 200, 255};
    EXPECT_EQ(rgb_image_from_pixels(gray_alpha, 2, 1, 2, "a").pixels,
              (std::vector<uint8_t>{10, 10, 10, 200, 200, 200}));
    const std::vector<uint8_t> rgba = {1, 2, 3, 0, 4, 5, 6, 9};
    const RgbImage converted = rgb_image_from_pixels(rgba, 2, 1, 4, "a");
    EXPECT_EQ(converted.width, 2);
    EXPECT_EQ(converted.height, 1);
    EXPECT_EQ(converted.pixels, (std::vector<uint8_t>{1, 2, 3, 4, 5, 6}));
    // The decoded RGB of a fixture round-trips unchanged.
    const RgbImage decoded = read_image(image("png_rgb.png"));
    EXPECT_EQ(rgb_image_from_pixels(decoded.pixels, decoded.width, decoded.height, 3, "a").pixels, decoded.pixels);
}

TEST(ImageInputs, BadPixelArraysAreInvalidInputNamingTheImage) {
    const std::vector<uint8_t> six(6);
    try {
        rgb_image_from_pixels(six, 1, 1, 6, "images[3]");
        FAIL() << "accepted 6 channels";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::InvalidInput);
        EXPECT_NE(std::string(e.what()).find("images[3]"), std::string::npos) << e.what();
    }
    EXPECT_EQ(kind_of([&] { rgb_image_from_pixels(six, 2, 2, 3, "x"); }), ErrorKind::InvalidInput);  // size mismatch
    EXPECT_EQ(kind_of([&] { rgb_image_from_pixels({}, 0, 3, 3, "x"); }), ErrorKind::InvalidInput);
}

TEST(ImageInputs, ErrorKindsOfFilesAndModels) {
    EXPECT_EQ(kind_of([] { read_image(image("missing.jpg")); }), ErrorKind::NotFound);
    EXPECT_EQ(kind_of([] { read_image(model_dir() / "config.json"); }), ErrorKind::InvalidInput);  // not an image
    EXPECT_EQ(kind_of([] { Clip::open(fixtures_dir() / "no-such-model"); }), ErrorKind::NotFound);
    EXPECT_EQ(kind_of([] { parse_precision("fp64"); }), ErrorKind::InvalidInput);
    EXPECT_EQ(kind_of([] { load_templates("no-such-template-set"); }), ErrorKind::InvalidInput);
}

TEST(ImageInputs, MixedInputsEmbedLikeTheDecodedImagesInOrder) {
    Clip clip = Clip::open(model_dir());
    const std::vector<std::filesystem::path> files = {image("jpeg_baseline.jpg"), image("png_rgb.png"),
                                                      image("webp_lossy.webp"), image("bmp_24.bmp")};
    std::vector<RgbImage> decoded;
    for (const auto& f : files) decoded.push_back(read_image(f));
    // file, pixels, file, pixels: runs of each kind, batches of 1 and 3.
    const std::vector<ImageInput> inputs = {files[0], decoded[1], files[2], decoded[3]};
    const Matrix expected = clip.embed_images(decoded);
    for (int batch : {1, 3}) {
        const Matrix got = embed_images(clip, inputs, {batch, 2});
        ASSERT_EQ(got.rows, 4);
        EXPECT_EQ(got.data, expected.data) << "batch " << batch;
    }

    const std::vector<float> pixels = preprocess_images(clip.preprocess_config(), inputs, {3, 2});
    std::vector<float> expected_pixels;
    for (const auto& d : decoded) {
        const auto values = clip.pixel_values(d);
        expected_pixels.insert(expected_pixels.end(), values.begin(), values.end());
    }
    EXPECT_EQ(pixels, expected_pixels);
}

TEST(ImageInputs, StrictPipelinesThrowAtTheFirstUnreadableInput) {
    Clip clip = Clip::open(model_dir());
    const std::vector<ImageInput> missing = {image("jpeg_baseline.jpg"), image("missing.jpg")};
    try {
        embed_images(clip, missing, {});
        FAIL() << "no error for a missing file";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::NotFound);
        EXPECT_NE(std::string(e.what()).find("missing.jpg"), std::string::npos) << e.what();
    }
    EXPECT_EQ(kind_of([&] { embed_images(clip, {}, {}); }), ErrorKind::InvalidInput);
    EXPECT_EQ(kind_of([&] { embed_images(clip, {model_dir() / "vocab.json"}, {}); }), ErrorKind::InvalidInput);
}

TEST(ImageInputs, ClassifyInputsMatchesClassifyFiles) {
    Clip clip = Clip::open(model_dir());
    ZeroShotClassifier classifier(clip, {"cat", "dog", "bird"});
    const std::vector<std::filesystem::path> files = {image("jpeg_baseline.jpg"), image("png_rgb.png")};
    std::vector<Classification> expected;
    classifier.classify_files(files, {}, 2, [&](const Classification& c) { expected.push_back(c); },
                              [](const ImageFailure& f) { FAIL() << f.message; });
    const auto got = classifier.classify({files[0], read_image(files[1])}, {}, 2);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].image, files[0].string());
    EXPECT_EQ(got[1].image, "");  // in-memory pixels have no name
    for (size_t i = 0; i < 2; ++i) {
        ASSERT_EQ(got[i].predictions.size(), 2u);
        for (size_t k = 0; k < 2; ++k) {
            EXPECT_EQ(got[i].predictions[k].index, expected[i].predictions[k].index);
            EXPECT_EQ(got[i].predictions[k].score, expected[i].predictions[k].score);
        }
    }
    EXPECT_EQ(kind_of([&] { classifier.classify({files[0]}, {}, 0); }), ErrorKind::InvalidInput);
}

TEST(Evaluate, MatchesTheStepByStepEvaluation) {
    // A two-class image folder made of fixture images.
    const auto dir = std::filesystem::temp_directory_path() / "zeroclip-evaluate-test";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir / "cat");
    std::filesystem::create_directories(dir / "dog");
    std::filesystem::copy_file(image("jpeg_baseline.jpg"), dir / "cat" / "a.jpg");
    std::filesystem::copy_file(image("png_rgb.png"), dir / "dog" / "b.png");
    std::filesystem::copy_file(image("bmp_24.bmp"), dir / "dog" / "c.bmp");

    Clip clip = Clip::open(model_dir());
    EvalSettings settings;
    settings.dataset = "imagefolder:" + dir.string();
    settings.model_name = "fixture";
    const Evaluation result = evaluate(clip, settings);

    const Dataset data = read_dataset(settings.dataset);
    const Matrix weights = class_weights(clip, data.class_names, {kDefaultTemplate});
    std::vector<RgbImage> images;
    for (const auto& s : data.samples) images.push_back(read_image(s.path));
    Matrix embeds = clip.embed_images(images);
    l2_normalize_rows(embeds);
    const Matrix probs = zero_shot_probabilities(embeds, weights, clip.logit_scale());
    int correct = 0;
    for (size_t i = 0; i < data.samples.size(); ++i)
        correct += top_k(probs.row(static_cast<int>(i)), probs.cols, 1)[0].index == data.samples[i].label;

    EXPECT_EQ(result.report.metrics.n, 3);
    EXPECT_DOUBLE_EQ(result.report.metrics.acc1, correct / 3.0);
    EXPECT_EQ(result.encoded, 3u);
    EXPECT_EQ(result.report.model, "fixture");
    const auto json = nlohmann::json::parse(metrics_json(result.report));
    EXPECT_EQ(json["n"], 3);
    std::filesystem::remove_all(dir);

    settings.dataset = "bogus:x";
    EXPECT_EQ(kind_of([&] { evaluate(clip, settings); }), ErrorKind::InvalidInput);
}
