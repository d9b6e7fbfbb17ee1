// Reduced precisions: embeddings close to float32's (cosine per row >= 0.999 for bf16, >= 0.99
// for int8) on the fixture and conformance models; the bench command's JSON shape.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_support.h"
#include "util/npy.h"
#include "zeroclip/zeroclip.h"

namespace zeroclip {
namespace {

double min_cosine(Precision precision) { return precision == Precision::Bf16 ? 0.999 : 0.99; }

// The worst row's cosine between reduced-precision and fp32 embeddings (test_support's comparison).
double min_row_cosine(const Matrix& reduced, const Matrix& fp32) {
    return test::compare_rows(reduced, test::rows_of(fp32)).min_cosine;
}

ModelOptions with_precision(Precision precision) {
    ModelOptions options;
    options.precision = precision;
    return options;
}

class FixturePrecision : public ::testing::TestWithParam<std::tuple<std::string, Precision>> {};

TEST_P(FixturePrecision, EmbeddingsFollowFp32) {
    const auto [name, precision] = GetParam();
    const auto dir = test::fixtures_dir() / "models" / name;
    std::ifstream in(dir / "expected.json");
    const auto ids = nlohmann::json::parse(in)["input_ids"].get<std::vector<std::vector<int32_t>>>();
    const NpyArray pixels = read_npy_f32(dir / "pixel_values.npy");
    const int images = static_cast<int>(pixels.shape[0]);

    auto fp32 = ClipModel::load(dir);
    auto reduced = ClipModel::load(dir, with_precision(precision));
    EXPECT_GE(min_row_cosine(reduced->encode_texts(ids), fp32->encode_texts(ids)), min_cosine(precision));
    EXPECT_GE(min_row_cosine(reduced->encode_images(pixels.data.data(), images),
                             fp32->encode_images(pixels.data.data(), images)),
              min_cosine(precision));
    EXPECT_NE(reduced->kernel_info(), "");
}

INSTANTIATE_TEST_SUITE_P(Models, FixturePrecision,
                         ::testing::Combine(::testing::Values("clip-f32-quickgelu", "clip-f16-gelu-sharded",
                                                              "clip-bf16-tanh-eos2"),
                                            ::testing::Values(Precision::Bf16, Precision::Int8)));

TEST(Precision, ReducedPrecisionsOnConformanceModels) {
    ZEROCLIP_REQUIRE_SHARED(shared);
    for (const std::string name : {"tiny", "tiny-bf16", "tiny-gelu-f16"}) {
        const auto dir = shared / "conformance" / "models" / name;
        std::ifstream in(shared / "conformance" / ("golden-" + name + ".json"));
        const auto golden = nlohmann::json::parse(in);
        const auto ids = golden["input_ids"].get<std::vector<std::vector<int32_t>>>();
        std::vector<RgbImage> images;
        for (const auto& file : golden["images"]) {
            images.push_back(read_image(shared / "conformance" / "images" / file.get<std::string>()));
        }
        Clip fp32 = Clip::open(dir);
        const Matrix fp32_texts = fp32.model().encode_texts(ids), fp32_images = fp32.embed_images(images);
        for (const Precision precision : {Precision::Bf16, Precision::Int8}) {
            Clip reduced = Clip::open(dir, with_precision(precision));
            EXPECT_GE(min_row_cosine(reduced.model().encode_texts(ids), fp32_texts), min_cosine(precision)) << name;
            EXPECT_GE(min_row_cosine(reduced.embed_images(images), fp32_images), min_cosine(precision)) << name;
        }
    }
}

TEST(Precision, BenchPrintsOneJsonObject) {
    const auto err = std::filesystem::temp_directory_path() / ("zeroclip_bench_" + std::to_string(::getpid()));
    const std::string model = (test::fixtures_dir() / "models" / "clip-f32-quickgelu").string();
    for (const std::string tower : {"image", "text"}) {
        const auto r = test::run_cli({"bench", "-m", model, "--tower", tower, "--precision", "bf16", "--batch-size",
                                      "4", "--images", "8", "--threads", "1", "--json"},
                                     err);
        ASSERT_EQ(r.status, 0) << r.err;
        const auto result = nlohmann::json::parse(r.out);
        for (const char* key : {"images_per_s", "ms_per_batch", "peak_rss_mb"}) {
            ASSERT_TRUE(result.contains(key)) << key;
            EXPECT_GT(result[key].get<double>(), 0.0) << key;
        }
        EXPECT_EQ(result["precision"], "bf16");
        EXPECT_EQ(result["batch_size"], 4);
        EXPECT_EQ(result["threads"], 1);
        EXPECT_EQ(result["tower"], tower);
        EXPECT_TRUE(result["isa"].is_string());
    }
    std::filesystem::remove(err);
}

// A CPU without bf16/int8 instructions is simulated by capping oneDNN's ISA: the model then runs
// fp32 (oneDNN 2.6 has no bf16 matmul on AVX2 and only reference int8 ones) and says so.
TEST(Precision, FallsBackToFp32WithANoteWhereTheCpuLacksTheInstructions) {
    const auto err = std::filesystem::temp_directory_path() / ("zeroclip_isa_" + std::to_string(::getpid()));
    const std::string model = (test::fixtures_dir() / "models" / "clip-f32-quickgelu").string();
    for (const std::string precision : {"bf16", "int8"}) {
        const auto r = test::run_cli({"bench", "-m", model, "--precision", precision, "--batch-size", "2", "--images",
                                      "2", "--threads", "1", "--json"},
                                     err, "ONEDNN_MAX_CPU_ISA=AVX2");
        ASSERT_EQ(r.status, 0) << r.err;
        EXPECT_EQ(nlohmann::json::parse(r.out)["precision"], "fp32") << precision;
        EXPECT_NE(r.err.find("running fp32 instead of " + precision), std::string::npos) << r.err;
    }
    // Where the instructions exist, nothing is said.
    if (__builtin_cpu_supports("avx512bf16")) {
        const auto r = test::run_cli({"bench", "-m", model, "--precision", "bf16", "--batch-size", "2", "--images",
                                      "2", "--threads", "1", "--json"},
                                     err);
        ASSERT_EQ(r.status, 0) << r.err;
        EXPECT_EQ(nlohmann::json::parse(r.out)["precision"], "bf16");
        EXPECT_EQ(r.err, "");
    }
    std::filesystem::remove(err);
}

TEST(Precision, BenchCountsTheModelsFlopsAndMeasuresThePeak) {
    const auto err = std::filesystem::temp_directory_path() / ("zeroclip_bench_peak_" + std::to_string(::getpid()));
    const std::string model = (test::fixtures_dir() / "models" / "clip-f32-quickgelu").string();
    const auto r = test::run_cli({"bench", "-m", model, "--batch-size", "2", "--images", "4", "--threads", "1",
                                  "--json", "--peak"},
                                 err);
    ASSERT_EQ(r.status, 0) << r.err;
    const auto result = nlohmann::json::parse(r.out);
    // The fixture's vision tower, by hand: 32x32 images in 8x8 patches = 16 patches + class = 17
    // tokens, hidden 24, MLP 40, 2 layers, projection 16.
    //   patch embedding 2 * 16 * (3 * 8 * 8) * 24                 = 147456
    //   per layer: linears 2 * 17 * (4 * 24^2 + 2 * 24 * 40)      = 143616
    //              attention 2 * 2 * 17^2 * 24                    =  27744
    //   projection 2 * 24 * 16                                    =    768
    const double expected = 147456 + 2 * (143616 + 27744) + 768;
    EXPECT_NEAR(result["gflop_per_item"].get<double>() * 1e9, expected, 1e-3);
    EXPECT_NEAR(result["gflop_per_s"].get<double>(),
                result["gflop_per_item"].get<double>() * result["images_per_s"].get<double>(), 1e-9);
    EXPECT_TRUE(result["peak_instruction"].is_string());
    if (__builtin_cpu_supports("avx512f")) {  // fp32's FMA chains run wherever AVX-512 does
        EXPECT_GT(result["peak_gflop_per_s"].get<double>(), 1.0);
        EXPECT_GT(result["fraction_of_peak"].get<double>(), 0.0);
    }
    std::filesystem::remove(err);
}

}  // namespace
}  // namespace zeroclip
