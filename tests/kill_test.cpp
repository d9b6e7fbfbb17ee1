// kill -9 in the middle of writing outputs (issue 14): `embed -o` and `eval --out` leave the old
// files whole, and the temporaries of a killed process are removed by the next run.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "test_support.h"

namespace fs = std::filesystem;
using namespace zeroclip;

namespace {

class KillDuringWrite : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("zeroclip_kill_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    // Starts the program with `args` (output discarded), kills it with SIGKILL after `delay`.
    static void run_and_kill(const std::vector<std::string>& args, std::chrono::milliseconds delay) {
        const pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            const int null = ::open("/dev/null", O_WRONLY);
            ::dup2(null, 1), ::dup2(null, 2);
            std::vector<std::string> argv_strings = {test::cli_path().string()};
            argv_strings.insert(argv_strings.end(), args.begin(), args.end());
            std::vector<char*> argv;
            for (auto& a : argv_strings) argv.push_back(a.data());
            argv.push_back(nullptr);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        std::this_thread::sleep_for(delay);
        ::kill(pid, SIGKILL);
        int status = 0;
        ::waitpid(pid, &status, 0);
    }

    // A pid that no process has now: a child that has exited and been reaped.
    static pid_t dead_pid() {
        const pid_t pid = ::fork();
        if (pid == 0) ::_exit(0);
        int status = 0;
        ::waitpid(pid, &status, 0);
        return pid;
    }

    std::vector<fs::path> temporaries() const {
        std::vector<fs::path> found;
        for (const auto& entry : fs::recursive_directory_iterator(dir_))
            if (entry.path().filename().string().find(".tmp.") != std::string::npos) found.push_back(entry.path());
        return found;
    }

    static fs::path model() { return test::fixtures_dir() / "models" / "clip-f32-quickgelu"; }
    fs::path dir_;
};

}  // namespace

TEST_F(KillDuringWrite, EmbedOutputStaysWholeAndStaleTemporariesGo) {
    // Many texts, so that a run lasts long enough to be killed at various points.
    std::string texts;
    for (int i = 0; i < 3000; ++i) texts += "a photo of thing number " + std::to_string(i) + "\n";
    test::write_file(dir_ / "texts.txt", texts);
    const fs::path out = dir_ / "out.npy";
    const std::vector<std::string> args = {"embed", "-m", model().string(), "-o", out.string(), "--file",
                                           (dir_ / "texts.txt").string()};
    ASSERT_EQ(test::run_cli(args, dir_ / "stderr.txt").status, 0);
    const std::string whole = test::read_file(out);
    test::write_file(out, "old contents");
    for (const int ms : {20, 60, 120, 250, 500}) {
        run_and_kill(args, std::chrono::milliseconds(ms));
        const std::string now = test::read_file(out);
        EXPECT_TRUE(now == "old contents" || now == whole) << "killed after " << ms << " ms: " << now.size() << " bytes";
    }
    // A temporary of a killed process (made certain here) is removed by the next run.
    const fs::path stale = dir_ / ("out.npy.tmp." + std::to_string(dead_pid()));
    test::write_file(stale, "half written");
    ASSERT_EQ(test::run_cli(args, dir_ / "stderr.txt").status, 0);
    EXPECT_EQ(test::read_file(out), whole);
    EXPECT_TRUE(temporaries().empty()) << temporaries().front();
}

TEST_F(KillDuringWrite, EvalReportFilesStayWhole) {
    fs::create_directories(dir_ / "ds");
    for (const char* cls : {"cat", "dog"})
        for (int i = 0; i < 40; ++i) {
            fs::create_directories(dir_ / "ds" / cls);
            fs::copy_file(test::fixtures_dir() / "images" / (i % 2 ? "png_rgb.png" : "jpeg_baseline.jpg"),
                          dir_ / "ds" / cls / (std::to_string(i) + (i % 2 ? ".png" : ".jpg")));
        }
    const fs::path out = dir_ / "report";
    const std::vector<std::string> args = {"eval", "-q", "-m", model().string(), "--dataset",
                                           "imagefolder:" + (dir_ / "ds").string(), "--out", out.string()};
    ASSERT_EQ(test::run_cli(args, dir_ / "stderr.txt").status, 0);
    const std::vector<std::string> names = {"metrics.json", "predictions.csv", "confusion.csv", "report.html"};
    std::vector<std::string> whole;
    for (const auto& name : names) whole.push_back(test::read_file(out / name));
    for (const auto& name : names) test::write_file(out / name, "old " + name);
    for (const int ms : {20, 60, 120, 250, 500}) {
        run_and_kill(args, std::chrono::milliseconds(ms));
        for (size_t i = 0; i < names.size(); ++i) {
            // metrics.json and report.html hold the run time: a new one is compared by its ends.
            const std::string now = test::read_file(out / names[i]);
            const bool old = now == "old " + names[i];
            const bool fresh = names[i] == "metrics.json"  ? now.starts_with("{") && now.ends_with("}\n")
                               : names[i] == "report.html" ? now.starts_with(whole[i].substr(0, 200)) &&
                                                                 now.ends_with("</html>\n")
                                                           : now == whole[i];
            EXPECT_TRUE(old || fresh) << names[i] << " after a kill at " << ms << " ms: " << now.size() << " bytes";
        }
    }
    const fs::path stale = out / ("report.html.tmp." + std::to_string(dead_pid()));
    test::write_file(stale, "<html>half");
    ASSERT_EQ(test::run_cli(args, dir_ / "stderr.txt").status, 0);
    EXPECT_TRUE(temporaries().empty()) << temporaries().front();
}
