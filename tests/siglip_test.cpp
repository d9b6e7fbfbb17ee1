// SigLIP against transformers' SiglipModel, SiglipTokenizer and SiglipImageProcessor
// (../shared/conformance/siglip/), and the committed tiny SigLIP fixture on a fresh clone.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/siglip/siglip_family.h"
#include "models/siglip/siglip_tokenizer.h"
#include "test_support.h"
#include "zeroclip/cache.h"
#include "zeroclip/clip.h"
#include "zeroclip/error.h"
#include "zeroclip/image.h"
#include "zeroclip/pipelines.h"
#include "zeroclip/zeroshot.h"

namespace zeroclip {
namespace {

nlohmann::json read_json(const std::filesystem::path& path) {
    std::ifstream in(path);
    return nlohmann::json::parse(in);
}

using test::Agreement;
using test::compare_rows;
using test::rows_of;

std::filesystem::path fixture_model() { return test::fixtures_dir() / "models" / "siglip-f32"; }

// Ids as the model reads them: SiglipProcessor pads with </s> to max_length.
std::vector<int32_t> padded(std::vector<int32_t> ids, int length, int32_t pad) {
    ids.resize(length, pad);
    return ids;
}

TEST(SiglipTokenizer, CanonicalisesAsSiglipTokenizer) {
    EXPECT_EQ(canonicalize_siglip_text("A PHOTO of the   garbage\ttruck\n"), "\xE2\x96\x81" "a photo of the garbage truck");
    EXPECT_EQ(canonicalize_siglip_text("  Hello, World!  "), "\xE2\x96\x81" " hello world");
    EXPECT_EQ(canonicalize_siglip_text("x\xE2\x96\x81y"), "\xE2\x96\x81" "x y");  // a literal ▁ is a space
    EXPECT_EQ(canonicalize_siglip_text("\xC4\xB0"), "\xE2\x96\x81" "i\xCC\x87");    // İ lowercases to i + U+0307
    EXPECT_EQ(canonicalize_siglip_text("a\xFF" "b"), "\xE2\x96\x81" "a\xEF\xBF\xBD" "b");  // invalid UTF-8 -> U+FFFD
}

TEST(SiglipTokenizer, MatchesTransformersOnEveryCase) {
    ZEROCLIP_REQUIRE_SHARED(shared);
    const auto dir = shared / "conformance" / "siglip";
    const auto tok = SiglipTokenizer::from_file(dir / "spiece-tiny.model");
    EXPECT_EQ(tok->vocab_size(), 1000);
    std::ifstream in(dir / "tokenizer-tiny.jsonl");
    std::string line;
    int cases = 0, mismatches = 0;
    while (std::getline(in, line)) {
        const auto c = nlohmann::json::parse(line);
        const std::string text = c["text"].get<std::string>();
        const auto expected = c["ids"].get<std::vector<int32_t>>();
        const auto ids = tok->encode_for_model(text, 64);
        ++cases;
        if (ids != expected && ++mismatches <= 5) ADD_FAILURE() << "text " << nlohmann::json(text).dump();
    }
    EXPECT_EQ(cases, 2772);
    EXPECT_EQ(mismatches, 0);
}

TEST(SiglipTokenizer, RejectsFilesThatAreNotSentencePieceModels) {
    const auto dir = std::filesystem::temp_directory_path() / "zeroclip-siglip-tokenizer-test";
    std::filesystem::create_directories(dir);
    test::write_file(dir / "spiece.model", "not a model");
    try {
        SiglipTokenizer::from_file(dir / "spiece.model");
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("spiece.model: not a SentencePiece model"), std::string::npos) << e.what();
    }
    EXPECT_THROW(SiglipTokenizer::from_file(dir / "missing.model"), Error);
    std::filesystem::remove_all(dir);
}

TEST(SiglipPreprocess, ResizesBitExactLikeSiglipImageProcessor) {
    ZEROCLIP_REQUIRE_SHARED(shared);
    const auto golden_dir = shared / "conformance" / "siglip" / "preprocess-224";
    const PreprocessConfig config =
        load_siglip_preprocess(shared / "conformance" / "siglip" / "no-such-model", 224);  // the defaults
    EXPECT_FALSE(config.do_center_crop);
    int images = 0;
    for (const auto& entry : std::filesystem::directory_iterator(golden_dir)) {
        const std::string stem = entry.path().stem().string();
        std::filesystem::path source;
        for (const auto& candidate : std::filesystem::directory_iterator(shared / "conformance" / "images"))
            if (candidate.path().stem() == stem) source = candidate.path();
        ASSERT_FALSE(source.empty()) << stem;
        const RgbImage resized = resize_and_crop(read_image(source), config);
        const RgbImage expected = read_image(entry.path());
        ASSERT_EQ(resized.width, 224);
        ASSERT_EQ(resized.height, 224);
        EXPECT_TRUE(resized.pixels == expected.pixels) << stem;
        ++images;
    }
    EXPECT_EQ(images, 12);
}

class SiglipConformance : public ::testing::TestWithParam<std::string> {};

// Embeddings, logits and sigmoid probabilities against the golden outputs, through Clip (the
// tokenizer, the image processor and both towers as a user runs them).
TEST_P(SiglipConformance, MatchesTransformers) {
    ZEROCLIP_REQUIRE_SHARED(shared);
    const auto dir = shared / "conformance" / "siglip";
    const auto golden = read_json(dir / ("golden-" + GetParam() + ".json"));
    Clip clip = Clip::open(dir / "models" / GetParam());
    EXPECT_EQ(clip.config().family, "siglip");

    const auto texts = golden["texts"].get<std::vector<std::string>>();
    const auto golden_ids = golden["input_ids"].get<std::vector<std::vector<int32_t>>>();
    ASSERT_EQ(texts.size(), golden_ids.size());
    const int length = clip.config().text.max_position_embeddings;
    for (size_t i = 0; i < texts.size(); ++i)
        EXPECT_EQ(padded(clip.tokenize(texts[i]), length, 1), golden_ids[i]) << texts[i];

    const Matrix text_embeds = clip.embed_texts(texts);
    const Agreement text = compare_rows(text_embeds, rows_of(golden["text_embeds"]));
    EXPECT_GE(text.min_cosine, 0.99999);

    std::vector<RgbImage> images;
    for (const auto& name : golden["images"].get<std::vector<std::string>>())
        images.push_back(read_image(shared / "conformance" / "images" / name));
    Matrix image_embeds = clip.embed_images(images);
    const Agreement image = compare_rows(image_embeds, rows_of(golden["image_embeds"]));
    EXPECT_GE(image.min_cosine, 0.99999);

    const Scoring scoring = clip.scoring();
    EXPECT_EQ(scoring.function, ScoreFunction::Sigmoid);
    EXPECT_NEAR(scoring.logit_scale, golden["logit_scale"].get<double>(), 1e-5);
    EXPECT_NEAR(scoring.logit_bias, golden["logit_bias"].get<double>(), 1e-6);
    const double logit_error = test::max_logit_error(image_embeds, text_embeds, scoring.logit_scale,
                                                     [&] {
                                                         auto rows = rows_of(golden["logits_per_image"]);
                                                         for (auto& r : rows)
                                                             for (auto& v : r) v -= scoring.logit_bias;
                                                         return rows;
                                                     }());
    EXPECT_LE(logit_error, 1e-4);

    Matrix unit_texts = text_embeds;
    l2_normalize_rows(image_embeds);
    l2_normalize_rows(unit_texts);
    const Matrix probs = zero_shot_probabilities(image_embeds, unit_texts, scoring);
    const auto expected_probs = rows_of(golden["probs_per_image"]);
    double prob_error = 0;
    for (int i = 0; i < probs.rows; ++i)
        for (int t = 0; t < probs.cols; ++t)
            prob_error = std::max(prob_error, std::fabs(probs.row(i)[t] - expected_probs[i][t]));
    EXPECT_LE(prob_error, 1e-5);
    std::printf("[ %s ] text min cosine %.9f, image min cosine %.9f, logits max abs error %.3g\n",
                GetParam().c_str(), text.min_cosine, image.min_cosine, logit_error);
}

// bf16 and int8 agree with fp32 (the same bounds as CLIP's precision tests).
TEST_P(SiglipConformance, ReducedPrecisionsAgreeWithFp32) {
    ZEROCLIP_REQUIRE_SHARED(shared);
    const auto dir = shared / "conformance" / "siglip";
    const auto golden = read_json(dir / ("golden-" + GetParam() + ".json"));
    const auto texts = golden["texts"].get<std::vector<std::string>>();
    std::vector<RgbImage> images;
    for (const auto& name : golden["images"].get<std::vector<std::string>>())
        images.push_back(read_image(shared / "conformance" / "images" / name));
    Clip fp32 = Clip::open(dir / "models" / GetParam());
    const Matrix fp32_texts = fp32.embed_texts(texts), fp32_images = fp32.embed_images(images);
    for (Precision precision : {Precision::Bf16, Precision::Int8}) {
        Clip reduced = Clip::open(dir / "models" / GetParam(), ModelOptions{precision, 0, Device::Cpu});
        const double bound = precision == Precision::Bf16 ? 0.999 : 0.99;
        EXPECT_GE(compare_rows(reduced.embed_texts(texts), rows_of(fp32_texts)).min_cosine, bound);
        EXPECT_GE(compare_rows(reduced.embed_images(images), rows_of(fp32_images)).min_cosine, bound);
    }
}

INSTANTIATE_TEST_SUITE_P(Models, SiglipConformance, ::testing::Values("tiny-siglip", "tiny-siglip-f16"),
                         [](const auto& info) {
                             std::string name = info.param;
                             for (char& c : name) c = c == '-' ? '_' : c;
                             return name;
                         });

// The committed fixture (scripts/make_tiny_model.py): its expected outputs come from the
// script's own float64 forward pass, so a fresh clone tests the whole family.
TEST(SiglipFixture, MatchesItsReferenceForwardPass) {
    const auto expected = read_json(fixture_model() / "expected.json");
    Clip clip = Clip::open(fixture_model());
    const auto texts = expected["texts"].get<std::vector<std::string>>();
    const auto ids = expected["input_ids"].get<std::vector<std::vector<int32_t>>>();
    for (size_t i = 0; i < texts.size(); ++i)
        EXPECT_EQ(padded(clip.tokenize(texts[i]), clip.config().text.max_position_embeddings, 1), ids[i]) << texts[i];
    EXPECT_GE(compare_rows(clip.model().encode_texts(ids), rows_of(expected["text_embeds"])).min_cosine, 0.99999);

    const auto shape = expected["pixel_shape"].get<std::vector<int>>();
    const auto pixels = expected["pixel_values"].get<std::vector<float>>();
    const Matrix image_embeds = clip.model().encode_images(pixels.data(), shape[0]);
    EXPECT_GE(compare_rows(image_embeds, rows_of(expected["image_embeds"])).min_cosine, 0.99999);
    EXPECT_NEAR(clip.scoring().logit_bias, expected["logit_bias"].get<double>(), 1e-6);
    EXPECT_EQ(clip.scoring().function, ScoreFunction::Sigmoid);
}

TEST(SiglipFixture, ClassifyPrintsIndependentProbabilities) {
    const auto err = std::filesystem::temp_directory_path() / "zeroclip-siglip-classify.err";
    const auto result = test::run_cli({"classify", "-m", fixture_model().string(), "-l", "cat,dog,truck", "--json",
                                       (test::fixtures_dir() / "images" / "jpeg_baseline.jpg").string()},
                                      err);
    ASSERT_EQ(result.status, 0) << test::read_file(err);
    EXPECT_NE(test::read_file(err).find("sigmoid"), std::string::npos);
    const auto out = nlohmann::json::parse(result.out);
    ASSERT_EQ(out["predictions"].size(), 3u);
    // Independent probabilities: each equals sigmoid(scale * cos + bias) of its own label.
    Clip clip = Clip::open(fixture_model());
    ZeroShotClassifier classifier(clip, {"cat", "dog", "truck"});
    const Matrix probs = classifier.probabilities(
        clip.embed_images({read_image(test::fixtures_dir() / "images" / "jpeg_baseline.jpg")}));
    for (const auto& p : out["predictions"]) {
        const std::string label = p["label"];
        const int index = label == "cat" ? 0 : label == "dog" ? 1 : 2;
        EXPECT_NEAR(p["score"].get<double>(), probs.row(0)[index], 1e-6);
    }
    std::filesystem::remove(err);
}

// SigLIP's towers keep their packed weights (and the label embeddings) in the cache as CLIP's do:
// the first run writes one file per tower and the labels, the second maps them, and neither
// changes a number against the cache off.
TEST(SiglipFixture, CacheKeepsPackedTowersAndChangesNoNumber) {
    const auto dir = std::filesystem::temp_directory_path() / ("zeroclip-siglip-cache-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    const auto image = read_image(test::fixtures_dir() / "images" / "jpeg_baseline.jpg");
    std::vector<std::string> notes;
    const auto run = [&](const CacheOptions& cache) {
        ModelOptions options;
        options.cache = cache;
        Clip clip = Clip::open(fixture_model(), options);
        ZeroShotClassifier classifier(clip, {"cat", "dog", "truck"});
        return classifier.probabilities(clip.embed_images({image}));
    };
    CacheOptions on;
    on.dir = dir;
    on.note = [&](const std::string& note) { notes.push_back(note); };
    CacheOptions off;
    off.enabled = false;
    const Matrix plain = run(off), cached = run(on);
    const auto written = list_cache(dir);
    std::vector<std::string> kinds;
    for (const CacheEntry& e : written) kinds.push_back(e.kind + (e.kind == "weights" ? e.description.substr(0, 6) : ""));
    std::sort(kinds.begin(), kinds.end());
    EXPECT_EQ(kinds, (std::vector<std::string>{"labels", "weightstext t", "weightsvision"}));
    const Matrix again = run(on);
    EXPECT_EQ(cached.data, plain.data);
    EXPECT_EQ(again.data, plain.data);
    EXPECT_EQ(list_cache(dir).size(), written.size());
    EXPECT_TRUE(notes.empty()) << notes.front();
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace zeroclip

namespace zeroclip {
namespace {

// A real google/siglip-* config.json leaves SiglipConfig's defaults out.
TEST(SiglipConfig, FillsSiglipConfigDefaults) {
    const ClipConfig c = ClipConfig::from_json_text(R"({"model_type": "siglip", "text_config": {},
                                                        "vision_config": {"patch_size": 14, "image_size": 224}})",
                                                    "config.json");
    EXPECT_EQ(c.family, "siglip");
    EXPECT_EQ(c.text.vocab_size, 32000);
    EXPECT_EQ(c.text.hidden_size, 768);
    EXPECT_EQ(c.text.max_position_embeddings, 64);
    EXPECT_EQ(c.text.hidden_act, Activation::GeluTanh);
    EXPECT_FLOAT_EQ(c.text.layer_norm_eps, 1e-6f);
    EXPECT_EQ(c.text.pad_token_id, 1);
    EXPECT_EQ(c.vision.hidden_size, 768);
    EXPECT_EQ(c.vision.patch_size, 14);
    EXPECT_EQ(c.vision.hidden_act, Activation::GeluTanh);
    EXPECT_FLOAT_EQ(c.vision.layer_norm_eps, 1e-6f);
    EXPECT_EQ(c.projection_dim, 768);  // projection_size defaults to the text hidden size

    const ClipConfig sized = ClipConfig::from_json_text(
        R"({"model_type": "siglip", "text_config": {"hidden_size": 1152, "num_attention_heads": 16, "projection_size": 1152}})",
        "config.json");
    EXPECT_EQ(sized.projection_dim, 1152);
}

TEST(ModelFamilies, ConfigPicksTheFamily) {
    EXPECT_EQ(ClipConfig::from_json_text(R"({"architectures": ["SiglipModel"]})", "c.json").family, "siglip");
    EXPECT_EQ(ClipConfig::from_json_text(R"({"architectures": ["CLIPModel"]})", "c.json").family, "clip");
    EXPECT_EQ(ClipConfig::from_json_text(R"({"model_type": "clip"})", "c.json").family, "clip");
    EXPECT_EQ(ClipConfig::from_json_text(R"({})", "c.json").family, "clip");  // configs from before model_type
    // CLIP keeps CLIPConfig's defaults.
    EXPECT_EQ(ClipConfig::from_json_text(R"({})", "c.json").text.max_position_embeddings, 77);
    try {
        ClipConfig::from_json_text(R"({"model_type": "siglip2"})", "dir/config.json");
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()),
                  "dir/config.json: model_type \"siglip2\" is not a family zeroclip reads (clip, siglip)");
    }
}

// `preprocess` writes what SiglipImageProcessor gives: the whole image resized, (x/255 - 0.5)/0.5.
TEST(SiglipFixture, PreprocessCommandUsesSiglipImageProcessor) {
    const auto err = std::filesystem::temp_directory_path() / "zeroclip-siglip-preprocess.err";
    const auto out = std::filesystem::temp_directory_path() / "zeroclip-siglip-preprocess.npy";
    const auto image = test::fixtures_dir() / "images" / "jpeg_baseline.jpg";
    const auto result = test::run_cli({"preprocess", "-m", fixture_model().string(), "-o", out.string(),
                                       image.string()}, err);
    ASSERT_EQ(result.status, 0) << result.err;
    const PreprocessConfig config = preprocess_config_for_model(fixture_model());
    EXPECT_FALSE(config.do_center_crop);
    EXPECT_EQ(config.crop_height, 32);
    const RgbImage resized = resize_bicubic(read_image(image), 32, 32);
    const std::string npy = test::read_file(out);
    ASSERT_GE(npy.size(), 3u * 32 * 32 * 4);
    const float* values = reinterpret_cast<const float*>(npy.data() + npy.size() - 3 * 32 * 32 * 4);
    for (int c = 0; c < 3; ++c)
        for (int i = 0; i < 32 * 32; i += 97) {
            const float expected = (static_cast<float>(resized.pixels[i * 3 + c] * (1.0 / 255.0)) - 0.5f) / 0.5f;
            EXPECT_EQ(values[c * 32 * 32 + i], expected) << c << " " << i;
        }
    std::filesystem::remove(err);
    std::filesystem::remove(out);
}

TEST(SiglipFixture, TokenizeCommandPrintsSiglipIds) {
    const auto err = std::filesystem::temp_directory_path() / "zeroclip-siglip-tokenize.err";
    const auto result = test::run_cli({"tokenize", "-m", fixture_model().string(), "a photo of a cat."}, err);
    ASSERT_EQ(result.status, 0) << result.err;
    auto ids = read_json(fixture_model() / "expected.json")["input_ids"][0].get<std::vector<int32_t>>();
    ids.erase(std::find(ids.begin(), ids.end(), 1) + 1, ids.end());  // without the </s> padding
    EXPECT_EQ(nlohmann::json::parse(result.out), nlohmann::json::array({ids}));
    std::filesystem::remove(err);
}

}  // namespace
}  // namespace zeroclip
