// The packed-weight cache: a hit gives the same bits as packing afresh, a damaged or foreign
// file is rebuilt, concurrent fillers and an unwritable directory still give correct results,
// and the key follows the model file, the precision and the ISA cap.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>

#include "cache/cache_file.h"
#include "test_support.h"
#include "zeroclip/zeroclip.h"

namespace fs = std::filesystem;
using namespace zeroclip;

namespace {

const fs::path kModel = test::fixtures_dir() / "models" / "clip-f32-quickgelu";
const fs::path kImage = test::fixtures_dir() / "images" / "jpeg_baseline.jpg";

class WeightCache : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("zeroclip_weight_cache_" + std::to_string(::getpid()) + "_" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override {
        std::error_code ec;
        fs::permissions(dir_, fs::perms::owner_all, ec);
        fs::remove_all(dir_, ec);
    }

    ModelOptions options(Precision precision, bool enabled = true) {
        ModelOptions o;
        o.precision = precision;
        o.threads = 1;
        o.cache.enabled = enabled;
        o.cache.dir = dir_ / "cache";
        o.cache.note = [this](const std::string& note) { notes_.push_back(note); };
        return o;
    }

    // Text and image embeddings of one opening of the model.
    struct Embeddings {
        Matrix texts, images;
    };
    Embeddings embed(const ModelOptions& o, const fs::path& model = kModel) {
        Clip clip = Clip::open(model, o);
        return {clip.embed_texts({"a photo of a cat", "a diagram of nothing at all"}),
                clip.embed_images({read_image(kImage)})};
    }

    static bool same_bits(const Matrix& a, const Matrix& b) {
        return a.rows == b.rows && a.cols == b.cols &&
               std::memcmp(a.data.data(), b.data.data(), a.data.size() * sizeof(float)) == 0;
    }
    static void expect_same_bits(const Embeddings& a, const Embeddings& b) {
        EXPECT_TRUE(same_bits(a.texts, b.texts));
        EXPECT_TRUE(same_bits(a.images, b.images));
    }

    static std::vector<CacheEntry> weight_entries(const fs::path& dir) {
        std::vector<CacheEntry> entries;
        for (const CacheEntry& e : list_cache(dir))
            if (e.kind == "weights") entries.push_back(e);
        return entries;
    }
    std::vector<fs::path> weight_files() const {
        std::vector<fs::path> files;
        for (const CacheEntry& e : weight_entries(dir_ / "cache")) files.push_back(e.path);
        std::sort(files.begin(), files.end());
        return files;
    }

    static ino_t inode(const fs::path& path) {
        struct stat st {};
        ::stat(path.c_str(), &st);
        return st.st_ino;
    }

    fs::path dir_;
    std::vector<std::string> notes_;
};

class WeightCachePrecision : public WeightCache, public ::testing::WithParamInterface<Precision> {};

TEST_P(WeightCachePrecision, HitAndMissGiveTheSameBitsAsNoCache) {
    const Embeddings uncached = embed(options(GetParam(), false));
    EXPECT_TRUE(weight_files().empty());

    const Embeddings miss = embed(options(GetParam()));
    const auto files = weight_files();
    ASSERT_EQ(files.size(), 2u);  // one per tower
    const ino_t inodes[] = {inode(files[0]), inode(files[1])};
    const Embeddings hit = embed(options(GetParam()));
    // The hit used the files: neither was written again (a rewrite renames a new inode in).
    EXPECT_EQ(weight_files(), files);
    EXPECT_EQ(inode(files[0]), inodes[0]);
    EXPECT_EQ(inode(files[1]), inodes[1]);

    expect_same_bits(uncached, miss);
    expect_same_bits(uncached, hit);
    EXPECT_TRUE(notes_.empty()) << notes_.front();
}

INSTANTIATE_TEST_SUITE_P(Precisions, WeightCachePrecision,
                         ::testing::Values(Precision::Fp32, Precision::Bf16, Precision::Int8),
                         [](const auto& info) {
                             return std::string(info.param == Precision::Fp32   ? "fp32"
                                                : info.param == Precision::Bf16 ? "bf16"
                                                                                : "int8");
                         });

TEST_F(WeightCache, OnlyTheTowerUsedIsPrepared) {
    {
        Clip clip = Clip::open(kModel, options(Precision::Fp32));
        clip.embed_texts({"a cat"});
    }
    const auto files = weight_entries(dir_ / "cache");
    ASSERT_EQ(files.size(), 1u);
    EXPECT_NE(files[0].description.find("text tower of "), std::string::npos) << files[0].description;
}

TEST_F(WeightCache, CorruptTruncatedOldAndForeignFilesAreRebuilt) {
    const Embeddings expected = embed(options(Precision::Fp32, false));
    struct Case {
        const char* name;
        std::function<void(const fs::path&)> damage;
        const char* why;
    };
    const std::vector<Case> cases = {
        {"corrupt", [](const fs::path& f) {
             std::fstream io(f, std::ios::in | std::ios::out | std::ios::binary);
             io.seekp(static_cast<std::streamoff>(fs::file_size(f) / 2));
             char c = 0;
             io.read(&c, 1);
             io.seekp(static_cast<std::streamoff>(fs::file_size(f) / 2));
             c = static_cast<char>(c ^ 0x40);
             io.write(&c, 1);
         }, "corrupt (checksum mismatch)"},
        {"truncated", [](const fs::path& f) { fs::resize_file(f, fs::file_size(f) - 4096); }, "truncated"},
        {"other format version", [](const fs::path& f) {
             std::fstream io(f, std::ios::in | std::ios::out | std::ios::binary);
             io.seekp(8);
             const uint32_t format = 999;
             io.write(reinterpret_cast<const char*>(&format), sizeof format);
         }, "written by another version"},
        {"not a cache file", [](const fs::path& f) { test::write_file(f, std::string(100000, 'x')); },
         "not a zeroclip cache file"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.name);
        fs::remove_all(dir_ / "cache");
        embed(options(Precision::Fp32));
        const auto files = weight_files();
        ASSERT_EQ(files.size(), 2u);
        for (const auto& f : files) c.damage(f);
        notes_.clear();
        expect_same_bits(expected, embed(options(Precision::Fp32)));
        ASSERT_EQ(notes_.size(), 2u);
        for (const auto& note : notes_) {
            EXPECT_NE(note.find(c.why), std::string::npos) << note;
            EXPECT_NE(note.find("rebuilding"), std::string::npos) << note;
        }
        // Damaged files are noted and rebuilt whole: the next run uses them without a word.
        notes_.clear();
        expect_same_bits(expected, embed(options(Precision::Fp32)));
        EXPECT_TRUE(notes_.empty());
        EXPECT_EQ(weight_files(), files);
    }
}

TEST_F(WeightCache, AFileOfAnotherKeyIsNotTrusted) {
    const Embeddings expected = embed(options(Precision::Fp32, false));
    embed(options(Precision::Int8));
    fs::rename(dir_ / "cache", dir_ / "int8");
    embed(options(Precision::Fp32));
    // Each tower's int8 file copied over the fp32 file of the same tower: a valid file, but
    // for another key.
    const auto fp32 = weight_entries(dir_ / "cache");
    const auto int8 = weight_entries(dir_ / "int8");
    ASSERT_EQ(fp32.size(), 2u);
    ASSERT_EQ(int8.size(), 2u);
    for (const auto& target : fp32)
        for (const auto& source : int8)
            if (source.description.substr(0, 6) == target.description.substr(0, 6))
                fs::copy_file(source.path, target.path, fs::copy_options::overwrite_existing);
    notes_.clear();
    expect_same_bits(expected, embed(options(Precision::Fp32)));
    ASSERT_EQ(notes_.size(), 2u);
    for (const auto& note : notes_) EXPECT_NE(note.find("foreign"), std::string::npos) << note;
}

TEST_F(WeightCache, UnwritableCacheStillGivesTheRightNumbers) {
    const Embeddings expected = embed(options(Precision::Fp32, false));
    // A cache "directory" below a regular file cannot be created by anyone, root included.
    test::write_file(dir_ / "file", "x");
    ModelOptions o = options(Precision::Fp32);
    o.cache.dir = dir_ / "file" / "cache";
    expect_same_bits(expected, embed(o));
    ASSERT_EQ(notes_.size(), 1u);  // once, not once per tower
    EXPECT_NE(notes_[0].find("only slower"), std::string::npos) << notes_[0];

    if (::geteuid() == 0) GTEST_SKIP() << "running as root: a read-only directory is still writable";
    fs::create_directories(dir_ / "readonly");
    fs::permissions(dir_ / "readonly", fs::perms::owner_read | fs::perms::owner_exec);
    o.cache.dir = dir_ / "readonly";
    expect_same_bits(expected, embed(o));
    EXPECT_TRUE(list_cache(dir_ / "readonly").empty());
}

TEST_F(WeightCache, KeyFollowsModelFilePrecisionAndIsaCap) {
    // A copy of the model: its weight file is rewritten below.
    const fs::path model = dir_ / "model";
    fs::copy(kModel, model);
    embed(options(Precision::Fp32), model);
    const auto first = weight_files();
    ASSERT_EQ(first.size(), 2u);

    embed(options(Precision::Bf16), model);
    EXPECT_EQ(weight_files().size(), 4u) << "another precision, other files";

    // The same bytes written again (a new modification time) count as another model file.
    const std::string bytes = test::read_file(model / "model.safetensors");
    fs::remove(model / "model.safetensors");
    test::write_file(model / "model.safetensors", bytes);
    const Embeddings rewritten = embed(options(Precision::Fp32), model);
    EXPECT_EQ(weight_files().size(), 6u) << "a rewritten model file, other files";
    expect_same_bits(embed(options(Precision::Fp32, false), model), rewritten);

    // The CLI under an ISA cap (oneDNN reads ONEDNN_MAX_CPU_ISA once per process).
    const fs::path err = dir_ / "err.txt";
    const std::string env = "ZEROCLIP_CACHE=" + test::shell_quote((dir_ / "cache").string());
    const auto capped = test::run_cli({"embed", "-m", model.string(), "-o", (dir_ / "a.npy").string(), "--text", "a cat"},
                                      err, env + " ONEDNN_MAX_CPU_ISA=AVX2");
    ASSERT_EQ(capped.status, 0) << capped.err;
    const auto entries = weight_entries(dir_ / "cache");
    ASSERT_EQ(entries.size(), 7u);
    bool found = false;
    for (const auto& e : entries) found = found || e.description.find("isa avx2,") != std::string::npos;
    EXPECT_TRUE(found) << "no file packed for the AVX2 cap";
}

TEST_F(WeightCache, TwoProcessesFillingAtOnceBothSucceed) {
    const fs::path cache = dir_ / "cache";
    const std::string env = "ZEROCLIP_CACHE=" + test::shell_quote(cache.string());
    const auto run = [&](int i) {
        return test::run_cli({"classify", "-m", kModel.string(), "-l", "cat,dog,truck", "--json", kImage.string()},
                             dir_ / ("err" + std::to_string(i) + ".txt"), env);
    };
    auto a = std::async(std::launch::async, run, 1);
    auto b = std::async(std::launch::async, run, 2);
    const test::CliResult ra = a.get(), rb = b.get();
    ASSERT_EQ(ra.status, 0) << ra.err;
    ASSERT_EQ(rb.status, 0) << rb.err;
    EXPECT_EQ(ra.out, rb.out);
    // One good file per tower (and the labels), no temporary left behind.
    const auto entries = list_cache(cache);
    for (const auto& e : entries) EXPECT_NE(e.kind, "partial") << e.path;
    for (const auto& e : entries) EXPECT_NE(e.kind, "invalid") << e.path;
    const auto again = run(3);
    EXPECT_EQ(again.out, ra.out);
    EXPECT_EQ(again.err, "") << "the files the two left are valid";
}

}  // namespace

namespace {

TEST_F(WeightCache, CachedTokenizerEncodesLikeTheParsedOne) {
    const fs::path dir = test::fixtures_dir() / "tokenizer";
    CacheOptions off;
    off.enabled = false;
    const Tokenizer parsed = Tokenizer::from_directory(dir, off);
    CacheOptions on = options(Precision::Fp32).cache;
    const std::vector<std::string> texts = {"a photo of a cat.", "Hello, WORLD!! 123 don't",
                                            "naïve café – ÀÉÎ 東京 😀", "<|startoftext|>x<|endoftext|>",
                                            std::string(300, 'z') + " antidisestablishmentarianism"};
    const auto check = [&](const Tokenizer& t) {
        EXPECT_EQ(t.bos_id(), parsed.bos_id());
        EXPECT_EQ(t.eos_id(), parsed.eos_id());
        EXPECT_EQ(t.vocab_size(), parsed.vocab_size());
        for (const auto& text : texts) EXPECT_EQ(t.encode(text), parsed.encode(text)) << text;
    };
    check(Tokenizer::from_directory(dir, on));  // parsed, then written
    const auto entries = list_cache(on.dir);
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries[0].kind, "tokenizer");
    check(Tokenizer::from_directory(dir, on));  // from the cache
    EXPECT_TRUE(notes_.empty());

    // Damaged: noted, parsed again, rewritten.
    fs::resize_file(entries[0].path, fs::file_size(entries[0].path) - 8);
    check(Tokenizer::from_directory(dir, on));
    ASSERT_EQ(notes_.size(), 1u);
    EXPECT_NE(notes_[0].find("truncated"), std::string::npos) << notes_[0];
    notes_.clear();
    check(Tokenizer::from_directory(dir, on));
    EXPECT_TRUE(notes_.empty());
}

}  // namespace

namespace {

TEST_F(WeightCache, LabelEmbeddingsAreReusedWithoutTheTextTower) {
    const std::vector<std::string> labels = {"cat", "dog", "garbage truck"};
    const std::vector<std::string> templates = {"a photo of a {}.", "a drawing of a {}."};
    Matrix expected;
    {
        Clip clip = Clip::open(kModel, options(Precision::Fp32, false));
        expected = class_weights(clip, labels, templates);
    }
    const auto labels_files = [&] {
        size_t n = 0;
        for (const auto& e : list_cache(dir_ / "cache")) n += e.kind == "labels";
        return n;
    };
    {
        Clip clip = Clip::open(kModel, options(Precision::Fp32));
        EXPECT_TRUE(same_bits(class_weights(clip, labels, templates), expected));
    }
    EXPECT_EQ(labels_files(), 1u);
    // Without the text tower's file: a hit must not need the tower at all.
    for (const auto& f : weight_files()) fs::remove(f);
    {
        Clip clip = Clip::open(kModel, options(Precision::Fp32));
        EXPECT_TRUE(same_bits(class_weights(clip, labels, templates), expected));
    }
    EXPECT_TRUE(weight_files().empty()) << "the text tower was prepared for cached labels";
    // Other templates, another precision: other entries.
    {
        Clip clip = Clip::open(kModel, options(Precision::Fp32));
        class_weights(clip, labels, {"a photo of a {}."});
    }
    {
        Clip clip = Clip::open(kModel, options(Precision::Bf16));
        class_weights(clip, labels, templates);
    }
    EXPECT_EQ(labels_files(), 3u);
    EXPECT_TRUE(notes_.empty());
}

TEST_F(WeightCache, CacheInfoAndClear) {
    const fs::path err = dir_ / "err.txt";
    const std::string env = "ZEROCLIP_CACHE=" + test::shell_quote((dir_ / "cache").string());
    ASSERT_EQ(test::run_cli({"classify", "-m", kModel.string(), "-l", "cat,dog", kImage.string()}, err, env).status, 0);
    uint64_t total = 0;
    for (const auto& e : list_cache(dir_ / "cache")) total += e.bytes;
    const auto info = test::run_cli({"cache", "info"}, err, env);
    ASSERT_EQ(info.status, 0) << info.err;
    // Header line, then the two towers, the tokenizer and the labels.
    EXPECT_NE(info.out.find((dir_ / "cache").string() + ": 4 files, "), std::string::npos) << info.out;
    EXPECT_NE(info.out.find("vision tower of "), std::string::npos) << info.out;
    EXPECT_NE(info.out.find("text tower of "), std::string::npos) << info.out;
    EXPECT_NE(info.out.find("tokenizer"), std::string::npos) << info.out;
    EXPECT_NE(info.out.find("2 labels (cat, ...) x 1 templates"), std::string::npos) << info.out;

    const auto clear = test::run_cli({"cache", "clear"}, err, env);
    ASSERT_EQ(clear.status, 0) << clear.err;
    char expected[64];
    std::snprintf(expected, sizeof expected, "removed 4 files (%.1f MB)", double(total) / 1e6);
    EXPECT_NE(clear.out.find(expected), std::string::npos) << clear.out;
    EXPECT_TRUE(list_cache(dir_ / "cache").empty());
    EXPECT_EQ(test::run_cli({"cache", "bogus"}, err, env).status, 2);
}

}  // namespace
