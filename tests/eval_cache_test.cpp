// Content hashes, the embedding cache file and the dataset embedding pipeline (with a fake
// encoder that counts the images it sees, so no model is needed).
#include <gtest/gtest.h>

#include <fstream>

#include "eval_test_support.h"
#include "test_support.h"
#include "zeroclip/error.h"
#include "zeroclip/eval.h"

namespace fs = std::filesystem;
using namespace zeroclip;

namespace {

class EvalCache : public test::TempDirTest {};

ContentHash hash_of(const std::string& s, uint64_t seed = 0) {
    return hash_bytes({reinterpret_cast<const uint8_t*>(s.data()), s.size()}, seed);
}

// A 32x32 preprocessing with no resize, so a CIFAR image goes through as is.
PreprocessConfig config32() {
    PreprocessConfig c;
    c.shortest_edge = 32;
    c.crop_height = c.crop_width = 32;
    return c;
}

// Embedding = the mean of each channel's pixel values and the first pixel's red value.
struct CountingEncoder {
    size_t images = 0;
    size_t calls = 0;
    Matrix operator()(const float* pixels, int n) {
        ++calls;
        images += n;
        Matrix out{n, 4, std::vector<float>(4 * static_cast<size_t>(n))};
        for (int i = 0; i < n; ++i) {
            const float* p = pixels + static_cast<size_t>(i) * 3 * 1024;
            for (int c = 0; c < 3; ++c) {
                double sum = 0;
                for (int k = 0; k < 1024; ++k) sum += p[c * 1024 + k];
                out.row(i)[c] = static_cast<float>(sum / 1024);
            }
            out.row(i)[3] = p[0];
        }
        return out;
    }
};

}  // namespace

TEST(EvalHash, DistinguishesContentLengthAndSeed) {
    EXPECT_EQ(hash_of("hello world"), hash_of("hello world"));
    EXPECT_FALSE(hash_of("hello world") == hash_of("hello worle"));
    EXPECT_FALSE(hash_of("") == hash_of(std::string(1, '\0')));
    EXPECT_FALSE(hash_of(std::string(8, '\0')) == hash_of(std::string(16, '\0')));
    EXPECT_FALSE(hash_of("abc", 1) == hash_of("abc", 2));
    const ContentHash h = hash_of("x");
    EXPECT_NE(h.lo, h.hi);
}

TEST_F(EvalCache, SaveAndReload) {
    const float a[3] = {1.0f, 2.0f, 3.0f}, b[3] = {-1.0f, 0.5f, 0.25f};
    {
        EmbeddingCache cache(dir_ / "c", "model-fp32", 3);
        EXPECT_EQ(cache.loaded_size(), 0u);
        cache.add(hash_of("a"), a);
        EXPECT_EQ(cache.find(hash_of("a")), nullptr);  // visible after reopening only
        cache.save();
    }
    {
        EmbeddingCache cache(dir_ / "c", "model-fp32", 3);
        ASSERT_EQ(cache.loaded_size(), 1u);
        ASSERT_NE(cache.find(hash_of("a")), nullptr);
        EXPECT_EQ(cache.find(hash_of("a"))[2], 3.0f);
        cache.add(hash_of("b"), b);
        cache.save();
    }
    EmbeddingCache cache(dir_ / "c", "model-fp32", 3);
    EXPECT_EQ(cache.loaded_size(), 2u);
    EXPECT_EQ(cache.find(hash_of("b"))[1], 0.5f);
    EXPECT_EQ(cache.find(hash_of("c")), nullptr);
    EXPECT_EQ(cache.path(), dir_ / "c" / "model-fp32.zcache");

    EXPECT_THROW(EmbeddingCache(dir_ / "c", "model-fp32", 4), Error);  // other dimension
    EXPECT_THROW(EmbeddingCache(dir_ / "c", "../escape", 3), Error);
    const std::string bytes = test::read_file(cache.path());
    test::write_file(cache.path(), bytes.substr(0, bytes.size() - 1));
    EXPECT_THROW(EmbeddingCache(dir_ / "c", "model-fp32", 3), Error);  // truncated
    test::write_file(cache.path(), "garbage");
    EXPECT_THROW(EmbeddingCache(dir_ / "c", "model-fp32", 3), Error);
}

TEST_F(EvalCache, SecondPassEncodesNothing) {
    test::write_file(dir_ / "data" / "batches.meta.txt", "a\nb\n");
    test::write_file(dir_ / "data" / "test_batch.bin", test::cifar_records({{0}, {1}, {1}, {0}, {1}}));
    const Dataset d = read_dataset("cifar10:" + (dir_ / "data").string());

    CountingEncoder plain;
    EmbedOptions options;
    options.batch_size = 2;
    size_t progress_calls = 0, last_done = 0;
    options.on_progress = [&](size_t done, size_t total) {
        ++progress_calls;
        last_done = done;
        EXPECT_EQ(total, 5u);
    };
    const auto reference = embed_dataset(d, config32(), 4, std::ref(plain), options);
    EXPECT_EQ(plain.images, 5u);
    EXPECT_EQ(plain.calls, 3u);
    EXPECT_EQ(progress_calls, 3u);
    EXPECT_EQ(last_done, 5u);
    EXPECT_EQ(reference.encoded, 5u);
    EXPECT_EQ(reference.scored, (std::vector<int>{0, 1, 2, 3, 4}));
    ASSERT_EQ(reference.embeds.rows, 5);

    {
        EmbeddingCache cache(dir_ / "cache", "k", 4);
        CountingEncoder first;
        options.cache = &cache;
        const auto out = embed_dataset(d, config32(), 4, std::ref(first), options);
        EXPECT_EQ(first.images, 5u);
        EXPECT_EQ(out.from_cache, 0u);
        EXPECT_EQ(out.embeds.data, reference.embeds.data);
        cache.save();
    }
    EmbeddingCache cache(dir_ / "cache", "k", 4);
    CountingEncoder second;
    options.cache = &cache;
    const auto out = embed_dataset(d, config32(), 4, std::ref(second), options);
    EXPECT_EQ(second.calls, 0u);
    EXPECT_EQ(out.encoded, 0u);
    EXPECT_EQ(out.from_cache, 5u);
    EXPECT_EQ(out.embeds.data, reference.embeds.data);
    EXPECT_EQ(cache.added_size(), 0u);
}

TEST_F(EvalCache, UnreadableImagesAreSkippedAndReported) {
    test::write_bmp(dir_ / "data" / "cat" / "1.bmp", 40, 30, 200, 10, 10);
    test::write_bmp(dir_ / "data" / "cat" / "2.bmp", 20, 50, 10, 200, 10);
    test::write_file(dir_ / "data" / "dog" / "3.bmp", "BM not really a bitmap");
    test::write_bmp(dir_ / "data" / "dog" / "4.bmp", 33, 33, 10, 10, 200);
    const Dataset d = read_dataset("imagefolder:" + (dir_ / "data").string());
    ASSERT_EQ(d.samples.size(), 4u);

    CountingEncoder encoder;
    EmbedOptions options;
    options.batch_size = 3;
    options.threads = 2;
    std::vector<std::string> reported;
    options.on_failure = [&](const ImageFailure& f) { reported.push_back(f.path.string()); };
    const auto out = embed_dataset(d, config32(), 4, std::ref(encoder), options);
    EXPECT_EQ(out.scored, (std::vector<int>{0, 1, 3}));
    EXPECT_EQ(out.embeds.rows, 3);
    ASSERT_EQ(out.skipped.size(), 1u);
    EXPECT_EQ(out.skipped[0].path, dir_ / "data" / "dog" / "3.bmp");
    EXPECT_NE(out.skipped[0].message.find("3.bmp"), std::string::npos) << out.skipped[0].message;
    EXPECT_EQ(reported, std::vector<std::string>{(dir_ / "data" / "dog" / "3.bmp").string()});
    EXPECT_EQ(encoder.images, 3u);
    // The red image has the largest red mean.
    EXPECT_GT(out.embeds.row(0)[0], out.embeds.row(1)[0]);
}

TEST_F(EvalCache, EncoderReturningTheWrongShapeIsAnError) {
    test::write_file(dir_ / "batches.meta.txt", "a\n");
    test::write_file(dir_ / "test_batch.bin", test::cifar_records({{0}}));
    const Dataset d = read_cifar(dir_, false);
    auto bad = [](const float*, int n) { return Matrix{n, 3, std::vector<float>(3 * static_cast<size_t>(n))}; };
    EXPECT_THROW(embed_dataset(d, config32(), 4, bad, {}), Error);
}

TEST_F(EvalCache, ModelFingerprintFollowsWeightsAndPreprocessing) {
    const fs::path model = dir_ / "model";
    fs::create_directories(model);
    // A minimal safetensors file: header length, JSON header, 64 KiB of data.
    const std::string header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[16384],\"data_offsets\":[0,65536]}}";
    std::string file(8, '\0');
    for (int i = 0; i < 8; ++i) file[i] = static_cast<char>(header.size() >> (8 * i) & 255);
    file += header + std::string(65536, '\x01');
    test::write_file(model / "model.safetensors", file);
    test::write_file(model / "preprocessor_config.json", "{}");
    const std::string base = model_fingerprint(model);
    EXPECT_EQ(base.size(), 32u);
    EXPECT_EQ(model_fingerprint(model), base);

    const auto mtime = fs::last_write_time(model / "model.safetensors");
    std::string changed = file;
    changed[8 + header.size()] = '\x02';  // first data byte
    test::write_file(model / "model.safetensors", changed);
    fs::last_write_time(model / "model.safetensors", mtime);
    EXPECT_NE(model_fingerprint(model), base);

    test::write_file(model / "model.safetensors", file);
    fs::last_write_time(model / "model.safetensors", mtime);
    EXPECT_EQ(model_fingerprint(model), base);
    test::write_file(model / "preprocessor_config.json", "{\"crop_size\": 32}");
    EXPECT_NE(model_fingerprint(model), base);

    EXPECT_THROW(model_fingerprint(dir_), Error);  // no weights
}

// Two caches opened on the same file before either saved (two runs at once): saving merges,
// so neither loses the other's entries (issue 14.8).
TEST_F(EvalCache, SavesMergeWithWhatOthersSavedMeanwhile) {
    const float a[3] = {1.0f, 2.0f, 3.0f}, b[3] = {-1.0f, 0.5f, 0.25f};
    EmbeddingCache first(dir_ / "c", "k", 3), second(dir_ / "c", "k", 3);
    first.add(hash_of("a"), a);
    second.add(hash_of("b"), b);
    first.save();
    second.save();
    const EmbeddingCache reopened(dir_ / "c", "k", 3);
    EXPECT_EQ(reopened.loaded_size(), 2u);
    ASSERT_NE(reopened.find(hash_of("a")), nullptr);
    ASSERT_NE(reopened.find(hash_of("b")), nullptr);
    EXPECT_EQ(reopened.find(hash_of("a"))[1], 2.0f);
    EXPECT_EQ(reopened.find(hash_of("b"))[1], 0.5f);
}
