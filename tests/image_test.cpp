// Decoding every supported format/mode to Pillow's RGB, Pillow-exact BICUBIC resizing, and
// rejection of bad input; expectations come from scripts/make_image_fixtures.py (Pillow 9.4).
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_support.h"
#include "zeroclip/error.h"
#include "zeroclip/image.h"

namespace zeroclip {
namespace {

std::filesystem::path images_dir() { return test::fixtures_dir() / "images"; }
using test::read_bytes;

nlohmann::json fixture_index() {
    std::ifstream in(images_dir() / "index.json");
    return nlohmann::json::parse(in);
}

RgbImage raw_image(const std::string& file, int width, int height) {
    RgbImage image{width, height, read_bytes(images_dir() / file)};
    EXPECT_EQ(image.pixels.size(), static_cast<size_t>(width) * height * 3) << file;
    return image;
}

// Largest per-channel difference, or 256 when the sizes differ.
int max_difference(const RgbImage& a, const RgbImage& b) {
    if (a.width != b.width || a.height != b.height || a.pixels.size() != b.pixels.size()) return 256;
    int diff = 0;
    for (size_t i = 0; i < a.pixels.size(); ++i) diff = std::max(diff, std::abs(int{a.pixels[i]} - int{b.pixels[i]}));
    return diff;
}

// Runs `decode` and returns the zeroclip::Error message ("" when nothing was thrown).
template <typename F>
std::string error_of(F&& decode) {
    try {
        decode();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

TEST(ImageDecode, EveryFixtureMatchesPillow) {
    const auto index = fixture_index();
    ASSERT_GE(index["decode"].size(), 30u);
    for (const auto& entry : index["decode"]) {
        const std::string file = entry["file"];
        SCOPED_TRACE(file);
        const RgbImage expected = raw_image(entry["expected"], entry["width"], entry["height"]);
        const RgbImage decoded = read_image(images_dir() / file);
        EXPECT_EQ(decoded.width, expected.width);
        EXPECT_EQ(decoded.height, expected.height);
        EXPECT_EQ(max_difference(decoded, expected), 0);
    }
}

TEST(ImageDecode, FormatIsSniffedFromContentNotName) {
    const auto bytes = read_bytes(images_dir() / "png_rgb.png");
    const RgbImage a = decode_image(bytes, "misnamed.jpg");
    const RgbImage b = read_image(images_dir() / "png_rgb.png");
    EXPECT_EQ(max_difference(a, b), 0);
}

TEST(ImageResize, MatchesPillowBicubic) {
    const auto index = fixture_index();
    ASSERT_GE(index["resize"].size(), 5u);
    for (const auto& entry : index["resize"]) {
        const std::string expected_file = entry["expected"];
        SCOPED_TRACE(expected_file);
        const RgbImage source = raw_image(entry["source"], entry["source_width"], entry["source_height"]);
        const RgbImage expected = raw_image(expected_file, entry["width"], entry["height"]);
        EXPECT_EQ(max_difference(resize_bicubic(source, expected.width, expected.height), expected), 0);
    }
}

TEST(ImageResize, SameSizeIsACopyAndBadSizesThrow) {
    const RgbImage source = read_image(images_dir() / "png_rgb.png");
    EXPECT_EQ(max_difference(resize_bicubic(source, source.width, source.height), source), 0);
    EXPECT_THROW(resize_bicubic(source, 0, 10), Error);
    EXPECT_THROW(resize_bicubic(RgbImage{}, 10, 10), Error);
}

TEST(ImageErrors, EmptyGarbageAndUnknownFormatsNameTheFile) {
    EXPECT_NE(error_of([] { decode_image({}, "empty.png"); }).find("empty.png"), std::string::npos);
    const std::vector<uint8_t> garbage(300, 0xA5);
    EXPECT_NE(error_of([&] { decode_image(garbage, "garbage.bin"); }).find("garbage.bin"), std::string::npos);
    const std::vector<uint8_t> tiff = {'I', 'I', 42, 0, 8, 0, 0, 0};
    const std::string message = error_of([&] { decode_image(tiff, "scan.tiff"); });
    EXPECT_NE(message.find("scan.tiff"), std::string::npos);
    EXPECT_NE(message.find("unknown image format"), std::string::npos);
    // Right magic, nothing after it.
    for (const char* magic : {"\xFF\xD8\xFF", "\x89PNG\r\n\x1A\n", "GIF89a", "BM", "RIFF\0\0\0\0WEBP"}) {
        const std::vector<uint8_t> stub(magic, magic + (magic[0] == 'R' ? 12 : std::strlen(magic)));
        EXPECT_NE(error_of([&] { decode_image(stub, "stub.img"); }).find("stub.img"), std::string::npos) << magic;
    }
}

TEST(ImageErrors, MissingFileNamesTheFile) {
    const auto path = images_dir() / "does_not_exist.jpg";
    EXPECT_NE(error_of([&] { read_image(path); }).find(path.string()), std::string::npos);
}

TEST(ImageErrors, TruncatedFilesThrow) {
    for (const char* file : {"jpeg_baseline.jpg", "jpeg_progressive.jpg", "png_rgb.png", "png_interlaced.png",
                             "webp_lossy.webp", "webp_lossless.webp", "gif_interlaced_trns.gif", "bmp_24.bmp",
                             "bmp_rle8.bmp"}) {
        SCOPED_TRACE(file);
        const auto bytes = read_bytes(images_dir() / file);
        const std::vector<uint8_t> half(bytes.begin(), bytes.begin() + bytes.size() / 2);
        const std::string name = std::string("cut_") + file;
        EXPECT_NE(error_of([&] { decode_image(half, name); }).find(name), std::string::npos);
    }
}

TEST(ImageErrors, HugeDeclaredDimensionsAreRejectedBeforeAllocating) {
    const auto index = fixture_index();
    ASSERT_EQ(index["invalid"].size(), 4u);
    for (const auto& entry : index["invalid"]) {
        const auto path = images_dir() / entry.get<std::string>();
        const std::string message = error_of([&] { read_image(path); });
        EXPECT_NE(message.find(path.string()), std::string::npos) << message;
        EXPECT_NE(message.find("exceed"), std::string::npos) << message;
    }
}

// Every prefix and a few corrupted copies of every fixture either decode or throw zeroclip::Error.
TEST(ImageErrors, CutAndCorruptedFixturesNeverEscapeAsOtherErrors) {
    const auto index = fixture_index();  // named: a range-for over a temporary's member dangles
    for (const auto& entry : index["decode"]) {
        const std::string file = entry["file"];
        const auto bytes = read_bytes(images_dir() / file);
        for (size_t step = 0; step < 24; ++step) {
            std::vector<uint8_t> data(bytes.begin(), bytes.begin() + bytes.size() * step / 24);
            EXPECT_NO_THROW(error_of([&] { decode_image(data, file); })) << file << " cut at " << data.size();
            data = bytes;
            for (size_t i = 8 + step; i < data.size(); i += 37 + step) data[i] ^= static_cast<uint8_t>(0x5A + step);
            EXPECT_NO_THROW(error_of([&] { decode_image(data, file); })) << file << " corrupted, step " << step;
        }
    }
}

}  // namespace
}  // namespace zeroclip
