// Helpers of the index tests: a scratch directory with copies of fixture images.
#pragma once

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "test_support.h"
#include "zeroclip/zeroclip.h"

namespace zeroclip::test {

inline std::filesystem::path fixture_model() { return fixtures_dir() / "models" / "clip-f32-quickgelu"; }

// Decodable fixture images of distinct content.
inline std::vector<std::string> fixture_image_names() {
    return {"jpeg_baseline.jpg", "png_rgb.png", "webp_lossy.webp", "bmp_24.bmp", "gif_interlaced_trns.gif",
            "png_gray.png", "jpeg_gray.jpg", "png_palette4.png"};
}

class IndexTestDir : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("zeroclip_index_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_ / "photos");
        for (const auto& name : fixture_image_names())
            std::filesystem::copy_file(fixtures_dir() / "images" / name, dir_ / "photos" / name);
    }
    void TearDown() override {
        std::error_code ec;
        std::filesystem::permissions(dir_, std::filesystem::perms::owner_all, std::filesystem::perm_options::add, ec);
        std::filesystem::remove_all(dir_, ec);
    }
    std::filesystem::path photos() const { return dir_ / "photos"; }
    std::filesystem::path db() const { return dir_ / "photos.zcdb"; }
    std::filesystem::path dir_;
};

}  // namespace zeroclip::test
