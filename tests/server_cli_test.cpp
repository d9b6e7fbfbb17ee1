// `zeroclip serve` as a process: start-up, SIGTERM with requests in flight, start-up errors.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <regex>
#include <thread>

#include "server_test.h"

namespace zeroclip::test {
namespace {

using nlohmann::json;

// A `zeroclip serve` child process; its stderr goes to a file that is read for the port.
class ServeProcess {
public:
    explicit ServeProcess(const std::vector<std::string>& extra) {
        static int instances = 0;
        log_ = std::filesystem::temp_directory_path() /
               ("zeroclip_serve_" + std::to_string(::getpid()) + "_" + std::to_string(instances++) + ".log");
        std::filesystem::remove(log_);
        std::vector<std::string> args = {cli_path().string(), "serve", "-m", server_model_dir().string(), "--port", "0"};
        args.insert(args.end(), extra.begin(), extra.end());
        pid_ = ::fork();
        if (pid_ == 0) {
            FILE* log = std::fopen(log_.c_str(), "w");
            ::dup2(fileno(log), 2);
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
    }
    ~ServeProcess() {
        if (pid_ > 0 && !reaped_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        std::filesystem::remove(log_);
    }

    // The port once the model is loaded ("ready on http://127.0.0.1:PORT"), or -1.
    int wait_ready() {
        const std::regex ready("ready on http://127\\.0\\.0\\.1:(\\d+)");
        for (int i = 0; i < 600; ++i) {
            std::smatch m;
            const std::string text = log();
            if (std::regex_search(text, m, ready)) return std::stoi(m[1]);
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                reaped_ = true;
                exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                return -1;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return -1;
    }

    int wait_exit() {
        if (!reaped_) {
            int status = 0;
            ::waitpid(pid_, &status, 0);
            reaped_ = true;
            exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        return exit_status_;
    }

    void signal(int sig) { ::kill(pid_, sig); }
    std::string log() const { return read_file(log_); }

private:
    std::filesystem::path log_;
    pid_t pid_ = -1;
    bool reaped_ = false;
    int exit_status_ = -1;
};

TEST(ServeCommand, SigtermFinishesTheRequestsInFlightAndExitsZero) {
    for (int sig : {SIGTERM, SIGINT}) {
        SCOPED_TRACE(sig == SIGTERM ? "SIGTERM" : "SIGINT");
        // Batches wait up to 1.5 s for company, so the requests are still queued at the signal.
        ServeProcess serve({"--max-batch", "64", "--max-wait-ms", "1500"});
        const int port = serve.wait_ready();
        ASSERT_GT(port, 0) << serve.log();
        const NpyArray expected = cli_embed({"--text", "in flight", "--text", "also in flight"}, "inflight");
        std::vector<std::thread> clients;
        std::vector<int> statuses(2, -1);
        std::vector<std::vector<float>> rows(2);
        for (int c = 0; c < 2; ++c) {
            clients.emplace_back([&, c] {
                httplib::Client client("127.0.0.1", port);
                client.set_read_timeout(30);
                auto res = client.Post("/v1/embeddings",
                                       json{{"input", c == 0 ? "in flight" : "also in flight"}}.dump(), "application/json");
                if (!res) return;
                statuses[c] = res->status;
                if (res->status == 200) rows[c] = response_rows(json::parse(res->body)).at(0);
            });
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(400));
        serve.signal(sig);
        for (auto& t : clients) t.join();
        EXPECT_EQ(serve.wait_exit(), 0) << serve.log();
        for (int c = 0; c < 2; ++c) {
            EXPECT_EQ(statuses[c], 200);
            EXPECT_EQ(rows[c], npy_row(expected, c));
        }
        EXPECT_NE(serve.log().find("stopped"), std::string::npos);
        httplib::Client after("127.0.0.1", port);
        after.set_connection_timeout(1);
        EXPECT_FALSE(after.Get("/health")) << "still accepting after the signal";
    }
}

TEST(ServeCommand, StartUpErrorsAreOneLineAndExitNonZero) {
    const auto dir = std::filesystem::temp_directory_path() / ("zeroclip_serve_errors_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    write_file(dir / "empty.key", "\n");
    CliResult empty_key = run_cli({"serve", "-m", server_model_dir().string(), "--port", "0", "--api-key-file",
                                   (dir / "empty.key").string()},
                                  dir / "err1");
    EXPECT_EQ(empty_key.status, 1);
    EXPECT_NE(read_file(dir / "err1").find("empty.key: no API key"), std::string::npos) << read_file(dir / "err1");

    CliResult missing_model = run_cli({"serve", "-m", (dir / "no-such-model").string(), "--port", "0"}, dir / "err2");
    EXPECT_EQ(missing_model.status, 1);
    EXPECT_NE(read_file(dir / "err2").find("no-such-model"), std::string::npos) << read_file(dir / "err2");

    // A port already taken.
    TestServer taken;
    CliResult busy = run_cli({"serve", "-m", server_model_dir().string(), "--port", std::to_string(taken.server->port())},
                             dir / "err3");
    EXPECT_EQ(busy.status, 1);
    EXPECT_NE(read_file(dir / "err3").find("cannot bind"), std::string::npos) << read_file(dir / "err3");
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace zeroclip::test
