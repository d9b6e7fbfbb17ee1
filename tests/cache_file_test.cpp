// Cache files written section by section: what the builder writes (its checksum computed as it
// writes) is what a later open() reads back and verifies with its own, one-pass checksum, across
// 16 MiB checksum chunks and 64 KiB write pieces; a changed byte anywhere is caught.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "cache/cache_file.h"

namespace fs = std::filesystem;
using namespace zeroclip;

namespace {

// Section sizes: tiny ones (64-byte alignment), empty ones, odd page-aligned ones, and one that
// spans the first 16 MiB checksum chunk boundary.
const std::vector<size_t> kSizes = {12, 0, 5000, 3, (17u << 20) + 7, 0, 4096, 100001, 1};

// The byte at `index` of section `section`: distinct per section, not periodic in 64 KiB.
std::byte pattern(size_t section, size_t index) {
    return std::byte((index * 2654435761u + section * 97 + (index >> 16)) & 0xff);
}

class CacheFile : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("zeroclip_cache_file_" + std::to_string(::getpid()) + "_" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    // Writes kSizes' sections in stages of `per_stage` sections, filled with pattern().
    std::unique_ptr<MappedCacheFile> write(size_t per_stage) {
        std::string problem;
        auto builder = CacheFileBuilder::create(path(), "key", "a description", kSizes, problem);
        if (!builder) throw std::runtime_error(problem);
        for (size_t first = 0; first < kSizes.size(); first += per_stage) {
            const size_t count = std::min(per_stage, kSizes.size() - first);
            const auto spans = builder->stage(first, count);
            EXPECT_EQ(spans.size(), count);
            for (size_t i = 0; i < count; ++i) {
                EXPECT_EQ(spans[i].size(), kSizes[first + i]);
                for (size_t b = 0; b < spans[i].size(); ++b) spans[i][b] = pattern(first + i, b);
            }
            if (!builder->write_staged(problem)) throw std::runtime_error(problem);
        }
        auto file = builder->commit(problem);
        EXPECT_EQ(problem, "");
        return file;
    }

    static void expect_sections(const MappedCacheFile& file) {
        ASSERT_EQ(file.section_count(), kSizes.size());
        for (size_t s = 0; s < kSizes.size(); ++s) {
            ASSERT_EQ(file.section(s).size(), kSizes[s]);
            if (kSizes[s] >= 4096) {
                EXPECT_EQ(reinterpret_cast<uintptr_t>(file.section(s).data()) % 4096, 0u);
            }
            size_t wrong = 0;
            for (size_t b = 0; b < kSizes[s]; ++b) wrong += file.section(s)[b] != pattern(s, b);
            EXPECT_EQ(wrong, 0u) << "section " << s;
        }
    }

    // XORs the file's byte at `at` with `mask` in place (twice restores it); returns the byte before.
    char put_byte(uint64_t at, char mask) const {
        std::fstream f(path(), std::ios::in | std::ios::out | std::ios::binary);
        char before = 0;
        f.seekg(std::streamoff(at));
        f.get(before);
        f.seekp(std::streamoff(at));
        f.put(char(before ^ mask));
        return before;
    }

    fs::path path() const { return dir_ / "test.zcc"; }
    fs::path dir_;
};

TEST_F(CacheFile, WhatIsWrittenInStagesReadsBackAndPassesTheChecksum) {
    for (const size_t per_stage : {size_t(1), size_t(2), kSizes.size()}) {
        SCOPED_TRACE("sections per stage: " + std::to_string(per_stage));
        fs::remove_all(dir_);
        const auto written = write(per_stage);
        ASSERT_TRUE(written);
        expect_sections(*written);  // the commit's own mapping
        std::string problem;
        const auto opened = MappedCacheFile::open(path(), "key", problem);
        ASSERT_TRUE(opened) << problem;
        expect_sections(*opened);
        // Only the file itself and its verification stamp are left: no temporary.
        std::vector<std::string> names;
        for (const auto& item : fs::directory_iterator(dir_)) names.push_back(item.path().filename().string());
        std::sort(names.begin(), names.end());
        EXPECT_EQ(names, (std::vector<std::string>{"test.zcc", "test.zcc.verified"}));
    }
}

TEST_F(CacheFile, AChangedByteInAnyChunkIsCaught) {
    write(3);
    const uint64_t size = fs::file_size(path());
    ASSERT_GT(size, 16u << 20);
    // In the header, in the first chunk's data, at the chunk boundary, in the last chunk.
    for (const uint64_t at : {uint64_t(8), uint64_t(70000), uint64_t(16u << 20), size - 1}) {
        SCOPED_TRACE("byte " + std::to_string(at));
        const char original = put_byte(at, 0x10);
        std::string problem;
        EXPECT_FALSE(MappedCacheFile::open(path(), "key", problem));
        EXPECT_NE(problem, "");
        EXPECT_EQ(put_byte(at, 0x10), char(original ^ 0x10));  // back as it was
        EXPECT_TRUE(MappedCacheFile::open(path(), "key", problem)) << problem;
    }
}

// Opens the file until a load no longer hashes it (its stamp must be written in a later clock
// tick than the file's last change to be trusted); false if that never happens.
bool settles_unhashed(const fs::path& path) {
    for (int attempt = 0; attempt < 100; ++attempt) {
        const uint64_t hashed = cache_bytes_checksummed();
        std::string problem;
        if (!MappedCacheFile::open(path, "key", problem)) return false;
        if (cache_bytes_checksummed() == hashed) return true;
        ::usleep(10000);
    }
    return false;
}

TEST_F(CacheFile, AVerifiedFileIsHashedAgainOnlyAfterItChanges) {
    write(4);
    ASSERT_TRUE(settles_unhashed(path())) << "a verified, unchanged file is hashed on every load";
    // Any write changes the file's ctime: the stamp no longer vouches, the damage is caught.
    const uint64_t at = fs::file_size(path()) / 2;
    put_byte(at, 0x01);
    std::string problem;
    EXPECT_FALSE(MappedCacheFile::open(path(), "key", problem));
    EXPECT_EQ(problem, "corrupt (checksum mismatch)");
    put_byte(at, 0x01);  // back as it was
    ASSERT_TRUE(settles_unhashed(path()));
    // So does setting the mtime back (ctime moves on), and a copy put in its place (a new inode).
    fs::last_write_time(path(), fs::last_write_time(path()));
    uint64_t hashed = cache_bytes_checksummed();
    EXPECT_TRUE(MappedCacheFile::open(path(), "key", problem)) << problem;
    EXPECT_EQ(cache_bytes_checksummed(), hashed + fs::file_size(path()));
    ASSERT_TRUE(settles_unhashed(path()));
    fs::copy_file(path(), dir_ / "copy.zcc");
    fs::rename(dir_ / "copy.zcc", path());
    hashed = cache_bytes_checksummed();
    EXPECT_TRUE(MappedCacheFile::open(path(), "key", problem)) << problem;
    EXPECT_EQ(cache_bytes_checksummed(), hashed + fs::file_size(path()));
}

TEST_F(CacheFile, AStampFromAnotherBootOrDamagedIsNotTrusted) {
    write(4);
    ASSERT_TRUE(settles_unhashed(path()));
    const fs::path stamp = verification_stamp_path(path());
    std::string original;
    {
        std::ifstream in(stamp, std::ios::binary);
        original.assign(std::istreambuf_iterator<char>(in), {});
    }
    ASSERT_GT(original.size(), 44u);
    std::string other_boot = original;
    other_boot[8] = other_boot[8] == 'a' ? 'b' : 'a';  // the boot id starts at byte 8
    for (const std::string& content : {other_boot, original.substr(0, 30), std::string(original.size(), 'x')}) {
        { std::ofstream(stamp, std::ios::binary | std::ios::trunc) << content; }
        const uint64_t hashed = cache_bytes_checksummed();
        std::string problem;
        EXPECT_TRUE(MappedCacheFile::open(path(), "key", problem)) << problem;
        EXPECT_EQ(cache_bytes_checksummed(), hashed + fs::file_size(path()));
        ASSERT_TRUE(settles_unhashed(path()));  // verified, so stamped again
    }
}

TEST_F(CacheFile, SectionsAreWrittenOnceInOrderAndAllBeforeCommit) {
    std::string problem;
    auto builder = CacheFileBuilder::create(path(), "key", "", kSizes, problem);
    ASSERT_TRUE(builder) << problem;
    EXPECT_THROW(builder->stage(1, 1), std::logic_error);             // skips section 0
    EXPECT_THROW(builder->stage(0, kSizes.size() + 1), std::logic_error);
    builder->stage(0, 2);
    ASSERT_TRUE(builder->write_staged(problem)) << problem;
    EXPECT_THROW(builder->stage(0, 1), std::logic_error);             // written already
    EXPECT_THROW(builder->commit(problem), std::logic_error);         // sections 2.. missing
    builder.reset();
    EXPECT_FALSE(fs::exists(path()));
    EXPECT_TRUE(fs::is_empty(dir_)) << "the temporary file was left behind";
}

TEST_F(CacheFile, PartialFilesOfKilledWritersAreRemovedThoseBeingWrittenKept) {
    fs::create_directories(dir_);
    const auto write_partial = [&](const std::string& name, std::chrono::minutes age) {
        const fs::path p = dir_ / name;
        std::ofstream(p) << "half a file";
        fs::last_write_time(p, fs::file_time_type::clock::now() - age);
        return p;
    };
    const fs::path abandoned = write_partial(".tmp-weights-a.zcc-killed", std::chrono::minutes(5));
    const fs::path just_created = write_partial(".tmp-weights-b.zcc-starting", std::chrono::minutes(0));
    const fs::path stamp = write_partial(".tmp-weights-c.zcc-stamp-killed", std::chrono::minutes(5));
    std::string problem;
    auto live = CacheFileBuilder::create(dir_ / "live.zcc", "key", "", {4096}, problem);
    ASSERT_TRUE(live) << problem;
    EXPECT_FALSE(fs::exists(abandoned)) << "creating a cache file removes what killed writers left";
    EXPECT_FALSE(fs::exists(stamp));
    EXPECT_TRUE(fs::exists(just_created)) << "a writer that has not locked its file yet is spared";

    fs::path live_partial;
    for (const auto& item : fs::directory_iterator(dir_))
        if (item.path().filename().string().starts_with(".tmp-live.zcc-")) live_partial = item.path();
    ASSERT_FALSE(live_partial.empty());
    EXPECT_TRUE(partial_file_is_being_written(live_partial));
    EXPECT_FALSE(partial_file_is_being_written(just_created));
    fs::last_write_time(live_partial, fs::file_time_type::clock::now() - std::chrono::minutes(5));
    EXPECT_EQ(remove_abandoned_partial_files(dir_), 0u);  // both young or held
    EXPECT_TRUE(fs::exists(live_partial)) << "a file being written is never removed, however old";
    fs::last_write_time(just_created, fs::file_time_type::clock::now() - std::chrono::minutes(2));
    EXPECT_EQ(remove_abandoned_partial_files(dir_), std::string("half a file").size());
    EXPECT_FALSE(fs::exists(just_created));
    live->stage(0, 1);
    ASSERT_TRUE(live->write_staged(problem)) << problem;
    ASSERT_TRUE(live->commit(problem)) << problem;
    EXPECT_TRUE(fs::exists(dir_ / "live.zcc"));
    EXPECT_FALSE(fs::exists(live_partial));
}

}  // namespace
