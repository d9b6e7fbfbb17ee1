// Helpers for the evaluation tests: temporary folders and small image/dataset files.
#pragma once

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "test_support.h"

namespace zeroclip::test {

// A fresh folder named after the running test, removed at the end.
class TempDirTest : public ::testing::Test {
protected:
    void SetUp() override {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        dir_ = std::filesystem::temp_directory_path() /
               ("zeroclip_" + std::string(info->test_suite_name()) + "_" + info->name() + "_" +
                std::to_string(::getpid()));
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::filesystem::path dir_;
};

// An uncompressed 24-bit bottom-up BMP of one colour with a lighter diagonal.
inline void write_bmp(const std::filesystem::path& path, int width, int height, uint8_t r, uint8_t g,
                      uint8_t b) {
    const int stride = (3 * width + 3) / 4 * 4;
    const uint32_t data_size = static_cast<uint32_t>(stride * height);
    std::string out;
    auto u16 = [&](uint32_t v) { out += static_cast<char>(v & 255), out += static_cast<char>(v >> 8 & 255); };
    auto u32 = [&](uint32_t v) { u16(v & 0xFFFF), u16(v >> 16); };
    out += "BM";
    u32(54 + data_size), u32(0), u32(54);
    u32(40), u32(static_cast<uint32_t>(width)), u32(static_cast<uint32_t>(height)), u16(1), u16(24);
    u32(0), u32(data_size), u32(2835), u32(2835), u32(0), u32(0);
    for (int y = height - 1; y >= 0; --y) {
        for (int x = 0; x < width; ++x) {
            const bool diagonal = x == y;
            out += static_cast<char>(diagonal ? 255 : b);
            out += static_cast<char>(diagonal ? 255 : g);
            out += static_cast<char>(diagonal ? 255 : r);
        }
        out.append(static_cast<size_t>(stride - 3 * width), '\0');
    }
    write_file(path, out);
}

// CIFAR binary records: label byte(s) then 1024 R, 1024 G, 1024 B; pixel (p, c) = p + 7 * c + record.
inline std::string cifar_records(const std::vector<std::vector<uint8_t>>& labels) {
    std::string out;
    for (size_t r = 0; r < labels.size(); ++r) {
        for (uint8_t l : labels[r]) out += static_cast<char>(l);
        for (int c = 0; c < 3; ++c)
            for (int p = 0; p < 1024; ++p) out += static_cast<char>((p + 7 * c + static_cast<int>(r)) & 255);
    }
    return out;
}

}  // namespace zeroclip::test
