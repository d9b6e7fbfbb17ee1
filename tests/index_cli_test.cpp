// zeroclip index / search / dedup end to end, and the index's behaviour under a killed run
// and concurrent runs.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "index_test_support.h"
#include "util/npy.h"

extern char** environ;

namespace fs = std::filesystem;
using namespace zeroclip;

namespace {

class IndexCli : public test::IndexTestDir {
protected:
    test::CliResult run(const std::vector<std::string>& args) { return test::run_cli(args, dir_ / "stderr.txt"); }
    static std::string model() { return test::fixture_model().string(); }

    // `count` JPEG files of distinct content (bytes appended after the image's end marker),
    // so that each must be encoded.
    void make_distinct_jpegs(const fs::path& dir, int count) {
        fs::create_directories(dir);
        const std::string jpeg = test::read_file(test::fixtures_dir() / "images" / "jpeg_baseline.jpg");
        for (int i = 0; i < count; ++i) test::write_file(dir / ("img" + std::to_string(i) + ".jpg"), jpeg + std::to_string(i));
    }

    // Starts zeroclip in the background with stdout/stderr to files; returns its pid.
    pid_t spawn(const std::vector<std::string>& args, const std::string& name) {
        std::vector<std::string> argv_strings = {test::cli_path().string()};
        argv_strings.insert(argv_strings.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& a : argv_strings) argv.push_back(a.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 1, (dir_ / (name + ".out")).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_addopen(&actions, 2, (dir_ / (name + ".err")).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        pid_t pid = -1;
        EXPECT_EQ(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ), 0);
        posix_spawn_file_actions_destroy(&actions);
        return pid;
    }
    static int wait_status(pid_t pid) {
        int raw = 0;
        ::waitpid(pid, &raw, 0);
        return WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
    }

    // Row counts straight from SQLite: live rows, distinct live paths, all rows.
    struct Counts {
        int64_t live = 0, distinct_live_paths = 0, all = 0;
    };
    Counts counts() {
        Counts c;
        sqlite3* handle = nullptr;
        if (sqlite3_open_v2(db().c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
            sqlite3_close(handle);
            return c;
        }
        sqlite3_busy_timeout(handle, 5000);
        auto scalar = [&](const char* sql) {
            sqlite3_stmt* s = nullptr;
            int64_t v = -1;
            if (sqlite3_prepare_v2(handle, sql, -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
                v = sqlite3_column_int64(s, 0);
            sqlite3_finalize(s);
            return v;
        };
        c.live = scalar("SELECT count(*) FROM images WHERE deleted = 0");
        c.distinct_live_paths = scalar("SELECT count(DISTINCT path) FROM images WHERE deleted = 0");
        c.all = scalar("SELECT count(*) FROM images");
        sqlite3_close(handle);
        return c;
    }
};

int count_lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

}  // namespace

TEST_F(IndexCli, IndexSearchStatsExportDedup) {
    const size_t n = test::fixture_image_names().size();
    auto r = run({"index", "--db", db().string(), "-m", model(), "-q", photos().string()});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("encoded " + std::to_string(n) + " images"), std::string::npos) << r.out;

    r = run({"index", "--db", db().string(), "-q", photos().string()});  // the recorded model
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("nothing to encode: " + std::to_string(n) + " unchanged"), std::string::npos) << r.out;

    r = run({"search", "--db", db().string(), "a photo of a cat", "-k", "3"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(count_lines(r.out), 3) << r.out;

    r = run({"search", "--db", db().string(), "a photo of a cat", "--minus", "a dog", "--json", "--top-k", "100"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(count_lines(r.out), static_cast<int>(n));
    std::istringstream lines(r.out);
    double previous = 2;
    for (std::string line; std::getline(lines, line);) {
        const auto j = nlohmann::json::parse(line);
        EXPECT_TRUE(fs::exists(j["path"].get<std::string>()));
        EXPECT_LE(j["score"].get<double>(), previous);
        previous = j["score"].get<double>();
    }

    const std::string query = (photos() / "png_rgb.png").string();
    r = run({"search", "--db", db().string(), "--image", query, "--threshold", "0.99999", "--json"});
    ASSERT_EQ(r.status, 0) << r.err;
    ASSERT_GE(count_lines(r.out), 1);
    EXPECT_NE(r.out.find(query), std::string::npos) << r.out;

    r = run({"index", "--db", db().string(), "--stats", "--json"});
    ASSERT_EQ(r.status, 0) << r.err;
    const auto stats = nlohmann::json::parse(r.out);
    EXPECT_EQ(stats["images"], n);
    EXPECT_EQ(stats["dim"], 16);
    EXPECT_EQ(stats["precision"], "fp32");

    r = run({"index", "--db", db().string(), "--export", (dir_ / "v.npy").string()});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(read_npy_f32(dir_ / "v.npy").shape, (std::vector<int64_t>{static_cast<int64_t>(n), 16}));
    EXPECT_EQ(count_lines(test::read_file(dir_ / "v.paths.txt")), static_cast<int>(n));

    fs::copy_file(photos() / "bmp_24.bmp", photos() / "copy.bmp");
    r = run({"index", "--db", db().string(), "-q", photos().string()});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("nothing to encode"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("1 moved or copied"), std::string::npos) << r.out;
    r = run({"dedup", "--db", db().string(), "--threshold", "0.99999", "--json"});
    ASSERT_EQ(r.status, 0) << r.err;
    bool copy_grouped = false;
    std::istringstream groups(r.out);
    for (std::string line; std::getline(groups, line);) {
        std::set<std::string> members;
        const auto group = nlohmann::json::parse(line);
        for (const auto& img : group["images"]) members.insert(img["path"].get<std::string>());
        copy_grouped = copy_grouped || (members.count((photos() / "copy.bmp").string()) &&
                                        members.count((photos() / "bmp_24.bmp").string()));
    }
    EXPECT_TRUE(copy_grouped) << r.out << r.err;

    r = run({"index", "--db", db().string(), "--remove", (photos() / "copy.bmp").string()});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("removed 1 images"), std::string::npos) << r.out;
}

TEST_F(IndexCli, ClearErrors) {
    auto r = run({"search", "--db", db().string(), "cat"});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("no such index"), std::string::npos) << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;

    r = run({"index", "--db", db().string(), photos().string()});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("-m MODEL"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(db()));

    test::write_file(dir_ / "foreign.zcdb", "SQLite format 3" + std::string(5000, '\0'));
    r = run({"search", "--db", (dir_ / "foreign.zcdb").string(), "cat"});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("foreign.zcdb"), std::string::npos) << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;

    ASSERT_EQ(run({"index", "--db", db().string(), "-m", model(), "-q", photos().string()}).status, 0);
    const std::string other = (test::fixtures_dir() / "models" / "clip-bf16-tanh-eos2").string();
    for (const char* command : {"index", "search"}) {
        r = run({command, "--db", db().string(), "-m", other, command == std::string("index") ? photos().string() : "cat"});
        EXPECT_EQ(r.status, 1) << command;
        EXPECT_NE(r.err.find("clip-f32-quickgelu"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("clip-bf16-tanh-eos2"), std::string::npos) << r.err;
        EXPECT_EQ(count_lines(r.err), 1) << r.err;
    }
    r = run({"index", "--db", db().string(), "--precision", "bf16", "-q", photos().string()});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("fp32"), std::string::npos) << r.err;
}

TEST_F(IndexCli, EmptyCollectionAndOddNames) {
    fs::create_directories(dir_ / "empty");
    auto r = run({"index", "--db", db().string(), "-m", model(), "-q", (dir_ / "empty").string()});
    ASSERT_EQ(r.status, 0) << r.err;
    r = run({"search", "--db", db().string(), "cat", "--json"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "");
    r = run({"dedup", "--db", db().string()});
    EXPECT_EQ(r.status, 0) << r.err;

    const std::string latin1 = std::string("caf") + char(0xe9) + " au lait.png";
    fs::copy_file(photos() / "png_rgb.png", photos() / latin1);
    r = run({"index", "--db", db().string(), "-q", photos().string()});
    ASSERT_EQ(r.status, 0) << r.err;
    r = run({"search", "--db", db().string(), "--image", (photos() / "png_rgb.png").string(), "--threshold", "0.99999"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find((photos() / latin1).string()), std::string::npos) << r.out;  // raw bytes in the table
    r = run({"search", "--db", db().string(), "--image", (photos() / "png_rgb.png").string(), "--threshold", "0.99999", "--json"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("caf\xef\xbf\xbd au lait.png"), std::string::npos) << r.out;  // U+FFFD in JSON
}

TEST_F(IndexCli, KilledRunLosesNothingCommittedAndResumes) {
    const int files = 400;
    make_distinct_jpegs(dir_ / "many", files);
    const pid_t pid = spawn({"index", "--db", db().string(), "-m", model(), "-q", "--batch-size", "2", "--threads", "1",
                             (dir_ / "many").string()},
                            "first");
    // Kill it once some batches are in the database.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline && counts().live < 20)
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    ::kill(pid, SIGSTOP);  // stopped mid-run (the kill below then cannot come too late)
    ::kill(pid, SIGKILL);
    EXPECT_EQ(wait_status(pid), 128 + SIGKILL) << "finished before it could be killed";
    const Counts after_kill = counts();
    EXPECT_GE(after_kill.live, 20);
    EXPECT_LT(after_kill.live, files);
    EXPECT_EQ(after_kill.live, after_kill.distinct_live_paths);

    auto r = run({"index", "--db", db().string(), "-q", (dir_ / "many").string()});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("encoded " + std::to_string(files - after_kill.live) + " images, " +
                         std::to_string(after_kill.live) + " unchanged"),
              std::string::npos)
        << r.out;
    const Counts done = counts();
    EXPECT_EQ(done.live, files);
    EXPECT_EQ(done.distinct_live_paths, files);
    EXPECT_EQ(done.all, files);  // nothing encoded twice
    r = run({"index", "--db", db().string(), "-q", (dir_ / "many").string()});
    EXPECT_NE(r.out.find("nothing to encode: " + std::to_string(files) + " unchanged"), std::string::npos) << r.out;
}

TEST_F(IndexCli, ConcurrentIndexRunsDoNotCorruptTheDatabase) {
    const int files = 300;
    make_distinct_jpegs(dir_ / "many", files);
    const std::vector<std::string> args = {"index", "--db", db().string(), "-m", model(), "-q", "--batch-size", "2",
                                           "--threads", "1", (dir_ / "many").string()};
    const pid_t first = spawn(args, "first");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline && counts().live < 10)
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    // Freeze the first run mid-way (it keeps its locks), so that the second surely overlaps it.
    ::kill(first, SIGSTOP);
    ASSERT_LT(counts().live, files) << "the first run finished before it could be paused";
    const pid_t second = spawn(args, "second");
    const int second_status = wait_status(second);
    // Searching while another process indexes is fine (WAL readers do not wait).
    auto r = run({"search", "--db", db().string(), "cat", "-k", "5"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(count_lines(r.out), 5);
    ::kill(first, SIGCONT);
    const int first_status = wait_status(first);
    EXPECT_EQ(first_status, 0) << test::read_file(dir_ / "first.err");
    EXPECT_EQ(second_status, 1);
    const std::string err = test::read_file(dir_ / "second.err");
    EXPECT_NE(err.find("another zeroclip process is adding to this index"), std::string::npos) << err;
    EXPECT_EQ(count_lines(err), 1) << err;
    const Counts c = counts();
    EXPECT_EQ(c.live, files);
    EXPECT_EQ(c.distinct_live_paths, files);
    EXPECT_EQ(c.all, files);
}

TEST_F(IndexCli, UnchangedTreeLoadsNoModel) {
    const fs::path model_copy = dir_ / "model";
    fs::copy(test::fixture_model(), model_copy, fs::copy_options::recursive);
    auto r = run({"index", "--db", db().string(), "-m", model_copy.string(), "-q", photos().string()});
    ASSERT_EQ(r.status, 0) << r.err;
    fs::rename(model_copy, dir_ / "model-away");  // the recorded model cannot be opened now
    r = run({"index", "--db", db().string(), "-q", photos().string()});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("nothing to encode"), std::string::npos) << r.out;
    fs::copy_file(test::fixtures_dir() / "images" / "png_rgba16.png", photos() / "new.png");
    r = run({"index", "--db", db().string(), "-q", photos().string()});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("model"), std::string::npos) << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
}
