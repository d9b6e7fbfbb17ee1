// .npy writing and reading, and atomic output files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "util/atomic_file.h"
#include "util/npy.h"
#include "zeroclip/error.h"

using namespace zeroclip;

namespace {
std::filesystem::path temp_path(const std::string& name) {
    return std::filesystem::temp_directory_path() /
           ("zeroclip_npy_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + name);
}
}  // namespace

TEST(Npy, HeaderIsAlignedAndDescribesShape) {
    const std::string h = npy_header_f32({4, 3, 224, 224});
    EXPECT_EQ(h.size() % 64, 0u);
    EXPECT_EQ(h.substr(1, 5), "NUMPY");
    EXPECT_NE(h.find("'shape': (4, 3, 224, 224)"), std::string::npos);
    EXPECT_EQ(h.back(), '\n');
    EXPECT_NE(npy_header_f32({7}).find("'shape': (7,)"), std::string::npos);
}

TEST(Npy, RoundTrip) {
    const auto path = temp_path("rt.npy");
    const std::vector<float> data = {1.5f, -2.0f, 3.25f, 0.0f, 1e-8f, 7.0f};
    write_npy_f32(path, {2, 3}, data.data());
    const NpyArray back = read_npy_f32(path);
    EXPECT_EQ(back.shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(back.data, data);
    std::filesystem::remove(path);
}

TEST(Npy, ReadRejectsGarbageAndTruncation) {
    const auto path = temp_path("bad.npy");
    { std::ofstream(path) << "not numpy at all"; }
    EXPECT_THROW(read_npy_f32(path), Error);
    const std::vector<float> data(6, 1.0f);
    write_npy_f32(path, {2, 3}, data.data());
    std::filesystem::resize_file(path, std::filesystem::file_size(path) - 4);
    EXPECT_THROW(read_npy_f32(path), Error);
    std::filesystem::remove(path);
}

TEST(AtomicFile, UncommittedLeavesNothing) {
    const auto path = temp_path("atomic.txt");
    {
        AtomicFile file(path);
        file.stream() << "partial";
    }
    EXPECT_FALSE(std::filesystem::exists(path));
    {
        AtomicFile file(path);
        file.stream() << "whole";
        file.commit();
    }
    EXPECT_TRUE(std::filesystem::exists(path));
    std::filesystem::remove(path);
}

TEST(AtomicFile, UnwritableDirectoryThrows) {
    EXPECT_THROW(AtomicFile("/nonexistent-dir/zeroclip/out.npy"), Error);
}
