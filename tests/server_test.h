// Helpers of the server tests: an in-process HttpServer on the fixture model, and the CLI's
// numbers to compare its answers with.
#pragma once

#include <httplib.h>

#include <memory>
#include <string>
#include <vector>

#include "server/base64.h"
#include "test_support.h"
#include "util/npy.h"
#include "zeroclip/server.h"

namespace zeroclip::test {

inline std::filesystem::path server_model_dir() { return fixtures_dir() / "models" / "clip-f32-quickgelu"; }

// A server on a free loopback port with the fixture model (fp32), stopped when destroyed.
struct TestServer {
    std::unique_ptr<Clip> clip;
    std::unique_ptr<HttpServer> server;

    explicit TestServer(ServerOptions options = {}, bool attach = true, ModelOptions model = {}) {
        options.host = "127.0.0.1";
        options.port = 0;
        options.model_name = "fixture";
        clip = std::make_unique<Clip>(Clip::open(server_model_dir(), model));
        server = std::make_unique<HttpServer>(options);
        server->start();
        if (attach) server->attach_model(*clip);
    }
    ~TestServer() { server->stop(); }

    httplib::Client client() const {
        httplib::Client c("127.0.0.1", server->port());
        c.set_read_timeout(60);
        return c;
    }
};

inline std::string data_url(const std::filesystem::path& image, const std::string& mime) {
    const std::string bytes = read_file(image);
    return "data:" + mime + ";base64," + server::base64_encode(bytes.data(), bytes.size());
}

// `zeroclip embed` of texts or image files, as rows.
inline NpyArray cli_embed(const std::vector<std::string>& args, const std::string& tag) {
    const auto dir = std::filesystem::temp_directory_path() / ("zeroclip_server_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto out = dir / (tag + ".npy");
    std::vector<std::string> full = {"embed", "-m", server_model_dir().string(), "-o", out.string()};
    full.insert(full.end(), args.begin(), args.end());
    const CliResult result = run_cli(full, dir / (tag + ".err"));
    EXPECT_EQ(result.status, 0) << read_file(dir / (tag + ".err"));
    return read_npy_f32(out);
}

// The float32 rows of an embeddings response (float or base64 encoding).
inline std::vector<std::vector<float>> response_rows(const nlohmann::json& body) {
    std::vector<std::vector<float>> rows;
    for (const auto& item : body.at("data")) {
        EXPECT_EQ(item.at("index").get<size_t>(), rows.size());
        const auto& e = item.at("embedding");
        if (e.is_string()) {
            const auto bytes = server::base64_decode(e.get<std::string>());
            EXPECT_TRUE(bytes.has_value());
            std::vector<float> row(bytes->size() / sizeof(float));
            std::memcpy(row.data(), bytes->data(), row.size() * sizeof(float));
            rows.push_back(row);
        } else {
            rows.push_back(e.get<std::vector<float>>());
        }
    }
    return rows;
}

inline std::vector<float> npy_row(const NpyArray& a, size_t r) {
    const size_t cols = static_cast<size_t>(a.shape.at(1));
    return {a.data.begin() + r * cols, a.data.begin() + (r + 1) * cols};
}

}  // namespace zeroclip::test
