// Reduced precisions: embeddings close to float32's (cosine per row >= 0.999 for bf16, >= 0.99
// for int8) on the fixture and conformance models; the bench command's JSON shape.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cpu_expectations.h"
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
        // The effective precision: bf16 where the CPU (under the ISA cap) runs it, else fp32 with a note.
        EXPECT_EQ(result["precision"], test::expected_precision("bf16"));
        if (test::cpu_runs_bf16())
            EXPECT_EQ(r.err, "");
        else
            EXPECT_NE(r.err.find("note: this CPU"), std::string::npos) << r.err;
        EXPECT_EQ(result["batch_size"], 4);
        EXPECT_EQ(result["threads"], 1);
        EXPECT_EQ(result["tower"], tower);
        EXPECT_TRUE(result["isa"].is_string());
    }
    std::filesystem::remove(err);
}

// A CPU without bf16 (or int8) instructions is simulated by capping the ISA, with zeroclip's
// variable or oneDNN's alone: the model then runs fp32 and says so, naming the cap.
TEST(Precision, FallsBackToFp32WithANoteWhereTheCpuLacksTheInstructions) {
    const auto err = std::filesystem::temp_directory_path() / ("zeroclip_isa_" + std::to_string(::getpid()));
    const std::string model = (test::fixtures_dir() / "models" / "clip-f32-quickgelu").string();
    const auto bench = [&](const std::string& precision, const std::string& env) {
        return test::run_cli({"bench", "-m", model, "--precision", precision, "--batch-size", "2", "--images", "2",
                              "--threads", "1", "--json"},
                             err, env);
    };
    const std::pair<std::string, std::string> cases[] = {
        {"bf16", "env -u ONEDNN_MAX_CPU_ISA ZEROCLIP_MAX_CPU_ISA=AVX2"},
        {"bf16", "env -u ZEROCLIP_MAX_CPU_ISA ONEDNN_MAX_CPU_ISA=avx512_core_vnni"},
        {"int8", "env -u ONEDNN_MAX_CPU_ISA ZEROCLIP_MAX_CPU_ISA=AVX"},
    };
    for (const auto& [precision, env] : cases) {
        const auto r = bench(precision, env);
        ASSERT_EQ(r.status, 0) << r.err;
        EXPECT_EQ(nlohmann::json::parse(r.out)["precision"], "fp32") << precision << " " << env;
        EXPECT_NE(r.err.find("running fp32 instead of " + precision), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("(capped at "), std::string::npos) << r.err;
    }
    // Where the instructions exist, nothing is said.
    for (const std::string precision : {"bf16", "int8"}) {
        if (test::expected_precision(precision) != precision) continue;
        const auto r = bench(precision, "");
        ASSERT_EQ(r.status, 0) << r.err;
        EXPECT_EQ(nlohmann::json::parse(r.out)["precision"], precision);
        EXPECT_EQ(r.err, "");
    }
    // An unknown cap is a one-line error naming the variable.
    const auto bad = bench("fp32", "ZEROCLIP_MAX_CPU_ISA=avx3");
    EXPECT_EQ(bad.status, 1);
    EXPECT_EQ(bad.err.rfind("zeroclip: ZEROCLIP_MAX_CPU_ISA=avx3: unknown ISA", 0), 0u) << bad.err;
    EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1);
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
    // The widest fp32 multiply-add the CPU has under the cap, measured whatever the CPU.
    const std::string fp32_peak = test::cpu_allows_avx512() ? "avx512 vfmadd (fp32)"
                                  : test::cpu_allows_avx2() ? "avx2 vfmadd (fp32)"
                                                            : "sse mulps+addps (fp32)";
    EXPECT_EQ(result["peak_instruction"], fp32_peak);
    EXPECT_GT(result["peak_gflop_per_s"].get<double>(), 1.0);
    EXPECT_GT(result["fraction_of_peak"].get<double>(), 0.0);
    std::filesystem::remove(err);
}

// --peak names and times the instruction that the CPU, under the ISA cap, really has for the
// precision that runs: capped at AVX2, FMA on ymm registers and the three-instruction int8 dot
// product; bf16, which then runs as fp32, gets the fp32 figure.
TEST(Precision, PeakFollowsTheInstructionsUnderTheCap) {
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) GTEST_SKIP() << "no AVX2 on this CPU";
    const auto err = std::filesystem::temp_directory_path() / ("zeroclip_peak_cap_" + std::to_string(::getpid()));
    const std::string model = (test::fixtures_dir() / "models" / "clip-f32-quickgelu").string();
    const std::pair<std::string, std::string> cases[] = {
        {"fp32", "avx2 vfmadd (fp32)"},
        {"bf16", "avx2 vfmadd (fp32)"},
        {"int8", test::expected_precision("int8", "AVX2") == "int8" ? "avx2 vpmaddubsw+vpmaddwd+vpaddd (int8)"
                                                                          : "avx2 vfmadd (fp32)"},
    };
    for (const auto& [precision, instruction] : cases) {
        const auto r = test::run_cli({"bench", "-m", model, "--precision", precision, "--batch-size", "1", "--images",
                                      "1", "--threads", "1", "--json", "--peak"},
                                     err, "env -u ONEDNN_MAX_CPU_ISA ZEROCLIP_MAX_CPU_ISA=AVX2");
        ASSERT_EQ(r.status, 0) << r.err;
        const auto result = nlohmann::json::parse(r.out);
        EXPECT_EQ(result["peak_instruction"], instruction) << precision;
        EXPECT_GT(result["peak_gflop_per_s"].get<double>(), 1.0) << precision;
    }
    std::filesystem::remove(err);
}

}  // namespace
}  // namespace zeroclip
