// CLIPImageProcessor parity: config parsing, resize + centre crop, pixel values, and bit-exact
// crops on the shared conformance images.
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_support.h"
#include "zeroclip/error.h"
#include "zeroclip/preprocess.h"

namespace zeroclip {
namespace {

std::filesystem::path images_dir() { return test::fixtures_dir() / "images"; }
using test::read_bytes;

// A scratch directory removed at the end of the test.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        path = std::filesystem::temp_directory_path() /
               ("zeroclip_" + std::string(info->test_suite_name()) + "_" + info->name() + "_" +
                std::to_string(reinterpret_cast<uintptr_t>(this)));
        std::filesystem::create_directories(path);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    std::filesystem::path write(const std::string& name, const std::string& text) const {
        std::ofstream(path / name) << text;
        return path / name;
    }
};

std::string error_of(const std::filesystem::path& json) {
    try {
        PreprocessConfig::from_file(json);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

TEST(PreprocessConfig, ReadsTransformersFormsAndDefaults) {
    TempDir dir;
    const auto full = PreprocessConfig::from_file(dir.write("a.json", R"({
        "size": {"shortest_edge": 336}, "crop_size": {"height": 320, "width": 300},
        "do_center_crop": false, "do_normalize": false, "rescale_factor": 0.5,
        "image_mean": [0.1, 0.2, 0.3], "image_std": 0.5, "resample": 3})"));
    EXPECT_EQ(full.shortest_edge, 336);
    EXPECT_EQ(full.resize_height, 0);
    // Without a centre crop transformers ignores crop_size: pixel_values are the resize's size.
    EXPECT_EQ(full.crop_height, 336);
    EXPECT_EQ(full.crop_width, 336);
    EXPECT_FALSE(full.do_center_crop);
    EXPECT_FALSE(full.do_normalize);
    EXPECT_TRUE(full.do_resize);
    EXPECT_EQ(full.rescale_factor, 0.5);
    EXPECT_EQ(full.mean[2], 0.3f);
    EXPECT_EQ(full.std[1], 0.5f);

    const auto legacy = PreprocessConfig::from_file(dir.write("b.json", R"({"size": 224, "crop_size": 200})"));
    EXPECT_EQ(legacy.shortest_edge, 224);
    EXPECT_EQ(legacy.crop_height, 200);
    EXPECT_EQ(legacy.crop_width, 200);
    EXPECT_EQ(legacy.mean, PreprocessConfig{}.mean);
    EXPECT_EQ(legacy.rescale_factor, 1.0 / 255.0);

    const auto exact = PreprocessConfig::from_file(dir.write("c.json", R"({"size": {"height": 64, "width": 48}})"));
    EXPECT_EQ(exact.resize_height, 64);
    EXPECT_EQ(exact.resize_width, 48);
}

TEST(PreprocessConfig, RejectsUnsupportedValuesNamingTheFile) {
    TempDir dir;
    for (const char* text : {R"({"resample": 2})", R"({"size": {"longest_edge": 5}})", R"({"crop_size": -1})",
                             R"({"size": 1000000})", R"({"do_resize": "yes"})", R"({"image_mean": [1, 2]})",
                             R"({"image_std": [1, 0, 1]})", R"({"size": )", "[1, 2]"}) {
        const auto path = dir.write("bad.json", text);
        EXPECT_NE(error_of(path).find(path.string()), std::string::npos) << text;
    }
    EXPECT_NE(error_of(dir.path / "absent.json").find("absent.json"), std::string::npos);
}

TEST(PreprocessConfig, DirectoryWithoutConfigUsesClipDefaultsAtImageSize) {
    TempDir dir;
    const auto config = PreprocessConfig::from_directory(dir.path, 64);
    EXPECT_EQ(config.shortest_edge, 64);
    EXPECT_EQ(config.crop_height, 64);
    EXPECT_EQ(config.crop_width, 64);
    EXPECT_EQ(config.resample, 3);
    dir.write("preprocessor_config.json", R"({"size": 32, "crop_size": 30})");
    EXPECT_EQ(PreprocessConfig::from_directory(dir.path, 64).crop_width, 30);
}

TEST(Preprocess, CropAndPixelValuesMatchTransformers) {
    std::ifstream in(images_dir() / "index.json");
    const auto index = nlohmann::json::parse(in);
    ASSERT_EQ(index["preprocess"].size(), 2u);
    for (const auto& entry : index["preprocess"]) {
        const std::string expected_file = entry["expected"];
        SCOPED_TRACE(expected_file);
        const auto config = PreprocessConfig::from_file(images_dir() / entry["config"].get<std::string>());
        const RgbImage source{entry["source_width"], entry["source_height"], read_bytes(images_dir() / entry["source"].get<std::string>())};
        const RgbImage crop = resize_and_crop(source, config);
        ASSERT_EQ(crop.width, entry["width"].get<int>());
        ASSERT_EQ(crop.height, entry["height"].get<int>());
        EXPECT_EQ(crop.pixels, read_bytes(images_dir() / expected_file));

        std::vector<float> values(3 * static_cast<size_t>(crop.width) * crop.height);
        to_pixel_values(crop, config, values.data());
        const auto expected = read_bytes(images_dir() / entry["pixel_values"].get<std::string>());
        ASSERT_EQ(expected.size(), values.size() * sizeof(float));
        EXPECT_EQ(std::memcmp(expected.data(), values.data(), expected.size()), 0) << "pixel values differ";
    }
}

TEST(Preprocess, SmallImagesArePaddedWithZerosAroundTheCentre) {
    PreprocessConfig config;
    config.do_resize = false;
    config.crop_height = 4;
    config.crop_width = 5;
    const RgbImage pixel{1, 1, {10, 20, 30}};
    const RgbImage crop = resize_and_crop(pixel, config);
    ASSERT_EQ(crop.width, 5);
    ASSERT_EQ(crop.height, 4);
    for (int y = 0; y < 4; ++y) {
        for (int x = 0; x < 5; ++x) {
            const bool centre = y == 2 && x == 2;  // offsets (1 - 4) // 2 = -2, (1 - 5) // 2 = -2
            EXPECT_EQ(crop.pixels[(y * 5 + x) * 3], centre ? 10 : 0) << y << "," << x;
        }
    }
}

TEST(Preprocess, ConformanceCropsAreBitExact) {
    ZEROCLIP_REQUIRE_SHARED(shared);
    const auto conformance = shared / "conformance";
    const PreprocessConfig config = PreprocessConfig::from_file(conformance / "models/tiny/preprocessor_config.json");
    int total = 0, exact = 0;
    std::string differing;
    for (const auto& entry : std::filesystem::directory_iterator(conformance / "preprocess-224")) {
        if (entry.path().extension() != ".png") continue;
        ++total;
        const std::string image_name = entry.path().stem().string();  // "<image>.png" -> "<image>"
        const RgbImage golden = read_image(entry.path());
        const RgbImage crop = resize_and_crop(read_image(conformance / "images" / image_name), config);
        if (crop.width == golden.width && crop.height == golden.height && crop.pixels == golden.pixels) ++exact;
        else differing += "\n  " + image_name;
    }
    std::printf("[ conformance ] %d/%d preprocess-224 crops bit-exact\n", exact, total);
    EXPECT_EQ(total, 144);
    EXPECT_EQ(exact, total) << "differing crops:" << differing;
}

}  // namespace
}  // namespace zeroclip
