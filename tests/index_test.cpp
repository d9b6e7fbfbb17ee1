// The photo index through its library API: incremental adds, moves, removals, search against
// an independent computation of the cosines, model records, damaged files.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <cmath>
#include <fstream>
#include <map>
#include <set>

#include "index/writer_lock.h"
#include "index_test_support.h"
#include "util/npy.h"

namespace fs = std::filesystem;
using namespace zeroclip;

namespace {

SearchOptions top(int k) {
    SearchOptions options;
    options.top_k = k;
    return options;
}

class IndexTest : public test::IndexTestDir {
protected:
    void SetUp() override {
        IndexTestDir::SetUp();
        clip_ = std::make_unique<Clip>(Clip::open(test::fixture_model()));
    }
    IndexModel model() { return describe_model(test::fixture_model().string(), test::fixture_model(), *clip_); }
    Index create(IndexOptions options = {}) { return Index::create(db(), model(), options); }

    // Unit embedding of one file, computed without the index.
    std::vector<float> expected_embedding(const fs::path& file) {
        Matrix m = clip_->embed_images({read_image(file)});
        std::vector<float> v(m.row(0), m.row(0) + m.cols);
        double n = 0;
        for (float x : v) n += double(x) * x;
        for (float& x : v) x = static_cast<float>(x / std::sqrt(n));
        return v;
    }
    static double cosine(const std::vector<float>& a, const std::vector<float>& b) {
        double d = 0, na = 0, nb = 0;
        for (size_t i = 0; i < a.size(); ++i) d += double(a[i]) * b[i], na += double(a[i]) * a[i], nb += double(b[i]) * b[i];
        return d / std::sqrt(na * nb);
    }
    std::set<std::string> live_paths(Index& index) {
        std::set<std::string> out;
        SearchOptions all;
        all.top_k = 1000;
        all.exact = true;
        for (const auto& hit : index.search(std::vector<float>(index.model().dim, 1.0f), all)) out.insert(hit.path.string());
        return out;
    }
    std::unique_ptr<Clip> clip_;
};

}  // namespace

TEST_F(IndexTest, AddsEveryImageAndSearchScoresAreTheCosines) {
    Index index = create();
    std::vector<std::string> failed;
    const AddProgress p = index.add(*clip_, {photos().string()}, {}, {}, [&](const ImageFailure& f) { failed.push_back(f.message); });
    EXPECT_TRUE(failed.empty());
    const size_t n = test::fixture_image_names().size();
    EXPECT_EQ(p.scanned, n);
    EXPECT_EQ(p.encoded, n);
    EXPECT_EQ(index.stats().images, n);

    const fs::path query_image = photos() / "png_rgb.png";
    const auto query = expected_embedding(query_image);
    SearchOptions options;
    options.top_k = static_cast<int>(n);
    const auto hits = index.search(query, options);
    ASSERT_EQ(hits.size(), n);
    // Several fixtures are one picture in other formats: the query image ties with them at 1.
    EXPECT_NEAR(hits[0].score, 1.0, 1e-5);
    bool found = false;
    for (const auto& h : hits) found = found || (h.path == query_image && std::fabs(h.score - 1.0) < 1e-5);
    EXPECT_TRUE(found);
    for (size_t i = 0; i < hits.size(); ++i) {
        EXPECT_NEAR(hits[i].score, cosine(query, expected_embedding(hits[i].path)), 1e-5) << hits[i].path;
        if (i) {
            EXPECT_GE(hits[i - 1].score, hits[i].score);
        }
        const auto row = index.row(hits[i].row);
        ASSERT_TRUE(row);
        EXPECT_EQ(row->path, hits[i].path);
    }
    // search_image is the same query through the model.
    const auto by_image = index.search_image(*clip_, query_image, options);
    ASSERT_EQ(by_image.size(), n);
    for (size_t i = 0; i < n; ++i) EXPECT_NEAR(by_image[i].score, hits[i].score, 1e-6);
}

TEST_F(IndexTest, ThresholdAndTopKLimitResults) {
    Index index = create();
    index.add(*clip_, {photos().string()});
    const auto query = expected_embedding(photos() / "bmp_24.bmp");
    SearchOptions options;
    options.top_k = 3;
    EXPECT_EQ(index.search(query, options).size(), 3u);
    options.top_k = 100;
    options.threshold = 0.9999f;
    const auto hits = index.search(query, options);
    ASSERT_GE(hits.size(), 1u);
    for (const auto& h : hits) EXPECT_GE(h.score, 0.9999f);
    EXPECT_EQ(hits[0].path, photos() / "bmp_24.bmp");
}

TEST_F(IndexTest, QueryArithmeticSubtractsTheNormalisedNegative) {
    Index index = create();
    index.add(*clip_, {photos().string()});
    Matrix pos = clip_->embed_texts({"a dog on a beach"});
    Matrix neg = clip_->embed_texts({"people"});
    std::vector<float> p(pos.row(0), pos.row(0) + pos.cols), q(neg.row(0), neg.row(0) + neg.cols);
    auto unit = [](std::vector<float> v) {
        double n = 0;
        for (float x : v) n += double(x) * x;
        for (float& x : v) x = static_cast<float>(x / std::sqrt(n));
        return v;
    };
    p = unit(p), q = unit(q);
    std::vector<float> expected(p.size());
    for (size_t i = 0; i < p.size(); ++i) expected[i] = p[i] - q[i];
    expected = unit(expected);
    SearchOptions options;
    options.top_k = 100;
    const auto hits = index.search_text(*clip_, {"a dog on a beach"}, options, {"people"});
    ASSERT_EQ(hits.size(), test::fixture_image_names().size());
    for (const auto& h : hits) EXPECT_NEAR(h.score, cosine(expected, expected_embedding(h.path)), 1e-5);
}

TEST_F(IndexTest, UnchangedTreeEncodesNothingAndTouchedFilesAreNotReencoded) {
    Index index = create();
    index.add(*clip_, {photos().string()});
    AddProgress again = index.add(*clip_, {photos().string()});
    EXPECT_EQ(again.to_encode, 0u);
    EXPECT_EQ(again.encoded, 0u);
    EXPECT_EQ(again.unchanged, test::fixture_image_names().size());

    const fs::path touched = photos() / "png_rgb.png";
    fs::last_write_time(touched, fs::last_write_time(touched) + std::chrono::hours(1));
    const auto before = index.search(expected_embedding(touched), top(1));
    again = index.add(*clip_, {photos().string()});
    EXPECT_EQ(again.to_encode, 0u);
    EXPECT_EQ(again.unchanged, test::fixture_image_names().size());
    const auto after = index.search(expected_embedding(touched), top(1));
    EXPECT_EQ(after[0].row, before[0].row);  // same row: only its mtime changed
}

TEST_F(IndexTest, ChangedContentIsReencodedAndTheOldVectorDropped) {
    Index index = create();
    index.add(*clip_, {photos().string()});
    const fs::path file = photos() / "png_rgb.png";
    fs::copy_file(test::fixtures_dir() / "images" / "png_rgba16.png", file, fs::copy_options::overwrite_existing);
    const AddProgress p = index.add(*clip_, {photos().string()});
    EXPECT_EQ(p.encoded, 1u);
    EXPECT_EQ(index.stats().images, test::fixture_image_names().size());
    // The stored vector of `file` is the new content's.
    SearchOptions options = top(100);
    options.threshold = 0.99999f;
    bool found = false;
    for (const auto& h : index.search(expected_embedding(file), options)) found = found || h.path == file;
    EXPECT_TRUE(found);
    options.threshold.reset();
    for (const auto& h : index.search(expected_embedding(file), options))
        if (h.path == file) {
            EXPECT_NEAR(h.score, 1.0, 1e-5);
        }
    EXPECT_EQ(index.stats().tombstones, 1u);
}

TEST_F(IndexTest, MovedAndCopiedFilesAreRecognisedByContent) {
    Index index = create();
    index.add(*clip_, {photos().string()});
    const auto original = index.search(expected_embedding(photos() / "bmp_24.bmp"), top(1));
    fs::create_directories(photos() / "sub dir");
    fs::rename(photos() / "bmp_24.bmp", photos() / "sub dir" / "moved.bmp");
    fs::copy_file(photos() / "png_rgb.png", photos() / "copy.png");
    const AddProgress p = index.add(*clip_, {photos().string()});
    EXPECT_EQ(p.to_encode, 0u);
    EXPECT_EQ(p.reused, 2u);
    EXPECT_EQ(p.removed, 0u);
    const auto moved = index.search(expected_embedding(photos() / "sub dir" / "moved.bmp"), top(1));
    EXPECT_EQ(moved[0].row, original[0].row);  // the same row, with its new path
    EXPECT_EQ(moved[0].path, photos() / "sub dir" / "moved.bmp");
    const auto paths = live_paths(index);
    EXPECT_EQ(paths.count((photos() / "bmp_24.bmp").string()), 0u);
    EXPECT_EQ(paths.count((photos() / "copy.png").string()), 1u);
    EXPECT_EQ(paths.size(), test::fixture_image_names().size() + 1);
}

TEST_F(IndexTest, DeletedFilesAndDirectoriesAreDropped) {
    fs::create_directories(photos() / "album");
    fs::copy_file(test::fixtures_dir() / "images" / "png_rgba.png", photos() / "album" / "a.png");
    Index index = create();
    index.add(*clip_, {photos().string()});
    const size_t n = test::fixture_image_names().size() + 1;
    EXPECT_EQ(index.stats().images, n);

    fs::remove(photos() / "jpeg_baseline.jpg");
    fs::remove_all(photos() / "album");
    AddProgress p = index.add(*clip_, {photos().string()});
    EXPECT_EQ(p.removed, 2u);
    EXPECT_EQ(index.stats().images, n - 2);
    EXPECT_EQ(live_paths(index).count((photos() / "album" / "a.png").string()), 0u);

    // The whole collection's directory deleted: reported, and its images dropped.
    fs::remove_all(photos());
    std::vector<std::string> failures;
    p = index.add(*clip_, {photos().string()}, {}, {}, [&](const ImageFailure& f) { failures.push_back(f.message); });
    ASSERT_EQ(failures.size(), 1u);
    EXPECT_NE(failures[0].find("no such file"), std::string::npos) << failures[0];
    EXPECT_EQ(index.stats().images, 0u);
    EXPECT_TRUE(index.search(std::vector<float>(index.model().dim, 1.0f)).empty());
}

TEST_F(IndexTest, OnlyPathsUnderTheGivenInputsAreDropped) {
    Index index = create();
    index.add(*clip_, {photos().string()});
    fs::create_directories(dir_ / "other");
    fs::copy_file(test::fixtures_dir() / "images" / "png_rgba.png", dir_ / "other" / "x.png");
    index.add(*clip_, {(dir_ / "other").string()});
    EXPECT_EQ(index.stats().images, test::fixture_image_names().size() + 1);
}

TEST_F(IndexTest, RemoveTombstonesFilesAndDirectories) {
    Index index = create();
    index.add(*clip_, {photos().string()});
    EXPECT_EQ(index.remove({(photos() / "png_rgb.png").string()}), 1u);
    EXPECT_EQ(index.stats().images, test::fixture_image_names().size() - 1);
    EXPECT_EQ(live_paths(index).count((photos() / "png_rgb.png").string()), 0u);
    EXPECT_EQ(index.remove({photos().string()}), test::fixture_image_names().size() - 1);
    EXPECT_EQ(index.stats().images, 0u);
    // A removed file added again takes its old vector back instead of being encoded.
    const AddProgress p = index.add(*clip_, {photos().string()});
    EXPECT_EQ(p.to_encode, 0u);
    EXPECT_EQ(p.reused, test::fixture_image_names().size());
}

TEST_F(IndexTest, EmptyCollection) {
    fs::create_directories(dir_ / "empty");
    Index index = create();
    const AddProgress p = index.add(*clip_, {(dir_ / "empty").string()});
    EXPECT_EQ(p.scanned, 0u);
    EXPECT_EQ(index.stats().images, 0u);
    EXPECT_TRUE(index.search_text(*clip_, {"anything"}).empty());
    EXPECT_TRUE(index.near_duplicates().empty());
}

TEST_F(IndexTest, ModelMismatchNamesBothModels) {
    { Index index = create(); }
    const fs::path other_dir = test::fixtures_dir() / "models" / "clip-bf16-tanh-eos2";
    Clip other = Clip::open(other_dir);
    const IndexModel other_model = describe_model(other_dir.string(), other_dir, other);
    try {
        Index::create(db(), other_model);
        FAIL() << "no error";
    } catch (const Error& e) {
        const std::string message = e.what();
        EXPECT_NE(message.find("clip-f32-quickgelu"), std::string::npos) << message;
        EXPECT_NE(message.find("clip-bf16-tanh-eos2"), std::string::npos) << message;
    }
    Index index = Index::open(db());
    EXPECT_THROW(index.check_model(other_model), Error);
    EXPECT_NO_THROW(index.check_model(model()));
    // Another precision of the same model is another model too.
    IndexModel bf16 = model();
    bf16.precision = "bf16";
    EXPECT_THROW(index.check_model(bf16), Error);
}

TEST_F(IndexTest, OpenModelReopensTheRecordedModel) {
    { create(); }
    Index index = Index::open(db());
    Clip clip = index.open_model();
    EXPECT_EQ(clip.config().projection_dim, index.model().dim);
}

TEST_F(IndexTest, ForeignAndDamagedDatabasesAreClearErrors) {
    auto expect_error = [&](const fs::path& file, const std::string& expected) {
        try {
            Index::open(file);
            FAIL() << "no error for " << file;
        } catch (const Error& e) {
            const std::string message = e.what();
            EXPECT_NE(message.find(file.string()), std::string::npos) << message;
            EXPECT_NE(message.find(expected), std::string::npos) << message;
        }
    };
    expect_error(dir_ / "missing.zcdb", "no such index");
    test::write_file(dir_ / "garbage.zcdb", std::string(4096, 'x'));
    expect_error(dir_ / "garbage.zcdb", "not a zeroclip index");
    {
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open((dir_ / "foreign.zcdb").c_str(), &db), SQLITE_OK);
        sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES(1);", nullptr, nullptr, nullptr);
        sqlite3_close(db);
    }
    expect_error(dir_ / "foreign.zcdb", "not a zeroclip index");
    // A real index with its page data overwritten.
    {
        Index index = create();
        index.add(*clip_, {photos().string()});
    }
    std::string bytes = test::read_file(db());
    ASSERT_GT(bytes.size(), 8192u);
    for (size_t i = 100; i < bytes.size(); i += 7) bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
    fs::remove(db().string() + "-wal");
    fs::remove(db().string() + "-shm");
    test::write_file(db(), bytes);
    try {
        Index index = Index::open(db());
        index.search(std::vector<float>(index.model().dim, 1.0f));
        FAIL() << "no error for a damaged database";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(db().string()), std::string::npos) << e.what();
    }
}

TEST_F(IndexTest, SecondWriterFailsClearly) {
    Index index = create();
    index::WriterLock held(db());  // as another process's add would hold it
    try {
        index.add(*clip_, {photos().string()});
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("another zeroclip process"), std::string::npos) << e.what();
    }
    EXPECT_EQ(index.stats().images, 0u);
}

TEST_F(IndexTest, OddFileNames) {
    fs::copy_file(photos() / "png_rgb.png", photos() / "with  spaces and 'quotes'.png");
    const std::string latin1 = std::string("caf") + char(0xe9) + ".png";  // not UTF-8
    fs::copy_file(photos() / "bmp_24.bmp", photos() / latin1);
    Index index = create();
    index.add(*clip_, {photos().string()});
    const auto paths = live_paths(index);
    EXPECT_EQ(paths.count((photos() / latin1).string()), 1u);
    EXPECT_EQ(paths.count((photos() / "with  spaces and 'quotes'.png").string()), 1u);
    EXPECT_EQ(index.stats().images, test::fixture_image_names().size() + 2);
    const fs::path jsonl = dir_ / "out.jsonl";
    EXPECT_EQ(index.export_jsonl(jsonl), test::fixture_image_names().size() + 2);
}

TEST_F(IndexTest, NearDuplicatesGroupCopies) {
    fs::copy_file(photos() / "png_rgb.png", photos() / "copy1.png");
    fs::copy_file(photos() / "png_rgb.png", photos() / "copy2.png");
    Index index = create();
    index.add(*clip_, {photos().string()});
    // Reference: every pair's cosine from independently computed embeddings.
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(photos())) files.push_back(e.path());
    std::map<fs::path, std::vector<float>> emb;
    for (const auto& f : files) emb[f] = expected_embedding(f);
    const float threshold = 0.9999f;
    const auto groups = index.near_duplicates(threshold);
    ASSERT_GE(groups.size(), 1u);
    std::set<fs::path> grouped;
    for (const auto& g : groups) {
        ASSERT_GE(g.size(), 2u);
        for (const auto& h : g) {
            grouped.insert(h.path);
            bool linked = false;
            for (const auto& o : g)
                if (o.path != h.path && cosine(emb[h.path], emb[o.path]) >= threshold - 1e-5) linked = true;
            EXPECT_TRUE(linked) << h.path;
        }
    }
    EXPECT_TRUE(grouped.count(photos() / "copy1.png") && grouped.count(photos() / "copy2.png") &&
                grouped.count(photos() / "png_rgb.png"));
    for (const auto& a : files)
        for (const auto& b : files)
            if (a < b && cosine(emb[a], emb[b]) >= threshold + 1e-5) {
                EXPECT_TRUE(grouped.count(a) && grouped.count(b)) << a << " " << b;
            }
}

TEST_F(IndexTest, ExportWritesTheStoredVectorsAndPaths) {
    Index index = create();
    index.add(*clip_, {photos().string()});
    const fs::path npy = dir_ / "v.npy", paths = dir_ / "v.paths.txt";
    const size_t n = index.export_npy(npy, paths);
    EXPECT_EQ(n, test::fixture_image_names().size());
    const NpyArray array = read_npy_f32(npy);
    ASSERT_EQ(array.shape, (std::vector<int64_t>{static_cast<int64_t>(n), index.model().dim}));
    std::ifstream in(paths);
    std::string line;
    for (size_t r = 0; r < n; ++r) {
        ASSERT_TRUE(std::getline(in, line));
        const auto expected = expected_embedding(line);
        std::vector<float> got(array.data.begin() + r * index.model().dim, array.data.begin() + (r + 1) * index.model().dim);
        EXPECT_NEAR(cosine(got, expected), 1.0, 1e-6) << line;
    }
    const fs::path jsonl = dir_ / "v.jsonl";
    EXPECT_EQ(index.export_jsonl(jsonl), n);
    std::ifstream jin(jsonl);
    size_t lines = 0;
    while (std::getline(jin, line)) {
        const auto j = nlohmann::json::parse(line);
        EXPECT_EQ(j["embedding"].size(), static_cast<size_t>(index.model().dim));
        EXPECT_NEAR(cosine(j["embedding"].get<std::vector<float>>(), expected_embedding(j["path"].get<std::string>())), 1.0, 1e-6);
        ++lines;
    }
    EXPECT_EQ(lines, n);
}

// The directory walk follows each folder once (by device and inode), so a loop adds nothing.
TEST_F(IndexTest, SymlinkLoopIndexesEachFileOnce) {
    fs::create_directories(photos() / "loop");
    fs::create_symlink("..", photos() / "loop" / "back");
    Index index = create();
    index.add(*clip_, {photos().string()});
    EXPECT_EQ(index.stats().images, test::fixture_image_names().size());
    EXPECT_EQ(index.add(*clip_, {photos().string()}).to_encode, 0u);
}
