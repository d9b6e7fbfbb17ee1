// The web page of `zeroclip serve` in headless Chromium, driven over WebDriver (chromedriver):
// pick an image, type labels, classify, read the bar chart from the DOM and compare it with
// `zeroclip classify --json`. Skips when Chromium or chromedriver is not installed, or `localhost` does not resolve.
#include <gtest/gtest.h>

#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "server_test.h"
#include "zeroclip/index.h"

namespace zeroclip::test {
namespace {

using nlohmann::json;

constexpr const char* kChromium = "/usr/bin/chromium";
constexpr const char* kChromedriver = "/usr/bin/chromedriver";
constexpr const char* kElementKey = "element-6066-11e4-a52e-4f735466cecf";  // W3C WebDriver

// Why this machine cannot drive the browser, or empty. ChromeDriver reaches Chromium's DevTools
// at ws://localhost:PORT, so `localhost` must resolve (a bare debootstrap root has no /etc/hosts).
std::string browser_unavailable() {
    if (!std::filesystem::exists(kChromium) || !std::filesystem::exists(kChromedriver))
        return "Chromium not installed (apt-get install chromium chromium-driver; scripts/install-deps.sh does)";
    addrinfo* found = nullptr;
    if (::getaddrinfo("localhost", nullptr, nullptr, &found) != 0)
        return "the name 'localhost' does not resolve here (no /etc/hosts entry), and ChromeDriver needs it";
    ::freeaddrinfo(found);
    return {};
}

int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    ::close(fd);
    return ntohs(address.sin_port);
}

// chromedriver as a child process, and a W3C WebDriver session in headless Chromium.
class Browser {
public:
    explicit Browser(const std::filesystem::path& profile) : port_(free_port()), driver_("127.0.0.1", port_) {
        driver_.set_read_timeout(60);
        pid_ = ::fork();
        if (pid_ == 0) {
            const std::string port_arg = "--port=" + std::to_string(port_);
            ::execl(kChromedriver, kChromedriver, port_arg.c_str(), "--silent", static_cast<char*>(nullptr));
            ::_exit(127);
        }
        for (int i = 0; i < 200; ++i) {
            if (auto res = driver_.Get("/status"); res && res->status == 200) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        const json args = {"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                           "--disable-background-networking", "--disable-component-update", "--disable-sync",
                           "--user-data-dir=" + profile.string()};
        const json caps = {{"capabilities",
                            {{"alwaysMatch", {{"browserName", "chrome"},
                                              {"goog:chromeOptions", {{"binary", kChromium}, {"args", args}}}}}}}};
        const json session = call("POST", "/session", caps);
        session_ = session["value"].value("sessionId", "");
        if (session_.empty()) error_ = session["value"].value("message", session.dump());
    }
    ~Browser() {
        if (!session_.empty()) driver_.Delete(("/session/" + session_).c_str());
        ::kill(pid_, SIGTERM);
        ::waitpid(pid_, nullptr, 0);
    }
    bool ok() const { return !session_.empty(); }
    const std::string& error() const { return error_; }

    json call(const std::string& method, const std::string& path, const json& body = json::object()) {
        httplib::Result res = method == "GET" ? driver_.Get(path.c_str())
                                              : driver_.Post(path.c_str(), body.dump(), "application/json");
        if (!res) return json{{"value", {{"error", "no response from chromedriver"}}}};
        return json::parse(res->body);
    }
    json session_call(const std::string& method, const std::string& path, const json& body = json::object()) {
        return call(method, "/session/" + session_ + path, body);
    }
    std::string element(const std::string& css) {
        const json found = session_call("POST", "/element", {{"using", "css selector"}, {"value", css}});
        return found["value"].value(kElementKey, "");
    }
    json script(const std::string& code) {
        return session_call("POST", "/execute/sync", {{"script", code}, {"args", json::array()}})["value"];
    }
    // Polls `code` until it returns something truthy (non-empty, true, non-null) or time runs out.
    json wait_for(const std::string& code, int seconds = 30) {
        json value;
        for (int i = 0; i < seconds * 10; ++i) {
            value = script(code);
            if (!value.is_null() && value != false && !(value.is_array() && value.empty()) && value != "") return value;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return value;
    }

private:
    int port_;
    httplib::Client driver_;
    pid_t pid_ = -1;
    std::string session_;
    std::string error_;  // chromedriver's answer when it gave no session
};

TEST(ServerPage, ClassifiesAPickedImageInHeadlessChromium) {
    if (const std::string why = browser_unavailable(); !why.empty()) GTEST_SKIP() << why;
    TestServer s;
    const auto profile = std::filesystem::temp_directory_path() / ("zeroclip_chromium_" + std::to_string(::getpid()));
    std::filesystem::remove_all(profile);
    const std::string labels = "tench, English springer, garbage truck";
    const auto image = fixtures_dir() / "images" / "jpeg_baseline.jpg";
    std::vector<json> expected;
    {
        const auto err = profile.string() + ".err";
        const CliResult cli = run_cli({"classify", "-m", server_model_dir().string(), "-l", labels, "--top-k", "3",
                                       "--json", image.string()},
                                      err);
        ASSERT_EQ(cli.status, 0) << read_file(err);
        expected = json::parse(cli.out)["predictions"].get<std::vector<json>>();
    }
    {
        Browser browser(profile);
        ASSERT_TRUE(browser.ok()) << "chromedriver gave no session: " << browser.error();
        browser.session_call("POST", "/url", {{"url", "http://127.0.0.1:" + std::to_string(s.server->port()) + "/"}});
        EXPECT_EQ(browser.script("return document.title"), "zeroclip");

        browser.session_call("POST", "/element/" + browser.element("#file") + "/value", {{"text", image.string()}});
        ASSERT_EQ(browser.wait_for("return document.getElementById('preview').style.display === 'block'"), true);
        const std::string field = browser.element("#labels");
        browser.session_call("POST", "/element/" + field + "/clear");
        browser.session_call("POST", "/element/" + field + "/value", {{"text", labels}});
        browser.session_call("POST", "/element/" + browser.element("#classify") + "/click");
        const json rows = browser.wait_for(
            "return Array.from(document.querySelectorAll('#results .row')).map(r => ["
            "r.querySelector('.label').textContent, r.querySelector('.score').textContent,"
            "r.querySelector('.bar').style.width])");
        ASSERT_TRUE(rows.is_array()) << rows.dump();
        ASSERT_EQ(rows.size(), expected.size()) << rows.dump() << " status: " << browser.script("return document.getElementById('status').textContent");
        for (size_t i = 0; i < rows.size(); ++i) {
            const double score = expected[i]["score"].get<double>();
            EXPECT_EQ(rows[i][0], expected[i]["label"]);
            char text[32];
            std::snprintf(text, sizeof text, "%.4f", score);
            EXPECT_EQ(rows[i][1], std::string(text));
            // The bar's width is the probability (the browser writes "40.0%" back as "40%").
            const std::string width = rows[i][2].get<std::string>();
            ASSERT_TRUE(width.ends_with("%")) << width;
            EXPECT_NEAR(std::stod(width), 100 * score, 0.051) << width;
        }
        EXPECT_EQ(browser.script("return document.getElementById('status').textContent"), "");
        // The search section stays hidden without an index.
        EXPECT_EQ(browser.script("return document.getElementById('search-section').hidden"), true);
    }
    std::filesystem::remove_all(profile);
}

}  // namespace
}  // namespace zeroclip::test

namespace zeroclip::test {
namespace {

TEST(ServerPage, SearchesTheIndexAndShowsMoreLikeThisInHeadlessChromium) {
    if (const std::string why = browser_unavailable(); !why.empty()) GTEST_SKIP() << why;
    TestServer s;
    const auto dir = std::filesystem::temp_directory_path() / ("zeroclip_page_index_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    {
        Index index = Index::create(dir / "photos.zcdb", describe_model(server_model_dir().string(), server_model_dir(), *s.clip));
        index.add(*s.clip, {(fixtures_dir() / "images").string()});
        s.server->attach_index(index);
        SearchOptions options;
        options.top_k = 24;  // what the page asks for
        const auto expected = index.search_text(*s.clip, {"a red square"}, options);
        {
            Browser browser(dir / "profile");
            ASSERT_TRUE(browser.ok()) << "chromedriver gave no session: " << browser.error();
            browser.session_call("POST", "/url", {{"url", "http://127.0.0.1:" + std::to_string(s.server->port()) + "/"}});
            ASSERT_EQ(browser.wait_for("return !document.getElementById('search-section').hidden"), true);
            browser.session_call("POST", "/element/" + browser.element("#query") + "/value", {{"text", "a red square"}});
            browser.session_call("POST", "/element/" + browser.element("#search") + "/click");
            const json paths = browser.wait_for(
                "return Array.from(document.querySelectorAll('#grid .hit .path')).map(p => p.textContent)");
            ASSERT_EQ(paths.size(), expected.size()) << paths.dump();
            for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(paths[i], expected[i].path.string());
            // Every thumbnail loaded (from /v1/images/{id}) and has the image's size.
            const json sizes = browser.wait_for(
                "const imgs = Array.from(document.querySelectorAll('#grid img'));"
                "return imgs.every(i => i.complete && i.naturalWidth > 0) ? imgs.map(i => [i.naturalWidth, i.naturalHeight]) : []");
            ASSERT_EQ(sizes.size(), expected.size());
            EXPECT_EQ(sizes[0], json({31, 23}));

            // Clicking a result searches by that image: its own row comes first.
            browser.session_call("POST", "/element/" + browser.element("#grid .hit:nth-child(3)") + "/click");
            const json caption = browser.wait_for(
                "const t = document.querySelector('#search-info small').textContent;"
                "return t.startsWith('more like') ? t : ''");
            EXPECT_EQ(caption, "more like " + expected[2].path.string());
            const auto like = index.search(*index.embedding(expected[2].row), options);
            const json first = browser.wait_for(
                "const p = document.querySelector('#grid .hit .path'); return p ? p.textContent : ''");
            EXPECT_EQ(first, like.front().path.string());
        }
        s.server->stop();
    }
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace zeroclip::test
