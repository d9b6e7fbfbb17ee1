// The zeroclip program end to end: output formats, consistency between commands, exit codes,
// one-line errors and no partial output on failure.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "test_support.h"
#include "util/npy.h"
#include "zeroclip/zeroclip.h"

namespace fs = std::filesystem;
using namespace zeroclip;

namespace {

class Cli : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("zeroclip_cli_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    test::CliResult run(const std::vector<std::string>& args) {
        return test::run_cli(args, dir_ / "stderr.txt");
    }

    static std::string model() { return (test::fixtures_dir() / "models" / "clip-f32-quickgelu").string(); }
    static std::string image(const std::string& name) { return (test::fixtures_dir() / "images" / name).string(); }
    fs::path dir_;
};

int count_lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

}  // namespace

TEST_F(Cli, VersionAndHelp) {
    auto r = run({"--version"});
    EXPECT_EQ(r.status, 0);
    EXPECT_NE(r.out.find(kVersion), std::string::npos);
    for (const char* cmd : {"tokenize", "preprocess", "embed", "classify"}) {
        r = run({cmd, "--help"});
        EXPECT_EQ(r.status, 0) << cmd;
        EXPECT_NE(r.out.find("--model"), std::string::npos) << cmd;
    }
}

TEST_F(Cli, UnknownFlagIsAUsageError) {
    auto r = run({"classify", "-m", model(), "-l", "a,b", "--no-such-flag", image("png_rgb.png")});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("--no-such-flag"), std::string::npos) << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    r = run({"no-such-command"});
    EXPECT_EQ(r.status, 2);
}

TEST_F(Cli, TokenizeMatchesLibraryAndTruncates) {
    const std::string long_text(400, 'x');
    auto r = run({"tokenize", "-m", model(), "a photo of a cat", long_text});
    ASSERT_EQ(r.status, 0) << r.err;
    const auto ids = nlohmann::json::parse(r.out);
    ASSERT_EQ(ids.size(), 2u);
    const auto tok = Tokenizer::from_directory(model());
    EXPECT_EQ(ids[0].get<std::vector<int32_t>>(), tok.encode_for_model("a photo of a cat", 77));
    EXPECT_EQ(ids[1].size(), 77u);
    EXPECT_EQ(ids[1].front(), tok.bos_id());
    EXPECT_EQ(ids[1].back(), tok.eos_id());
}

TEST_F(Cli, PreprocessWritesPixelValues) {
    const fs::path out = dir_ / "px.npy";
    auto r = run({"preprocess", "-m", model(), "-o", out.string(), image("jpeg_baseline.jpg"), image("png_rgb.png")});
    ASSERT_EQ(r.status, 0) << r.err;
    const NpyArray arr = read_npy_f32(out);
    ASSERT_EQ(arr.shape, (std::vector<int64_t>{2, 3, 32, 32}));
    const auto config = PreprocessConfig::from_directory(model(), 32);
    const RgbImage crop = resize_and_crop(read_image(image("png_rgb.png")), config);
    std::vector<float> expected(3 * 32 * 32);
    to_pixel_values(crop, config, expected.data());
    EXPECT_TRUE(std::equal(expected.begin(), expected.end(), arr.data.begin() + 3 * 32 * 32));
}

TEST_F(Cli, EmbedAndClassifyAgree) {
    // classify's probabilities must be softmax(logit_scale * cos) of what embed writes.
    const fs::path img = dir_ / "img.npy", txt = dir_ / "txt.npy";
    const std::vector<std::string> images = {image("jpeg_baseline.jpg"), image("png_rgb.png"), image("webp_lossy.webp")};
    std::vector<std::string> args = {"embed", "-m", model(), "-o", img.string(), "--normalize", "--list"};
    args.insert(args.end(), images.begin(), images.end());
    auto r = run(args);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(count_lines(r.out), 3);
    r = run({"embed", "-m", model(), "-o", txt.string(), "--normalize", "--text", "a photo of a cat.",
             "--text", "a photo of a dog.", "--text", "a photo of a car."});
    ASSERT_EQ(r.status, 0) << r.err;
    const NpyArray ie = read_npy_f32(img), te = read_npy_f32(txt);
    ASSERT_EQ(ie.shape, (std::vector<int64_t>{3, 16}));
    ASSERT_EQ(te.shape, (std::vector<int64_t>{3, 16}));

    args = {"classify", "-m", model(), "-l", "cat,dog,car", "--json", "--top-k", "2"};
    args.insert(args.end(), images.begin(), images.end());
    r = run(args);
    ASSERT_EQ(r.status, 0) << r.err;
    std::istringstream lines(r.out);
    const float scale = Clip::open(model()).logit_scale();
    int row = 0;
    for (std::string line; std::getline(lines, line); ++row) {
        const auto j = nlohmann::json::parse(line);
        EXPECT_EQ(j["image"], images[row]);
        ASSERT_EQ(j["predictions"].size(), 2u);
        double logits[3], sum = 0;
        for (int k = 0; k < 3; ++k) {
            double dot = 0;
            for (int c = 0; c < 16; ++c) dot += ie.data[row * 16 + c] * te.data[k * 16 + c];
            sum += (logits[k] = std::exp(scale * dot));
        }
        const std::vector<std::string> names = {"cat", "dog", "car"};
        double prev = 2.0;
        for (const auto& p : j["predictions"]) {
            const int k = static_cast<int>(std::find(names.begin(), names.end(), p["label"]) - names.begin());
            ASSERT_LT(k, 3);
            EXPECT_NEAR(p["score"].get<double>(), logits[k] / sum, 1e-4);
            EXPECT_LE(p["score"].get<double>(), prev);
            prev = p["score"].get<double>();
        }
    }
    EXPECT_EQ(row, 3);
}

TEST_F(Cli, BadImageIsReportedAndOthersStillProcessed) {
    const fs::path broken = dir_ / "broken.jpg";
    { std::ofstream(broken) << "\xff\xd8\xff garbage"; }
    auto r = run({"classify", "-m", model(), "-l", "cat,dog", "--json", image("png_rgb.png"), broken.string(),
                  (dir_ / "missing.png").string()});
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(count_lines(r.out), 1);
    EXPECT_NE(r.err.find("broken.jpg"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("missing.png"), std::string::npos) << r.err;
}

TEST_F(Cli, DirectoriesExpandSorted) {
    fs::create_directories(dir_ / "imgs" / "b");
    fs::copy_file(image("png_rgb.png"), dir_ / "imgs" / "b" / "x.png");
    fs::copy_file(image("jpeg_baseline.jpg"), dir_ / "imgs" / "a.JPG");
    { std::ofstream(dir_ / "imgs" / "notes.txt") << "not an image"; }
    const fs::path out = dir_ / "e.npy";
    auto r = run({"embed", "-m", model(), "-o", out.string(), "--list", (dir_ / "imgs").string()});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, (dir_ / "imgs" / "a.JPG").string() + "\n" + (dir_ / "imgs" / "b" / "x.png").string() + "\n");
}

TEST_F(Cli, FailuresLeaveNoOutputFile) {
    const fs::path out = dir_ / "never.npy";
    // A model directory with a truncated weights file.
    const fs::path bad_model = dir_ / "bad_model";
    fs::copy(model(), bad_model);
    fs::resize_file(bad_model / "model.safetensors", 100);
    auto r = run({"embed", "-m", bad_model.string(), "-o", out.string(), "--text", "hello"});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("model.safetensors"), std::string::npos) << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_FALSE(fs::exists(out));
    // Only unreadable images.
    r = run({"embed", "-m", model(), "-o", out.string(), (dir_ / "nothing.png").string()});
    EXPECT_EQ(r.status, 1);
    EXPECT_FALSE(fs::exists(out));
    // No labels.
    r = run({"classify", "-m", model(), "-l", " , ", image("png_rgb.png")});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("label"), std::string::npos) << r.err;
    // Missing model directory.
    r = run({"classify", "-m", (dir_ / "no_model").string(), "-l", "a", image("png_rgb.png")});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("no_model"), std::string::npos) << r.err;
    for (const auto& entry : fs::directory_iterator(dir_))
        EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();
}

// The CLI end to end against the reference goldens: tokenize, embed (texts and images).
TEST_F(Cli, GoldensThroughTheCommandLine) {
    ZEROCLIP_REQUIRE_SHARED(shared);
    for (const std::string name : {"tiny", "tiny-bf16", "tiny-gelu-f16"}) {
        const auto golden = nlohmann::json::parse(test::read_file(shared / "conformance" / ("golden-" + name + ".json")));
        const std::string model_dir = (shared / "conformance" / "models" / name).string();
        std::vector<std::string> args = {"tokenize", "-m", model_dir};
        for (const auto& t : golden["texts"]) args.push_back(t.get<std::string>());
        auto r = run(args);
        ASSERT_EQ(r.status, 0) << r.err;
        EXPECT_EQ(nlohmann::json::parse(r.out), golden["input_ids"]) << name;

        auto check = [&](const fs::path& npy, const nlohmann::json& expected, const char* what) {
            const NpyArray got = read_npy_f32(npy);
            ASSERT_EQ(got.shape[0], static_cast<int64_t>(expected.size())) << name << " " << what;
            const size_t dim = static_cast<size_t>(got.shape[1]);
            for (size_t i = 0; i < expected.size(); ++i) {
                double dot = 0, nx = 0, ny = 0, max_ref = 0, max_err = 0;
                for (size_t c = 0; c < dim; ++c) {
                    const double x = got.data[i * dim + c], y = expected[i][c].get<double>();
                    dot += x * y, nx += x * x, ny += y * y;
                    max_ref = std::max(max_ref, std::abs(y));
                    max_err = std::max(max_err, std::abs(x - y));
                }
                EXPECT_GE(dot / std::sqrt(nx * ny), 0.99999) << name << " " << what << " row " << i;
                EXPECT_LE(max_err, 1e-4 * max_ref) << name << " " << what << " row " << i;
            }
        };
        const fs::path texts_npy = dir_ / "texts.npy", images_npy = dir_ / "images.npy";
        const fs::path texts_file = dir_ / "texts.txt";
        {
            std::ofstream out(texts_file);
            for (const auto& t : golden["texts"]) out << t.get<std::string>() << "\n";
        }
        r = run({"embed", "-m", model_dir, "-o", texts_npy.string(), "--file", texts_file.string()});
        ASSERT_EQ(r.status, 0) << r.err;
        check(texts_npy, golden["text_embeds"], "text");
        args = {"embed", "-m", model_dir, "-o", images_npy.string(), "--batch-size", "5"};
        for (const auto& img : golden["images"])
            args.push_back((shared / "conformance" / "images" / img.get<std::string>()).string());
        r = run(args);
        ASSERT_EQ(r.status, 0) << r.err;
        check(images_npy, golden["image_embeds"], "image");
    }
}
