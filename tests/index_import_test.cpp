// Index::import_shards and `zeroclip index --import`: the shards of zeroclip.dask.embed (written
// here as dask.py writes them) stored without encoding, checked against embeddings computed
// without the index, then seen as unchanged by add(); bad shards import nothing.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cmath>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "index_test_support.h"
#include "util/npy.h"

namespace fs = std::filesystem;
using namespace zeroclip;

namespace {

class IndexImport : public test::IndexTestDir {
protected:
    void SetUp() override {
        IndexTestDir::SetUp();
        clip_ = std::make_unique<Clip>(Clip::open(test::fixture_model()));
        model_ = describe_model(test::fixture_model().string(), test::fixture_model(), *clip_);
        names_ = test::fixture_image_names();
    }
    fs::path shards() const { return dir_ / "shards"; }

    // What dask.py's _embed_partition writes for these files: raw image features (not
    // normalised), each file's [size, mtime_ns], the model record. Paths are written relative
    // to `cwd` when it is given.
    nlohmann::json write_shard(int number, const std::vector<std::string>& names, const fs::path& cwd = {}) {
        fs::create_directories(shards());
        std::vector<RgbImage> images;
        nlohmann::json paths = nlohmann::json::array(), files = nlohmann::json::array();
        for (const auto& name : names) {
            const fs::path file = photos() / name;
            images.push_back(read_image(file));
            paths.push_back(cwd.empty() ? file.string() : file.lexically_relative(cwd).string());
            struct stat st {};
            ::stat(file.c_str(), &st);
            files.push_back({static_cast<int64_t>(st.st_size),
                             static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec});
        }
        const Matrix features = clip_->embed_images(images);
        char base[32];
        std::snprintf(base, sizeof base, "shard-%05d", number);
        write_npy_f32(shards() / (std::string(base) + ".npy"), {features.rows, features.cols}, features.row(0));
        nlohmann::json meta = {{"inputs", paths},        {"paths", paths},
                               {"files", files},         {"failed", nlohmann::json::array()},
                               {"model", model_.id},     {"fingerprint", model_.fingerprint},
                               {"precision", model_.precision}, {"dim", model_.dim},
                               {"cwd", cwd.empty() ? fs::current_path().string() : cwd.string()}};
        write_json(number, meta);
        return meta;
    }
    void write_json(int number, const nlohmann::json& meta) {
        char name[32];
        std::snprintf(name, sizeof name, "shard-%05d.json", number);
        test::write_file(shards() / name, meta.dump());
    }
    fs::path npy(int number) const {
        char name[32];
        std::snprintf(name, sizeof name, "shard-%05d.npy", number);
        return shards() / name;
    }

    // The unit embedding of a file, computed without the index.
    std::vector<float> expected_embedding(const fs::path& file) {
        Matrix m = clip_->embed_images({read_image(file)});
        std::vector<float> v(m.row(0), m.row(0) + m.cols);
        double n = 0;
        for (float x : v) n += double(x) * x;
        for (float& x : v) x = static_cast<float>(x / std::sqrt(n));
        return v;
    }
    // Path -> stored embedding of every live row.
    std::map<std::string, std::vector<float>> stored(Index& index) {
        std::map<std::string, std::vector<float>> out;
        SearchOptions all;
        all.top_k = 1000;
        all.exact = true;
        for (const auto& hit : index.search(std::vector<float>(index.model().dim, 1.0f), all))
            out[hit.path.string()] = *index.embedding(hit.row);
        return out;
    }
    // An add that must not encode: opening the model is a test failure.
    AddProgress add_without_model(Index& index) {
        return index.add(
            [&]() -> Clip& {
                ADD_FAILURE() << "add() wanted to encode";
                return *clip_;
            },
            {photos().string()});
    }

    std::unique_ptr<Clip> clip_;
    IndexModel model_;
    std::vector<std::string> names_;
};

TEST_F(IndexImport, StoresTheShardsVectorsAndAddThenEncodesNothing) {
    const std::vector<std::string> first(names_.begin(), names_.begin() + 3), second(names_.begin() + 3, names_.end());
    write_shard(0, first);
    write_shard(1, second, dir_);  // relative paths, resolved against the worker's cwd
    Index index = Index::create(db(), model_);
    std::vector<std::string> failures;
    size_t calls = 0;
    const ImportProgress p = index.import_shards(
        shards(), [&](const ImportProgress&) { ++calls; }, [&](const ImageFailure& f) { failures.push_back(f.message); });
    EXPECT_TRUE(failures.empty()) << failures.front();
    EXPECT_EQ(p.shards, 2u);
    EXPECT_EQ(p.total_rows, names_.size());
    EXPECT_EQ(p.rows, names_.size());
    EXPECT_EQ(p.imported, names_.size());
    EXPECT_EQ(p.unchanged, 0u);
    EXPECT_EQ(calls, 3u);  // once checked, then once per shard

    const auto vectors = stored(index);
    ASSERT_EQ(vectors.size(), names_.size());
    for (const auto& name : names_) {
        const std::string path = (photos() / name).string();
        ASSERT_TRUE(vectors.count(path)) << path;
        const auto expected = expected_embedding(photos() / name);
        for (size_t d = 0; d < expected.size(); ++d) ASSERT_NEAR(vectors.at(path)[d], expected[d], 1e-6) << name;
    }

    // The rows are what add() would have stored: re-indexing the tree encodes nothing...
    AddProgress again = add_without_model(index);
    EXPECT_EQ(again.unchanged, names_.size());
    EXPECT_EQ(again.to_encode + again.encoded + again.reused + again.removed + again.failed, 0u);
    // ...and the content hash is add()'s: a touched file is recognised by it, not re-encoded.
    const fs::path touched = photos() / names_[0];
    fs::last_write_time(touched, fs::last_write_time(touched) + std::chrono::seconds(5));
    again = add_without_model(index);
    EXPECT_EQ(again.unchanged, names_.size());
    EXPECT_EQ(again.to_encode, 0u);
    EXPECT_EQ(index.stats().images, names_.size());
}

// A file name that is not UTF-8 cannot be a JSON string: dask.py records its bytes in hex.
TEST_F(IndexImport, PathsThatAreNotUtf8AreReadFromTheirBytes) {
    const auto hex = [](const std::string& bytes) {
        std::string out;
        for (unsigned char c : bytes) {
            char digits[3];
            std::snprintf(digits, sizeof digits, "%02x", c);
            out += digits;
        }
        return out;
    };
    auto meta = write_shard(0, names_);
    // Renamed after the shard was written: size and mtime stay those the shard recorded.
    const fs::path latin1 = photos() / "caf\xe9 \xff.jpg", unreadable = photos() / "gar\xe7on.jpg";
    std::error_code ec;
    fs::rename(photos() / names_[0], latin1, ec);
    if (ec) GTEST_SKIP() << "the file system refuses a file name that is not UTF-8: " << ec.message();
    meta["paths"][0] = {{"bytes_hex", hex(latin1.native())}};
    meta["model"] = {{"bytes_hex", hex(model_.id)}};  // a model directory may have such a name too
    meta["inputs"][0] = meta["paths"][0];
    meta["failed"].push_back({{"path", {{"bytes_hex", hex(unreadable.native())}}}, {"error", "not an image"}});
    write_json(0, meta);

    Index index = Index::create(db(), model_);
    std::vector<ImageFailure> failures;
    const ImportProgress p = index.import_shards(shards(), {}, [&](const ImageFailure& f) { failures.push_back(f); });
    EXPECT_EQ(p.imported, names_.size());
    ASSERT_EQ(failures.size(), 1u);
    EXPECT_EQ(failures[0].path, unreadable);
    const auto vectors = stored(index);
    ASSERT_TRUE(vectors.count(latin1.string()));
    const auto expected = expected_embedding(latin1);
    for (size_t d = 0; d < expected.size(); ++d) ASSERT_NEAR(vectors.at(latin1.string())[d], expected[d], 1e-6);
    // The row is the file add() finds under that name: nothing to encode.
    const AddProgress again = add_without_model(index);
    EXPECT_EQ(again.unchanged, names_.size());
    EXPECT_EQ(again.to_encode, 0u);
}

TEST_F(IndexImport, RerunSkipsWhatIsIndexedAndResumes) {
    const std::vector<std::string> first(names_.begin(), names_.begin() + 3), second(names_.begin() + 3, names_.end());
    write_shard(0, first);
    Index index = Index::create(db(), model_);
    EXPECT_EQ(index.import_shards(shards()).imported, first.size());  // as if the job were still running
    write_shard(1, second);
    const ImportProgress p = index.import_shards(shards());
    EXPECT_EQ(p.imported, second.size());
    EXPECT_EQ(p.unchanged, first.size());
    const ImportProgress again = index.import_shards(shards());
    EXPECT_EQ(again.imported, 0u);
    EXPECT_EQ(again.unchanged, names_.size());
    EXPECT_EQ(index.stats().images, names_.size());
    EXPECT_EQ(index.stats().tombstones, 0u);

    // A file indexed by add() with other content than its shard's is replaced by the shard's row
    // only when the shard matches the file as it is now.
    Index other = Index::create(dir_ / "other.zcdb", model_);
    EXPECT_EQ(other.add(*clip_, {photos().string()}).encoded, names_.size());
    const ImportProgress over = other.import_shards(shards());
    EXPECT_EQ(over.imported, 0u);
    EXPECT_EQ(over.unchanged, names_.size());
}

TEST_F(IndexImport, FilesChangedOrGoneSinceTheShardAreReportedNotImported) {
    write_shard(0, names_);
    const fs::path changed = photos() / names_[1], gone = photos() / names_[2];
    test::write_file(changed, test::read_file(photos() / names_[0]));  // other content, other size
    fs::remove(gone);
    Index index = Index::create(db(), model_);
    std::map<std::string, std::string> failures;
    const ImportProgress p = index.import_shards(shards(), {}, [&](const ImageFailure& f) { failures[f.path.string()] = f.message; });
    EXPECT_EQ(p.imported, names_.size() - 2);
    EXPECT_EQ(p.failed, 2u);
    ASSERT_EQ(failures.size(), 2u);
    EXPECT_NE(failures[changed.string()].find("changed since shard-00000.json"), std::string::npos) << failures[changed.string()];
    EXPECT_NE(failures[gone.string()].find("cannot stat"), std::string::npos) << failures[gone.string()];
    // add() encodes the changed file (only it) with the content it has now.
    const AddProgress added = index.add(*clip_, {photos().string()});
    EXPECT_EQ(added.to_encode + added.reused, 1u);  // its content is a copy of another file
    const auto vectors = stored(index);
    const auto expected = expected_embedding(changed);
    for (size_t d = 0; d < expected.size(); ++d) ASSERT_NEAR(vectors.at(changed.string())[d], expected[d], 1e-6);
}

TEST_F(IndexImport, BadShardsAreOneLineErrorsNamingTheFileAndImportNothing) {
    struct Case {
        std::string what;
        std::function<void()> damage;  // applied to shard 1 (shard 0 stays good)
        std::string file, message;
    };
    const std::vector<std::string> half(names_.begin(), names_.begin() + 4), rest(names_.begin() + 4, names_.end());
    const std::vector<Case> cases = {
        {"truncated npy",
         [&] { fs::resize_file(npy(1), fs::file_size(npy(1)) - 7); }, "shard-00001.npy", "truncated"},
        {"trailing bytes",
         [&] { std::ofstream(npy(1), std::ios::app) << "xx"; }, "shard-00001.npy", "damaged"},
        {"wrong dim",
         [&] {
             std::vector<float> v(rest.size() * 7, 0.5f);
             write_npy_f32(npy(1), {static_cast<int64_t>(rest.size()), 7}, v.data());
         },
         "shard-00001.npy", "expected (rows, " + std::to_string(model_.dim) + ")"},
        {"float64",
         [&] {
             std::string bytes = npy_header_f32({1, 1});
             bytes.replace(bytes.find("<f4"), 3, "<f8");
             test::write_file(npy(1), bytes + std::string(8, '\0'));
         },
         "shard-00001.npy", "float32"},
        {"rows and paths differ",
         [&] {
             auto meta = write_shard(1, rest);
             meta["paths"].push_back((photos() / names_[0]).string());
             meta["files"].push_back(meta["files"][0]);
             write_json(1, meta);
         },
         "shard-00001.npy", "lists " + std::to_string(rest.size() + 1) + " paths"},
        {"another model",
         [&] {
             auto meta = write_shard(1, rest);
             meta["fingerprint"] = "0123456789abcdef0123456789abcdef";
             meta["model"] = "other/model";
             write_json(1, meta);
         },
         "shard-00001.json", "other/model"},
        {"another precision",
         [&] {
             auto meta = write_shard(1, rest);
             meta["precision"] = "bf16";
             write_json(1, meta);
         },
         "shard-00001.json", "bf16"},
        {"an older shard",
         [&] {
             auto meta = write_shard(1, rest);
             meta.erase("fingerprint");
             meta.erase("files");
             write_json(1, meta);
         },
         "shard-00001.json", "rerun zeroclip.dask.embed"},
        {"a path that is not a path",
         [&] {
             auto meta = write_shard(1, rest);
             meta["paths"][0] = 42;
             write_json(1, meta);
         },
         "shard-00001.json", "neither a string nor {\"bytes_hex\""},
        {"bytes_hex that is not hex",
         [&] {
             auto meta = write_shard(1, rest);
             meta["paths"][0] = {{"bytes_hex", "2f746d7g"}};
             write_json(1, meta);
         },
         "shard-00001.json", "\"bytes_hex\" is not the lowercase hex digits of a path: \"2f746d7g\""},
        {"not json", [&] { test::write_file(shards() / "shard-00001.json", "{\"paths\": ["); }, "shard-00001.json", "JSON"},
        {"no npy", [&] { fs::remove(npy(1)); }, "shard-00001.npy", ""},
    };
    for (const auto& c : cases) {
        fs::remove_all(shards());
        fs::remove(db());
        write_shard(0, half);
        write_shard(1, rest);
        c.damage();
        Index index = Index::create(db(), model_);
        try {
            index.import_shards(shards());
            ADD_FAILURE() << c.what << ": no error";
        } catch (const Error& e) {
            const std::string message = e.what();
            EXPECT_NE(message.find(c.file), std::string::npos) << c.what << ": " << message;
            EXPECT_NE(message.find(c.message), std::string::npos) << c.what << ": " << message;
            EXPECT_EQ(message.find('\n'), std::string::npos) << c.what << ": " << message;
            if (c.what == "another model") {
                EXPECT_NE(message.find("clip-f32-quickgelu"), std::string::npos) << message;
            }
        }
        EXPECT_EQ(index.stats().images, 0u) << c.what << ": the good shard was imported";
    }
    EXPECT_THROW(Index::create(db(), model_).import_shards(dir_ / "absent"), Error);
    fs::create_directories(dir_ / "empty");
    EXPECT_THROW(Index::create(db(), model_).import_shards(dir_ / "empty"), Error);
}

TEST_F(IndexImport, CommandLine) {
    write_shard(0, names_);
    const auto err = dir_ / "stderr.txt";
    auto r = test::run_cli({"index", "--db", db().string(), "--import", shards().string()}, err);
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("-m MODEL"), std::string::npos) << r.err;

    r = test::run_cli({"index", "--db", db().string(), "-m", test::fixture_model().string(), "-q", "--import",
                       shards().string()}, err);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("imported " + std::to_string(names_.size()) + " vectors from 1 shards"), std::string::npos) << r.out;
    // No model needed on an existing index; a rerun finds everything indexed.
    r = test::run_cli({"index", "--db", db().string(), "-q", "--import", shards().string()}, err);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("imported 0 vectors from 1 shards, " + std::to_string(names_.size()) + " unchanged"),
              std::string::npos) << r.out;
    r = test::run_cli({"index", "--db", db().string(), "-q", photos().string()}, err);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("nothing to encode: " + std::to_string(names_.size()) + " unchanged"), std::string::npos) << r.out;

    fs::resize_file(npy(0), fs::file_size(npy(0)) - 1);
    r = test::run_cli({"index", "--db", db().string(), "--import", shards().string()}, err);
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("shard-00000.npy"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    // A failed import into a new index leaves no empty index behind.
    const fs::path fresh = dir_ / "fresh.zcdb";
    r = test::run_cli({"index", "--db", fresh.string(), "-m", test::fixture_model().string(), "--import", shards().string()}, err);
    EXPECT_EQ(r.status, 1);
    EXPECT_FALSE(fs::exists(fresh));
    r = test::run_cli({"index", "--db", db().string(), "--import", shards().string(), photos().string()}, err);
    EXPECT_EQ(r.status, 1);
}

}  // namespace
