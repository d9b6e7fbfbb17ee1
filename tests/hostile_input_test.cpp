// Hostile inputs found by review (issue 14), each kept as the repro that once crashed, hung or
// silently gave wrong results: a model's preprocessor config, dataset trees with loops and
// unreadable folders, special files, odd file names and broken caches.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
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
