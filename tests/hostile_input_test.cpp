// Hostile inputs found by review (issue 14), each kept as the repro that once crashed, hung or
// silently gave wrong results: a model's preprocessor config, dataset trees with loops and
// unreadable folders, special files, odd file names and broken caches.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <cmath>
#include <cstring>
#include <functional>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "test_support.h"

namespace fs = std::filesystem;
using namespace zeroclip;

namespace {

class HostileInput : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("zeroclip_hostile_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override {
        std::error_code ec;
        fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add, ec);
        for (auto it = fs::recursive_directory_iterator(dir_, ec); !ec && it != fs::recursive_directory_iterator();
             it.increment(ec))
            if (it->is_directory(ec) && !it->is_symlink(ec))
                fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
        fs::remove_all(dir_, ec);
    }

    test::CliResult run(const std::vector<std::string>& args) { return test::run_cli(args, dir_ / "stderr.txt"); }

    static fs::path model() { return test::fixtures_dir() / "models" / "clip-f32-quickgelu"; }
    static fs::path image(const std::string& name) { return test::fixtures_dir() / "images" / name; }

    // A copy of the fixture model with `edit` applied to its preprocessor_config.json.
    fs::path model_with_preprocessor(const std::function<void(nlohmann::json&)>& edit,
                                     const std::string& name = "model") {
        const fs::path copy = dir_ / name;
        fs::copy(model(), copy);
        nlohmann::json config = nlohmann::json::parse(test::read_file(copy / "preprocessor_config.json"));
        edit(config);
        test::write_file(copy / "preprocessor_config.json", config.dump());
        return copy;
    }

    fs::path dir_;
};

}  // namespace

// Issue 14.1: do_center_crop false kept the resized (non-square) image and wrote it into a
// crop-sized batch slot: a heap overflow. transformers would hand the vision tower a
// non-square input it rejects; zeroclip reports the image and the setting instead.
TEST_F(HostileInput, CenterCropOffRejectsImagesOfAnotherSize) {
    const fs::path m = model_with_preprocessor([](nlohmann::json& c) { c["do_center_crop"] = false; });
    const fs::path out = dir_ / "x.npy";
    auto r = run({"embed", "-m", m.string(), "-o", out.string(), image("jpeg_baseline.jpg").string()});
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_NE(r.err.find("jpeg_baseline.jpg"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("do_center_crop"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out));
    // The same through eval's batch writer.
    fs::create_directories(dir_ / "ds" / "cat");
    fs::copy_file(image("jpeg_baseline.jpg"), dir_ / "ds" / "cat" / "a.jpg");
    r = run({"eval", "-m", m.string(), "--dataset", "imagefolder:" + (dir_ / "ds").string(), "-q"});
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_NE(r.err.find("do_center_crop"), std::string::npos) << r.err;
}

// ... while an exact resize to the model's input size needs no crop and works as transformers does.
TEST_F(HostileInput, CenterCropOffWithExactResizeMatchesCroppedPipeline) {
    const fs::path m = model_with_preprocessor([](nlohmann::json& c) {
        c["do_center_crop"] = false;
        c["crop_size"] = 5;  // ignored by transformers when do_center_crop is false
        c["size"] = {{"height", 32}, {"width", 32}};
    });
    // Cropping a 32x32 resize to 32x32 changes nothing: the reference for the uncropped run.
    const fs::path reference = model_with_preprocessor(
        [](nlohmann::json& c) { c["size"] = {{"height", 32}, {"width", 32}}; }, "reference");
    for (const char* command : {"preprocess", "embed"}) {
        auto r = run({command, "-m", m.string(), "-o", (dir_ / "a.npy").string(), image("jpeg_baseline.jpg").string()});
        ASSERT_EQ(r.status, 0) << command << ": " << r.err;
        r = run({command, "-m", reference.string(), "-o", (dir_ / "b.npy").string(),
                 image("jpeg_baseline.jpg").string()});
        ASSERT_EQ(r.status, 0) << command << ": " << r.err;
        EXPECT_EQ(test::read_file(dir_ / "a.npy"), test::read_file(dir_ / "b.npy")) << command;
    }
}

namespace {

// An imagefolder dataset: `per_class` copies of a fixture image in each of `classes`.
fs::path make_imagefolder(const fs::path& root, const std::vector<std::string>& classes, int per_class) {
    for (const auto& name : classes) {
        fs::create_directories(root / name);
        for (int i = 0; i < per_class; ++i)
            fs::copy_file(test::fixtures_dir() / "images" / "png_rgb.png", root / name / (std::to_string(i) + ".png"));
    }
    return root;
}

int scored_images(const std::string& json_line) { return nlohmann::json::parse(json_line)["n"].get<int>(); }

}  // namespace

// Issue 14.3: `ln -s .. ds/cat/up` made eval walk the whole dataset again under each class (328
// images instead of 8). Each directory is now walked once and the loop is reported.
TEST_F(HostileInput, SymlinkLoopInDatasetIsWalkedOnceAndReported) {
    const fs::path ds = make_imagefolder(dir_ / "ds", {"cat", "dog"}, 4);
    fs::create_directory_symlink("..", ds / "cat" / "up");
    fs::create_directory_symlink(".", ds / "dog" / "self");
    auto r = run({"eval", "-m", model().string(), "--dataset", "imagefolder:" + ds.string(), "--json", "-q"});
    EXPECT_EQ(r.status, 1) << r.err;
    ASSERT_FALSE(r.out.empty()) << r.err;
    EXPECT_EQ(scored_images(r.out), 8);
    EXPECT_NE(r.err.find("up: symbolic link loop"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("self: symbolic link loop"), std::string::npos) << r.err;
    // The same tree through embed's directory expansion.
    r = run({"embed", "-m", model().string(), "-o", (dir_ / "e.npy").string(), "--list", ds.string()});
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 8) << r.out;
    EXPECT_NE(r.err.find("symbolic link loop"), std::string::npos) << r.err;
}

// Issue 14.4: one unreadable folder ended the walk ("cannot list directory", nothing embedded,
// eval aborted). It is reported and skipped; everything else is scored, exit status 1.
TEST_F(HostileInput, UnlistableFolderIsSkippedAndTheRestProcessed) {
    // Root lists any directory: run the program as nobody then.
    std::string as_user;
    if (::geteuid() == 0) {
        if (std::system("setpriv --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "running as root without setpriv";
        as_user = "setpriv --reuid=65534 --regid=65534 --clear-groups";
        fs::permissions(dir_, fs::perms::all);
    }
    const fs::path ds = make_imagefolder(dir_ / "ds", {"cat", "dog"}, 3);
    make_imagefolder(ds / "cat", {"locked"}, 2);
    fs::permissions(ds / "cat" / "locked", fs::perms::none);
    const auto run = [&](const std::vector<std::string>& args) { return test::run_cli(args, dir_ / "stderr.txt", as_user); };
    auto r = run({"eval", "-m", model().string(), "--dataset", "imagefolder:" + ds.string(), "--json", "-q"});
    EXPECT_EQ(r.status, 1) << r.err;
    ASSERT_FALSE(r.out.empty()) << r.err;
    EXPECT_EQ(scored_images(r.out), 6);
    EXPECT_NE(r.err.find("locked: cannot list directory"), std::string::npos) << r.err;
    r = run({"embed", "-m", model().string(), "-o", (dir_ / "e.npy").string(), "--list", ds.string()});
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 6) << r.out;
    EXPECT_TRUE(fs::exists(dir_ / "e.npy"));
}

// Issue 14.5: `-o` onto a symbolic link, FIFO or device replaced it with a regular file. A link
// now has the file it points to replaced; anything else that is not a regular file is refused.
TEST_F(HostileInput, OutputOntoSymlinkWritesThroughAndOntoFifoIsRefused) {
    test::write_file(dir_ / "real.npy", "old");
    fs::create_symlink("real.npy", dir_ / "link.npy");
    auto r = run({"embed", "-m", model().string(), "-o", (dir_ / "link.npy").string(), "--text", "a cat"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(fs::is_symlink(fs::symlink_status(dir_ / "link.npy")));
    EXPECT_TRUE(test::read_file(dir_ / "real.npy").starts_with("\x93NUMPY"));

    ASSERT_EQ(::mkfifo((dir_ / "fifo.npy").c_str(), 0644), 0);
    r = test::run_cli({"embed", "-m", model().string(), "-o", (dir_ / "fifo.npy").string(), "--text", "a cat"},
                      dir_ / "stderr.txt", "timeout 60");
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_NE(r.err.find("fifo.npy: is a FIFO"), std::string::npos) << r.err;
    EXPECT_TRUE(fs::is_fifo(dir_ / "fifo.npy"));
    for (const auto& entry : fs::directory_iterator(dir_))
        EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();
}

// Issue 14.10: a FIFO where a file is read (an image in a CSV dataset, model.safetensors) made
// the program wait forever. Each is now an error naming the file.
TEST_F(HostileInput, FifosAreReportedNotWaitedOn) {
    ASSERT_EQ(::mkfifo((dir_ / "pipe.png").c_str(), 0644), 0);
    fs::copy_file(image("png_rgb.png"), dir_ / "a.png");
    test::write_file(dir_ / "ds.csv", "path,label\na.png,cat\npipe.png,dog\n");
    auto r = test::run_cli({"eval", "-m", model().string(), "--dataset", "csv:" + (dir_ / "ds.csv").string(), "-q"},
                           dir_ / "stderr.txt", "timeout 60");
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_NE(r.err.find("pipe.png: is a FIFO"), std::string::npos) << r.err;
    r = test::run_cli({"classify", "-m", model().string(), "-l", "a,b", (dir_ / "pipe.png").string()},
                      dir_ / "stderr.txt", "timeout 60");
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_NE(r.err.find("pipe.png: is a FIFO"), std::string::npos) << r.err;

    const fs::path m = dir_ / "model";
    fs::copy(model(), m);
    fs::remove(m / "model.safetensors");
    ASSERT_EQ(::mkfifo((m / "model.safetensors").c_str(), 0644), 0);
    r = test::run_cli({"embed", "-m", m.string(), "-o", (dir_ / "e.npy").string(), "--text", "a cat"},
                      dir_ / "stderr.txt", "timeout 60");
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_NE(r.err.find("model.safetensors"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("not a regular file"), std::string::npos) << r.err;
}

// Issue 14.11: a directory read as a file said "file too large (9223372036854775807 bytes)".
TEST_F(HostileInput, DirectoryReadAsAFileSaysSo) {
    fs::copy_file(image("png_rgb.png"), dir_ / "a.png");
    fs::create_directory(dir_ / "b.png");
    test::write_file(dir_ / "ds.csv", "a.png,cat\nb.png,dog\n");
    auto r = run({"eval", "-m", model().string(), "--dataset", "csv:" + (dir_ / "ds.csv").string(), "-q"});
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_NE(r.err.find("b.png: is a directory"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("too large"), std::string::npos) << r.err;
}

// Issue 14.9: classify --json died on a label that is not UTF-8 (type_error.316), printing
// nothing for any image. Invalid bytes now become U+FFFD, as in metrics.json.
TEST_F(HostileInput, JsonOutputSurvivesInvalidUtf8) {
    test::write_file(dir_ / "labels.txt", "cat\nbad \xff\xfe label\n");
    const fs::path odd_name = dir_ / "odd\xff.png";
    fs::copy_file(image("png_rgb.png"), odd_name);
    auto r = run({"classify", "-m", model().string(), "--labels-file", (dir_ / "labels.txt").string(), "--json",
                  image("png_rgb.png").string(), odd_name.string()});
    ASSERT_EQ(r.status, 0) << r.err;
    std::istringstream lines(r.out);
    int count = 0;
    for (std::string line; std::getline(lines, line); ++count) {
        const auto j = nlohmann::json::parse(line);
        bool replaced = false;
        for (const auto& p : j["predictions"]) replaced |= p["label"].get<std::string>() == "bad \xEF\xBF\xBD\xEF\xBF\xBD label";
        EXPECT_TRUE(replaced) << line;
    }
    EXPECT_EQ(count, 2) << r.out;
}

namespace {

// A csv: dataset of fixture images, alternately labelled cat and dog.
fs::path make_csv_dataset(const fs::path& file, const std::vector<std::string>& images) {
    std::string rows;
    for (size_t i = 0; i < images.size(); ++i)
        rows += (test::fixtures_dir() / "images" / images[i]).string() + (i % 2 ? ",dog\n" : ",cat\n");
    test::write_file(file, rows);
    return file;
}

const std::vector<std::string> kFirstImages = {"png_rgb.png", "jpeg_baseline.jpg", "bmp_24.bmp", "gif_interlaced_trns.gif"};
const std::vector<std::string> kSecondImages = {"webp_lossy.webp", "png_gray.png", "jpeg_444.jpg", "bmp_8.bmp"};

}  // namespace

// Issue 14.6: an unwritable --cache threw the whole evaluation away (no metrics, no --out
// files). The results come first; the cache failure is a warning after them (exit status 1).
TEST_F(HostileInput, CacheWriteFailureKeepsTheResults) {
    const fs::path ds = make_csv_dataset(dir_ / "ds.csv", kFirstImages);
    test::write_file(dir_ / "not_a_dir", "a file where the cache folder should be");
    auto r = run({"eval", "-m", model().string(), "--dataset", "csv:" + ds.string(), "-q", "--json", "--out",
                  (dir_ / "out").string(), "--cache", (dir_ / "not_a_dir" / "cache").string()});
    EXPECT_EQ(r.status, 1) << r.err;
    ASSERT_FALSE(r.out.empty()) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["n"], 4);
    EXPECT_TRUE(fs::exists(dir_ / "out" / "metrics.json"));
    EXPECT_NE(r.err.find("warning: embedding cache not saved"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("not_a_dir"), std::string::npos) << r.err;
}

// Issue 14.7: NaN or 1e38 in a cache record was used as an embedding and changed the results.
// Damaged records are ignored with a note and recomputed.
TEST_F(HostileInput, DamagedCacheEntriesAreRecomputed) {
    const fs::path ds = make_csv_dataset(dir_ / "ds.csv", kFirstImages);
    const std::vector<std::string> args = {"eval", "-m", model().string(), "--dataset", "csv:" + ds.string(), "-q",
                                           "--cache", (dir_ / "cache").string()};
    auto with_out = [&](const std::string& out) {
        auto a = args;
        a.insert(a.end(), {"--out", (dir_ / out).string()});
        return a;
    };
    auto r = run(with_out("clean"));
    ASSERT_EQ(r.status, 0) << r.err;
    fs::path cache_file;
    for (const auto& entry : fs::directory_iterator(dir_ / "cache"))
        if (entry.path().extension() == ".zcache") cache_file = entry.path();
    ASSERT_FALSE(cache_file.empty());
    // The first record's first two floats (after the 24-byte header and the 16-byte hash).
    std::string bytes = test::read_file(cache_file);
    const float nan = std::nanf(""), huge = 1e38f;
    ASSERT_GT(bytes.size(), 48u);
    std::memcpy(bytes.data() + 40, &nan, 4);
    std::memcpy(bytes.data() + 44, &huge, 4);
    test::write_file(cache_file, bytes);
    r = run(with_out("damaged"));
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.err.find("1 damaged entries"), std::string::npos) << r.err;
    EXPECT_NE(r.out.find("1 encoded, 3 from cache"), std::string::npos) << r.out;
    EXPECT_EQ(test::read_file(dir_ / "damaged" / "predictions.csv"), test::read_file(dir_ / "clean" / "predictions.csv"));
    // The recomputed entry was saved again: a third run encodes nothing and notes nothing.
    r = run(args);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.err.find("damaged"), std::string::npos) << r.err;
    EXPECT_NE(r.out.find("0 encoded, 4 from cache"), std::string::npos) << r.out;
}

// Issue 14.8: two evals sharing one --cache each rewrote the whole file at the end, so the
// last to finish dropped the other's entries. Saving now merges under a lock.
TEST_F(HostileInput, ConcurrentEvalsSharingACacheLoseNothing) {
    const fs::path first = make_csv_dataset(dir_ / "first.csv", kFirstImages);
    const fs::path second = make_csv_dataset(dir_ / "second.csv", kSecondImages);
    std::vector<std::string> all = kFirstImages;
    all.insert(all.end(), kSecondImages.begin(), kSecondImages.end());
    const fs::path both = make_csv_dataset(dir_ / "both.csv", all);
    const std::string cache = (dir_ / "cache").string();
    auto eval_command = [&](const fs::path& ds, const std::string& log) {
        return test::shell_quote(test::cli_path().string()) + " eval -q -m " + test::shell_quote(model().string()) +
               " --dataset " + test::shell_quote("csv:" + ds.string()) + " --cache " + test::shell_quote(cache) +
               " >" + test::shell_quote((dir_ / log).string()) + " 2>&1";
    };
    // Several rounds, each with two processes started together, each round on a fresh cache.
    for (int round = 0; round < 3; ++round) {
        fs::remove_all(cache);
        const std::string both_at_once =
            "(" + eval_command(first, "a.log") + ") & (" + eval_command(second, "b.log") + ") & wait";
        ASSERT_EQ(std::system(both_at_once.c_str()), 0);
        EXPECT_EQ(test::read_file(dir_ / "a.log").find("zeroclip:"), std::string::npos) << test::read_file(dir_ / "a.log");
        EXPECT_EQ(test::read_file(dir_ / "b.log").find("zeroclip:"), std::string::npos) << test::read_file(dir_ / "b.log");
        auto r = run({"eval", "-q", "-m", model().string(), "--dataset", "csv:" + both.string(), "--cache", cache});
        ASSERT_EQ(r.status, 0) << r.err;
        EXPECT_NE(r.out.find("0 encoded, 8 from cache"), std::string::npos) << "round " << round << ": " << r.out;
    }
}

// Issue 14.11: a newline in a file name split a --list row; a dangling symbolic link in a
// folder was skipped without a word.
TEST_F(HostileInput, OddNamesKeepOneRowAndDanglingLinksAreReported) {
    fs::create_directories(dir_ / "imgs");
    fs::copy_file(image("png_rgb.png"), dir_ / "imgs" / "two\nlines.png");
    fs::copy_file(image("png_rgb.png"), dir_ / "imgs" / "plain.png");
    fs::create_symlink(dir_ / "gone.png", dir_ / "imgs" / "dangling.png");
    auto r = run({"embed", "-m", model().string(), "-o", (dir_ / "e.npy").string(), "--list", (dir_ / "imgs").string()});
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_EQ(r.out, (dir_ / "imgs" / "plain.png").string() + "\n" + (dir_ / "imgs").string() + "/two\\nlines.png\n");
    EXPECT_NE(r.err.find("dangling.png: dangling symbolic link"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}
