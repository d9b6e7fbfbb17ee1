// zeroclip serve's HTTP API, in process: every endpoint against the CLI's numbers, every bad
// input's error (and the server still serving), concurrency, back-pressure, disconnects.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <optional>
#include <tuple>
#include <thread>

#include "server/connection_watch.h"
#include "server/thumbnail.h"
#include "zeroclip/index.h"
#include "server_test.h"

namespace zeroclip::test {
namespace {

using nlohmann::json;

const std::vector<std::string> kImages = {"jpeg_baseline.jpg", "png_rgba.png", "jpeg_gray.jpg",
                                          "png_palette4.png",  "jpeg_cmyk.jpg", "png_rgb16.png"};

std::filesystem::path image_path(const std::string& name) { return fixtures_dir() / "images" / name; }
std::string mime_of(const std::string& name) {
    return name.ends_with(".png") ? "image/png" : "image/jpeg";
}

json post_json(httplib::Client& client, const std::string& path, const json& body, int expected_status) {
    auto res = client.Post(path.c_str(), body.dump(), "application/json");
    EXPECT_TRUE(res) << "no response from " << path;
    if (!res) return {};
    EXPECT_EQ(res->status, expected_status) << res->body;
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
    return json::parse(res->body);
}

TEST(Server, TextEmbeddingsEqualTheCliBitForBit) {
    TestServer s;
    auto client = s.client();
    const std::vector<std::string> texts = {"a photo of a cat", "a diagram", "x", "Ünïcödé and emoji 🐈"};
    std::vector<std::string> args;
    for (const auto& t : texts) args.insert(args.end(), {"--text", t});
    const NpyArray expected = cli_embed(args, "texts");

    const json body = post_json(client, "/v1/embeddings", {{"input", texts}, {"model", "fixture"}}, 200);
    EXPECT_EQ(body["object"], "list");
    EXPECT_EQ(body["model"], "fixture");
    const auto rows = response_rows(body);
    ASSERT_EQ(rows.size(), texts.size());
    int64_t tokens = 0;
    for (size_t i = 0; i < texts.size(); ++i) {
        EXPECT_EQ(rows[i], npy_row(expected, i)) << texts[i];
        EXPECT_EQ(body["data"][i]["object"], "embedding");
        tokens += static_cast<int64_t>(s.clip->tokenize(texts[i]).size());
    }
    EXPECT_EQ(body["usage"]["prompt_tokens"], tokens);
    EXPECT_EQ(body["usage"]["total_tokens"], tokens);

    // A single string, and base64 output (little-endian float32), give the same row.
    const json one = post_json(client, "/v1/embeddings", {{"input", texts[1]}, {"encoding_format", "base64"}}, 200);
    ASSERT_TRUE(one["data"][0]["embedding"].is_string());
    EXPECT_EQ(response_rows(one).at(0), npy_row(expected, 1));
}

TEST(Server, ImageEmbeddingsEqualTheCliBitForBitWhateverTheirBatch) {
    ServerOptions options;
    options.batching.max_batch = 4;  // 6 images: batches of 4 and 2, unlike the CLI's one of 6
    TestServer s(options);
    auto client = s.client();
    std::vector<std::string> files;
    json input = json::array();
    for (size_t i = 0; i < kImages.size(); ++i) {
        files.push_back(image_path(kImages[i]).string());
        const std::string url = data_url(image_path(kImages[i]), mime_of(kImages[i]));
        // Both of OpenAI's shapes: a bare data: URL string and an image_url item.
        if (i % 2) input.push_back({{"type", "image_url"}, {"image_url", {{"url", url}}}});
        else input.push_back(url);
    }
    const NpyArray expected = cli_embed(files, "images");
    const auto rows = response_rows(post_json(client, "/v1/embeddings", {{"input", input}}, 200));
    ASSERT_EQ(rows.size(), kImages.size());
    for (size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i], npy_row(expected, i)) << kImages[i];
}

TEST(Server, MixedTextAndImageInputsKeepTheirOrder) {
    TestServer s;
    auto client = s.client();
    const NpyArray texts = cli_embed({"--text", "a photo of a dog", "--text", "a cat"}, "mixed_texts");
    const NpyArray images = cli_embed({image_path("jpeg_baseline.jpg").string()}, "mixed_images");
    const json input = {"a photo of a dog", data_url(image_path("jpeg_baseline.jpg"), "image/jpeg"),
                        {{"type", "text"}, {"text", "a cat"}}};
    const auto rows = response_rows(post_json(client, "/v1/embeddings", {{"input", input}}, 200));
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0], npy_row(texts, 0));
    EXPECT_EQ(rows[1], npy_row(images, 0));
    EXPECT_EQ(rows[2], npy_row(texts, 1));
}

std::vector<json> cli_classify_lines(const std::vector<std::string>& files, const std::string& labels,
                                     const std::vector<std::string>& extra) {
    const auto err = std::filesystem::temp_directory_path() / "zeroclip_server_classify.err";
    std::vector<std::string> args = {"classify", "-m", server_model_dir().string(), "-l", labels, "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back("--");  // --template takes several values: the files are positional
    args.insert(args.end(), files.begin(), files.end());
    const CliResult result = run_cli(args, err);
    EXPECT_EQ(result.status, 0) << read_file(err);
    std::vector<json> lines;
    std::istringstream in(result.out);
    for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
    return lines;
}

TEST(Server, ClassifyJsonAndMultipartEqualClassifyJson) {
    TestServer s;
    auto client = s.client();
    const std::string labels = "tench,English springer,garbage truck,church";
    const std::vector<std::string> names = {"jpeg_baseline.jpg", "png_rgba.png"};
    std::vector<std::string> files;
    for (const auto& n : names) files.push_back(image_path(n).string());
    const auto expected = cli_classify_lines(files, labels, {"--top-k", "3", "--template=a drawing of a {}."});
    ASSERT_EQ(expected.size(), 2u);

    json images = json::array();
    for (const auto& n : names) images.push_back({{"name", n}, {"data", data_url(image_path(n), mime_of(n))}});
    const json body = post_json(client, "/v1/classify",
                                {{"images", images}, {"labels", labels}, {"template", "a drawing of a {}."}, {"top_k", 3}},
                                200);
    ASSERT_EQ(body["data"].size(), 2u);
    for (size_t i = 0; i < names.size(); ++i) {
        EXPECT_EQ(body["data"][i]["image"], names[i]);
        EXPECT_EQ(body["data"][i]["predictions"], expected[i]["predictions"]) << names[i];
    }

    httplib::MultipartFormDataItems form = {
        {"image", read_file(files[0]), names[0], "image/jpeg"},
        {"image", read_file(files[1]), names[1], "image/png"},
        {"labels", labels, "", ""},
        {"template", "a drawing of a {}.", "", ""},
        {"top_k", "3", "", ""},
    };
    auto res = client.Post("/v1/classify", form);
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    const json multipart = json::parse(res->body);
    for (size_t i = 0; i < names.size(); ++i) {
        EXPECT_EQ(multipart["data"][i]["image"], names[i]);
        EXPECT_EQ(multipart["data"][i]["predictions"], expected[i]["predictions"]) << names[i];
    }
}

TEST(Server, ClassifyWithABuiltinTemplateSetEqualsTheCli) {
    TestServer s;
    auto client = s.client();
    const auto expected =
        cli_classify_lines({image_path("jpeg_444.jpg").string()}, "cat,dog,car", {"--templates", "cifar10", "--top-k", "3"});
    const json body = post_json(client, "/v1/classify",
                                {{"images", {data_url(image_path("jpeg_444.jpg"), "image/jpeg")}},
                                 {"labels", {"cat", "dog", "car"}}, {"templates", "cifar10"}, {"top_k", 3}},
                                200);
    EXPECT_EQ(body["data"][0]["image"], "images[0]");
    EXPECT_EQ(body["data"][0]["predictions"], expected.at(0)["predictions"]);
}

TEST(Server, HealthMetricsAndPage) {
    TestServer s;
    auto client = s.client();
    auto health = client.Get("/health");
    ASSERT_TRUE(health);
    EXPECT_EQ(health->status, 200);
    EXPECT_EQ(json::parse(health->body)["status"], "ok");

    post_json(client, "/v1/embeddings", {{"input", {"a", "b", "c"}}}, 200);
    post_json(client, "/v1/embeddings", {{"input", 7}}, 400);
    // httplib records a request after its response is sent: wait until both are counted.
    std::string text;
    for (int i = 0; i < 100; ++i) {
        auto metrics = client.Get("/metrics");
        ASSERT_TRUE(metrics);
        EXPECT_EQ(metrics->status, 200);
        EXPECT_NE(metrics->get_header_value("Content-Type").find("text/plain"), std::string::npos);
        text = metrics->body;
        if (text.find("status=\"400\"") != std::string::npos) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_NE(text.find("zeroclip_requests_total{endpoint=\"/v1/embeddings\",status=\"200\"} 1\n"), std::string::npos) << text;
    EXPECT_NE(text.find("zeroclip_requests_total{endpoint=\"/v1/embeddings\",status=\"400\"} 1\n"), std::string::npos);
    EXPECT_NE(text.find("zeroclip_request_duration_seconds_count{endpoint=\"/v1/embeddings\"} 2\n"), std::string::npos);
    EXPECT_NE(text.find("zeroclip_items_total{tower=\"text\"} 3\n"), std::string::npos);
    EXPECT_NE(text.find("zeroclip_batch_size_sum{tower=\"text\"} 3\n"), std::string::npos);
    EXPECT_NE(text.find("zeroclip_queue_depth{tower=\"image\"} 0\n"), std::string::npos);
    EXPECT_NE(text.find("# TYPE zeroclip_images_per_second gauge"), std::string::npos);

    auto page = client.Get("/");
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, 200);
    EXPECT_NE(page->get_header_value("Content-Type").find("text/html"), std::string::npos);
    EXPECT_NE(page->body.find("id=\"classify\""), std::string::npos);
    // Self-contained: nothing fetched from another origin.
    EXPECT_EQ(page->body.find("http://"), std::string::npos);
    EXPECT_EQ(page->body.find("https://"), std::string::npos);
    EXPECT_NE(page->get_header_value("Content-Security-Policy").find("default-src 'none'"), std::string::npos);
}

TEST(Server, HealthIsNotReadyUntilTheModelIsAttached) {
    TestServer s({}, /*attach=*/false);
    auto client = s.client();
    auto health = client.Get("/health");
    ASSERT_TRUE(health);
    EXPECT_EQ(health->status, 503);
    EXPECT_EQ(json::parse(health->body)["status"], "loading");
    const json error = post_json(client, "/v1/embeddings", {{"input", "a"}}, 503);
    EXPECT_EQ(error["error"]["code"], "loading");
    s.server->attach_model(*s.clip);
    EXPECT_EQ(client.Get("/health")->status, 200);
    post_json(client, "/v1/embeddings", {{"input", "a"}}, 200);
}

struct BadInput {
    const char* what;
    std::string body;
    int status;
    const char* code;
    const char* message_part;  // the culprit the message must name
};

TEST(Server, EachBadInputGetsItsErrorAndTheServerKeepsServing) {
    ServerOptions options;
    options.max_body_bytes = 256 * 1024;
    options.max_inputs = 8;
    options.max_text_bytes = 100;
    TestServer s(options);
    auto client = s.client();
    const std::string jpeg = read_file(image_path("jpeg_444.jpg"));
    const std::string truncated = "data:image/jpeg;base64," + server::base64_encode(jpeg.data(), jpeg.size() / 2);
    const std::string text_as_image = "data:image/png;base64," + server::base64_encode("hello world", 11);
    const std::vector<BadInput> cases = {
        {"invalid JSON", "{\"input\": [", 400, "invalid_json", "not valid JSON"},
        {"not an object", "[1,2]", 400, "invalid_json", "JSON object"},
        {"missing input", "{}", 400, "missing_input", "input"},
        {"input of a wrong type", "{\"input\": 42}", 400, "invalid_type", "input: expected a string or a list, got number"},
        {"item of a wrong type", "{\"input\": [\"a\", true]}", 400, "invalid_type", "input[1]"},
        {"token arrays", "{\"input\": [[1, 2]]}", 400, "invalid_type", "input[0]"},
        {"model not a string", "{\"input\": \"a\", \"model\": 3}", 400, "invalid_type", "model"},
        {"encoding format", "{\"input\": \"a\", \"encoding_format\": \"hex\"}", 400, "invalid_encoding_format", "hex"},
        {"dimensions", "{\"input\": \"a\", \"dimensions\": 8}", 400, "invalid_dimensions", "16 dimensions"},
        {"empty list", "{\"input\": []}", 400, "missing_input", "empty"},
        {"non-image base64", json{{"input", {"a", text_as_image}}}.dump(), 400, "invalid_image", "input[1]: unknown image format"},
        {"invalid base64", "{\"input\": [\"data:image/png;base64,@@@@\"]}", 400, "invalid_base64", "input[0]"},
        {"truncated image", json{{"input", {truncated}}}.dump(), 400, "invalid_image", "input[0]"},
        {"image by URL", "{\"input\": [{\"type\": \"image_url\", \"image_url\": {\"url\": \"http://example.com/a.jpg\"}}]}",
         400, "invalid_image_url", "fetches nothing"},
        {"image by path", "{\"input\": [{\"type\": \"image_url\", \"image_url\": {\"url\": \"/etc/passwd\"}}]}", 400,
         "invalid_image_url", "input[0]"},
        {"decompression bomb", json{{"input", {"a", data_url(image_path("huge_dims.png"), "image/png")}}}.dump(), 413,
         "image_too_large", "input[1]: PNG dimensions"},
        {"too many inputs", json{{"input", std::vector<std::string>(9, "a")}}.dump(), 413, "too_many_inputs", "8"},
        {"text too long", json{{"input", {"ok", std::string(101, 'x')}}}.dump(), 413, "text_too_long", "input[1]"},
        {"oversize body", json{{"input", std::string(300 * 1024, 'x')}}.dump(), 413, "request_too_large", "262144"},
    };
    const NpyArray expected = cli_embed({"--text", "still serving"}, "still_serving");
    for (const auto& c : cases) {
        SCOPED_TRACE(c.what);
        auto res = client.Post("/v1/embeddings", c.body, "application/json");
        ASSERT_TRUE(res);
        EXPECT_EQ(res->status, c.status) << res->body;
        const json error = json::parse(res->body);
        EXPECT_EQ(error["error"]["code"], c.code);
        EXPECT_EQ(error["error"]["type"], "invalid_request_error");
        EXPECT_NE(error["error"]["message"].get<std::string>().find(c.message_part), std::string::npos)
            << error["error"]["message"];
        // The next request on a fresh connection is served normally.
        auto fresh = s.client();
        const auto rows = response_rows(post_json(fresh, "/v1/embeddings", {{"input", {"still serving"}}}, 200));
        EXPECT_EQ(rows.at(0), npy_row(expected, 0));
    }

    const std::vector<BadInput> classify_cases = {
        {"no labels", json{{"images", {data_url(image_path("jpeg_444.jpg"), "image/jpeg")}}}.dump(), 400, "missing_labels", "labels"},
        {"template without {}", json{{"images", {data_url(image_path("jpeg_444.jpg"), "image/jpeg")}}, {"labels", "a,b"}, {"template", "a photo"}}.dump(),
         400, "invalid_templates", "placeholder"},
        {"unknown template set", json{{"images", {data_url(image_path("jpeg_444.jpg"), "image/jpeg")}}, {"labels", "a,b"}, {"templates", "nope"}}.dump(),
         400, "invalid_templates", "nope"},
        {"bad base64", json{{"images", {"***"}}, {"labels", "a"}}.dump(), 400, "invalid_base64", "images[0]"},
        {"top_k", json{{"images", {data_url(image_path("jpeg_444.jpg"), "image/jpeg")}}, {"labels", "a"}, {"top_k", 0}}.dump(), 400, "invalid_top_k", "top_k"},
    };
    for (const auto& c : classify_cases) {
        SCOPED_TRACE(c.what);
        auto res = client.Post("/v1/classify", c.body, "application/json");
        ASSERT_TRUE(res);
        EXPECT_EQ(res->status, c.status) << res->body;
        const json error = json::parse(res->body);
        EXPECT_EQ(error["error"]["code"], c.code);
        EXPECT_NE(error["error"]["message"].get<std::string>().find(c.message_part), std::string::npos)
            << error["error"]["message"];
    }
}

TEST(Server, ImagesAboveThePixelLimitAreRefused) {
    ServerOptions options;
    options.max_image_pixels = 700;  // the fixtures are 31x23 = 713 pixels
    TestServer s(options);
    auto client = s.client();
    const json error = post_json(client, "/v1/embeddings",
                                 {{"input", {data_url(image_path("jpeg_baseline.jpg"), "image/jpeg")}}}, 413);
    EXPECT_EQ(error["error"]["code"], "image_too_large");
    EXPECT_EQ(error["error"]["message"], "input[0]: JPEG dimensions 31x23 exceed the limit of 700 pixels");
    post_json(client, "/v1/embeddings", {{"input", "fine"}}, 200);
}

TEST(Server, UnknownRoutesAndWrongMethodsAreJsonErrors) {
    TestServer s;
    auto client = s.client();
    auto missing = client.Get("/v1/nothing");
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->status, 404);
    EXPECT_EQ(json::parse(missing->body)["error"]["code"], "not_found");
    auto get = client.Get("/v1/embeddings");
    ASSERT_TRUE(get);
    EXPECT_EQ(get->status, 405);
    EXPECT_EQ(get->get_header_value("Allow"), "POST");
    EXPECT_EQ(json::parse(get->body)["error"]["code"], "method_not_allowed");
    auto del = client.Delete("/metrics");
    ASSERT_TRUE(del);
    EXPECT_EQ(del->status, 405);
    EXPECT_EQ(del->get_header_value("Allow"), "GET");
    post_json(client, "/v1/embeddings", {{"input", "fine"}}, 200);
}

TEST(Server, ApiKeyIsRequiredEverywhereButHealth) {
    ServerOptions options;
    options.api_key = "s3cret-key";
    TestServer s(options);
    auto client = s.client();
    const std::string body = json{{"input", "a"}}.dump();

    auto none = client.Post("/v1/embeddings", body, "application/json");
    ASSERT_TRUE(none);
    EXPECT_EQ(none->status, 401);
    EXPECT_EQ(json::parse(none->body)["error"]["code"], "missing_api_key");
    EXPECT_EQ(json::parse(none->body)["error"]["type"], "authentication_error");

    for (const std::string wrong : {"Bearer s3cret-kez", "Bearer s3cret-key2", "Bearer ", "Basic s3cret-key", "s3cret-key"}) {
        auto res = client.Post("/v1/embeddings", {{"Authorization", wrong}}, body, "application/json");
        ASSERT_TRUE(res);
        EXPECT_EQ(res->status, 401) << wrong;
    }
    EXPECT_EQ(client.Get("/metrics")->status, 401);
    EXPECT_EQ(client.Get("/v1/nothing")->status, 401);  // nothing is revealed before the key
    EXPECT_EQ(client.Get("/health")->status, 200);
    auto ok = client.Post("/v1/embeddings", {{"Authorization", "Bearer s3cret-key"}}, body, "application/json");
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200) << ok->body;
    EXPECT_EQ(client.Get("/metrics", {{"Authorization", "Bearer s3cret-key"}})->status, 200);
}

TEST(Server, ConcurrentClientsGetTheirOwnResults) {
    ServerOptions options;
    options.batching.max_batch = 8;
    options.batching.max_wait = std::chrono::milliseconds(30);  // so that requests share batches
    TestServer s(options);
    std::vector<std::string> files, texts;
    for (const auto& n : kImages) files.push_back(image_path(n).string());
    std::vector<std::string> text_args;
    for (int i = 0; i < 12; ++i) {
        texts.push_back("prompt number " + std::to_string(i) + std::string(i, '!'));
        text_args.insert(text_args.end(), {"--text", texts.back()});
    }
    const NpyArray image_rows = cli_embed(files, "concurrent_images");
    const NpyArray text_rows = cli_embed(text_args, "concurrent_texts");

    constexpr int kClients = 16, kRequestsEach = 3;
    std::atomic<int> mismatches{0}, failures{0};
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
        clients.emplace_back([&, c] {
            auto client = s.client();
            for (int r = 0; r < kRequestsEach; ++r) {
                const size_t image = (c + r) % kImages.size(), text = (c * 5 + r) % texts.size();
                json input = {texts[text], data_url(files[image], mime_of(kImages[image]))};
                auto res = client.Post("/v1/embeddings", json{{"input", input}}.dump(), "application/json");
                if (!res || res->status != 200) {
                    ++failures;
                    continue;
                }
                const auto rows = response_rows(json::parse(res->body));
                if (rows.size() != 2 || rows[0] != npy_row(text_rows, text) || rows[1] != npy_row(image_rows, image))
                    ++mismatches;
            }
        });
    }
    for (auto& t : clients) t.join();
    EXPECT_EQ(failures, 0);
    EXPECT_EQ(mismatches, 0);
    // The requests were batched together: fewer image batches than requests.
    const std::string metrics = s.client().Get("/metrics")->body;
    const auto at = metrics.find("zeroclip_batch_size_count{tower=\"image\"} ");
    ASSERT_NE(at, std::string::npos);
    const int batches = std::stoi(metrics.substr(at + std::strlen("zeroclip_batch_size_count{tower=\"image\"} ")));
    EXPECT_LT(batches, kClients * kRequestsEach) << metrics;
}

TEST(Server, AFullQueueAnswers503WithRetryAfter) {
    ServerOptions options;
    options.batching.max_queue = 4;
    options.batching.max_batch = 64;
    options.batching.max_wait = std::chrono::milliseconds(1500);  // the first request waits for company
    TestServer s(options);
    std::thread first([&] {
        auto client = s.client();
        post_json(client, "/v1/embeddings", {{"input", {"a", "b", "c"}}}, 200);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto client = s.client();
    auto res = client.Post("/v1/embeddings", json{{"input", {"d", "e"}}}.dump(), "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 503);
    EXPECT_EQ(res->get_header_value("Retry-After"), "1");
    EXPECT_EQ(json::parse(res->body)["error"]["code"], "overloaded");
    EXPECT_EQ(json::parse(res->body)["error"]["type"], "server_error");
    {
        // The refused connection is closed, so that it frees its server thread.
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(static_cast<uint16_t>(s.server->port()));
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
        const std::string body = json{{"input", {"d", "e"}}}.dump();
        const std::string request = "POST /v1/embeddings HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                                    "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
        ASSERT_EQ(::send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
        std::string answer;
        char buffer[4096];
        timeval timeout{3, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        ssize_t n;
        while ((n = ::recv(fd, buffer, sizeof buffer, 0)) > 0) answer.append(buffer, n);
        EXPECT_EQ(n, 0) << "the server kept the refused connection open";
        EXPECT_EQ(answer.rfind("HTTP/1.1 503", 0), 0u) << answer;
        ::close(fd);
    }
    // One more item still fits.
    post_json(client, "/v1/embeddings", {{"input", "d"}}, 200);
    first.join();
    // More inputs than the whole queue can never be admitted: a 413, not a 503 to retry.
    auto too_many = client.Post("/v1/embeddings", json{{"input", std::vector<std::string>(5, "a")}}.dump(), "application/json");
    ASSERT_TRUE(too_many);
    EXPECT_EQ(too_many->status, 413);
}

TEST(Server, AFullQueueRefusesBeforeReadingTheRequest) {
    // Under overload a refusal must cost far less than serving: with every slot taken, a request
    // is answered 503 before its body is parsed (invalid JSON here, a 400 once there is room).
    ServerOptions options;
    options.batching.max_queue = 3;
    options.batching.max_batch = 64;
    options.batching.max_wait = std::chrono::milliseconds(1500);  // the first request holds every slot
    TestServer s(options);
    std::thread first([&] {
        auto client = s.client();
        post_json(client, "/v1/embeddings", {{"input", {"a", "b", "c"}}}, 200);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto client = s.client();
    auto refused = client.Post("/v1/embeddings", "{not json", "application/json");
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 503) << refused->body;
    EXPECT_EQ(json::parse(refused->body)["error"]["code"], "overloaded");
    first.join();
    auto client2 = s.client();
    auto parsed = client2.Post("/v1/embeddings", "{not json", "application/json");
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->status, 400) << parsed->body;
}

TEST(Server, ADisconnectedClientIsDroppedFromItsBatch) {
    ServerOptions options;
    options.batching.max_batch = 64;
    options.batching.max_wait = std::chrono::milliseconds(1500);
    TestServer s(options);
    const NpyArray expected = cli_embed({"--text", "patient client"}, "patient");
    std::thread patient([&] {
        auto client = s.client();
        const auto rows = response_rows(post_json(client, "/v1/embeddings", {{"input", {"patient client"}}}, 200));
        EXPECT_EQ(rows.at(0), npy_row(expected, 0));
    });
    {
        auto impatient = s.client();
        impatient.set_read_timeout(0, 300000);  // gives up after 0.3 s, long before the batch runs
        auto res = impatient.Post("/v1/embeddings", json{{"input", {"x", "y", "z"}}}.dump(), "application/json");
        EXPECT_FALSE(res);
    }
    patient.join();
    const std::string metrics = s.client().Get("/metrics")->body;
    EXPECT_NE(metrics.find("zeroclip_items_dropped_total 3\n"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("zeroclip_items_total{tower=\"text\"} 1\n"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("zeroclip_queue_admitted 0\n"), std::string::npos) << metrics;
}

// A listening socket on loopback and one accepted connection, both ends' addresses known.
struct LoopbackConnection {
    int listener = -1, client = -1, accepted = -1;
    int server_port = 0, client_port = 0;

    LoopbackConnection() {
        listener = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof address;
        EXPECT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
        EXPECT_EQ(::listen(listener, 4), 0);
        ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
        server_port = ntohs(address.sin_port);
        client = ::socket(AF_INET, SOCK_STREAM, 0);
        EXPECT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
        accepted = ::accept(listener, nullptr, nullptr);
        sockaddr_in mine{};
        length = sizeof mine;
        ::getsockname(client, reinterpret_cast<sockaddr*>(&mine), &length);
        client_port = ntohs(mine.sin_port);
    }
    ~LoopbackConnection() {
        for (int fd : {listener, client, accepted})
            if (fd >= 0) ::close(fd);
    }
    int find() const { return server::connection_socket("127.0.0.1", server_port, "127.0.0.1", client_port); }
};

TEST(ServerConnection, IsFoundByItsAddressesAgainAfterTheRememberedOneCloses) {
    std::optional<LoopbackConnection> first(std::in_place);
    EXPECT_EQ(first->find(), first->accepted);
    EXPECT_EQ(first->find(), first->accepted);  // the remembered socket, checked
    EXPECT_EQ(server::connection_socket("127.0.0.1", first->server_port, "127.0.0.1", first->client_port + 1), -1);
    first.reset();
    LoopbackConnection second;  // may reuse the first one's descriptor numbers
    EXPECT_EQ(second.find(), second.accepted);
}

TEST(ServerConnection, AHangUpSetsTheWatchedRequestsFlagOnly) {
    LoopbackConnection gone, staying;
    server::HangupWatcher watcher;
    auto gone_flag = std::make_shared<std::atomic<bool>>(false);
    auto staying_flag = std::make_shared<std::atomic<bool>>(false);
    auto unwatched_flag = std::make_shared<std::atomic<bool>>(false);
    const auto watching_gone = watcher.watch(gone.accepted, gone_flag);
    const auto watching_staying = watcher.watch(staying.accepted, staying_flag);
    { const auto ended = watcher.watch(gone.accepted, unwatched_flag); }  // over before the hang-up
    const auto nothing = watcher.watch(-1, unwatched_flag);
    ::close(gone.client);
    gone.client = -1;
    for (int i = 0; i < 200 && !gone_flag->load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_TRUE(gone_flag->load());
    std::this_thread::sleep_for(std::chrono::milliseconds(120));  // two more rounds of polling
    EXPECT_FALSE(staying_flag->load());
    EXPECT_FALSE(unwatched_flag->load());
}

TEST(Batcher, RowsDoNotDependOnTheBatchTheyRanIn) {
    Clip clip = Clip::open(server_model_dir());
    std::vector<RgbImage> images;
    for (const auto& n : kImages) images.push_back(read_image(image_path(n)));
    const Matrix direct = clip.embed_images(images);
    BatcherOptions options;
    options.max_batch = 4;
    InferenceBatcher batcher(clip, options);
    const size_t per_image = clip.pixel_values(images[0]).size();
    std::vector<std::future<Matrix>> futures;
    for (size_t i = 0; i < images.size(); ++i) {
        auto slots = batcher.reserve(1);
        ASSERT_TRUE(slots);
        futures.push_back(batcher.submit_images(std::move(slots), clip.pixel_values(images[i]), 1, nullptr));
    }
    for (size_t i = 0; i < images.size(); ++i) {
        const Matrix row = futures[i].get();
        ASSERT_EQ(row.rows, 1);
        EXPECT_EQ(std::vector<float>(row.row(0), row.row(0) + row.cols),
                  std::vector<float>(direct.row(static_cast<int>(i)), direct.row(static_cast<int>(i)) + direct.cols));
    }
    EXPECT_EQ(per_image, 3u * 32 * 32);
    const auto stats = batcher.stats();
    EXPECT_EQ(stats.items_done[1], images.size());
    EXPECT_EQ(stats.admitted, 0);
}

TEST(Batcher, RunsFullBatchesAndPowersOfTwoOnly) {
    EXPECT_EQ(model_batch_size(32, 32), 32);
    EXPECT_EQ(model_batch_size(40, 32), 32);
    EXPECT_EQ(model_batch_size(31, 32), 16);
    EXPECT_EQ(model_batch_size(13, 32), 8);
    EXPECT_EQ(model_batch_size(1, 32), 1);
    EXPECT_EQ(model_batch_size(24, 24), 24);
    EXPECT_EQ(model_batch_size(23, 24), 16);

    // Seven images gathered into one batch of at most 8 run as 4 + 2 + 1, with the rows they
    // would have alone.
    Clip clip = Clip::open(server_model_dir());
    std::vector<RgbImage> images;
    for (int i = 0; i < 7; ++i) images.push_back(read_image(image_path(kImages[static_cast<size_t>(i) % kImages.size()])));
    const Matrix direct = clip.embed_images(images);
    BatcherOptions options;
    options.max_batch = 8;
    options.max_wait = std::chrono::milliseconds(200);
    InferenceBatcher batcher(clip, options);
    std::vector<float> pixels;
    for (const auto& image : images) {
        const auto p = clip.pixel_values(image);
        pixels.insert(pixels.end(), p.begin(), p.end());
    }
    auto slots = batcher.reserve(7);
    ASSERT_TRUE(slots);
    const Matrix rows = batcher.submit_images(std::move(slots), std::move(pixels), 7, nullptr).get();
    ASSERT_EQ(rows.rows, 7);
    EXPECT_EQ(rows.data, direct.data);
    const auto sizes = batcher.stats().batch_sizes[1];
    std::vector<uint64_t> expected(9, 0);
    expected[4] = expected[2] = expected[1] = 1;
    EXPECT_EQ(sizes, expected);
}

TEST(Batcher, AdmissionIsBoundedAndSlotsComeBack) {
    Clip clip = Clip::open(server_model_dir());
    BatcherOptions options;
    options.max_queue = 3;
    InferenceBatcher batcher(clip, options);
    auto a = batcher.reserve(2);
    EXPECT_TRUE(a);
    EXPECT_FALSE(batcher.reserve(2));
    {
        auto b = batcher.reserve(1);
        EXPECT_TRUE(b);
        EXPECT_FALSE(batcher.reserve(1));
    }  // an unused reservation gives its slots back
    EXPECT_TRUE(batcher.reserve(1));
    auto done = batcher.submit_texts(std::move(a), {clip.tokenize("a"), clip.tokenize("b")}, nullptr);
    EXPECT_EQ(done.get().rows, 2);
    EXPECT_TRUE(batcher.reserve(3));
    batcher.stop();
    EXPECT_FALSE(batcher.reserve(1));
}

}  // namespace
}  // namespace zeroclip::test

namespace zeroclip::test {
namespace {

TEST(ServerThumbnail, IsTheBicubicResizeAsABmpFile) {
    const RgbImage image = read_image(fixtures_dir() / "images" / "jpeg_baseline.jpg");  // 31x23
    const std::string bmp = server::thumbnail_bmp(image, 16);
    const RgbImage back = decode_image({reinterpret_cast<const uint8_t*>(bmp.data()), bmp.size()}, "thumbnail");
    const RgbImage expected = resize_bicubic(image, 16, 12);  // 23 * 16 / 31 = 11.9
    EXPECT_EQ(back.width, 16);
    EXPECT_EQ(back.height, 12);
    EXPECT_EQ(back.pixels, expected.pixels);
    // Small images are kept as they are.
    const std::string same = server::thumbnail_bmp(image, 64);
    const RgbImage unchanged = decode_image({reinterpret_cast<const uint8_t*>(same.data()), same.size()}, "same");
    EXPECT_EQ(unchanged.pixels, image.pixels);
}

}  // namespace
}  // namespace zeroclip::test

namespace zeroclip::test {
namespace {

using nlohmann::json;

// The fixture images indexed with the fixture model (in a fresh directory), served by a TestServer.
struct IndexedServer {
    std::filesystem::path dir;
    std::optional<Index> index;
    TestServer s;

    IndexedServer() {
        dir = std::filesystem::temp_directory_path() / ("zeroclip_server_index_" + std::to_string(::getpid()));
        std::filesystem::remove_all(dir);
        std::filesystem::create_directories(dir);
        index.emplace(Index::create(dir / "photos.zcdb",
                                    describe_model(server_model_dir().string(), server_model_dir(), *s.clip)));
        index->add(*s.clip, {(fixtures_dir() / "images").string()});
        s.server->attach_index(*index);
    }
    ~IndexedServer() {
        s.server->stop();
        index.reset();
        std::filesystem::remove_all(dir);
    }
};

std::vector<std::tuple<int64_t, std::string, float>> hits_of(const std::vector<SearchHit>& hits) {
    std::vector<std::tuple<int64_t, std::string, float>> out;
    for (const auto& h : hits) out.emplace_back(h.row, h.path.string(), h.score);
    return out;
}

std::vector<std::tuple<int64_t, std::string, float>> hits_of(const json& body) {
    std::vector<std::tuple<int64_t, std::string, float>> out;
    for (const auto& h : body.at("data"))
        out.emplace_back(h.at("id").get<int64_t>(), h.at("path").get<std::string>(), h.at("score").get<float>());
    return out;
}

TEST(ServerSearch, TextImageAndMoreLikeThisEqualTheLibrarysSearch) {
    IndexedServer x;
    auto client = x.s.client();
    EXPECT_EQ(json::parse(client.Get("/health")->body)["search"], true);
    SearchOptions five;
    five.top_k = 5;
    // The query's text embedding searched as a vector (search_text also sums and renormalises
    // its queries, which moves the scores' last bits).
    const Matrix text = x.s.clip->embed_texts({"a photo of a cat"});
    const auto by_text = x.index->search(std::span<const float>(text.row(0), text.cols), five);
    ASSERT_EQ(by_text.size(), 5u);
    {
        const auto library = x.index->search_text(*x.s.clip, {"a photo of a cat"}, five);
        for (size_t i = 0; i < library.size(); ++i) EXPECT_EQ(library[i].row, by_text[i].row);
    }
    EXPECT_EQ(hits_of(post_json(client, "/v1/search", {{"query", "a photo of a cat"}, {"top_k", 5}}, 200)),
              hits_of(by_text));
    auto get = client.Get("/v1/search?q=a%20photo%20of%20a%20cat&top_k=5");
    ASSERT_TRUE(get);
    ASSERT_EQ(get->status, 200) << get->body;
    EXPECT_EQ(hits_of(json::parse(get->body)), hits_of(by_text));

    const auto photo = fixtures_dir() / "images" / "png_rgb.png";
    EXPECT_EQ(hits_of(post_json(client, "/v1/search", {{"image", data_url(photo, "image/png")}, {"top_k", 5}}, 200)),
              hits_of(x.index->search_image(*x.s.clip, photo, five)));

    const int64_t row = by_text.front().row;
    const auto stored = x.index->embedding(row);
    ASSERT_TRUE(stored);
    EXPECT_EQ(hits_of(post_json(client, "/v1/search", {{"image_id", row}, {"top_k", 5}}, 200)),
              hits_of(x.index->search(*stored, five)));
}

TEST(ServerSearch, ThumbnailsAreServedOnlyForIndexRows) {
    IndexedServer x;
    auto client = x.s.client();
    const auto hits = x.index->search_text(*x.s.clip, {"anything"});
    ASSERT_FALSE(hits.empty());
    auto res = client.Get(("/v1/images/" + std::to_string(hits[0].row)).c_str());
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    EXPECT_EQ(res->get_header_value("Content-Type"), "image/bmp");
    const RgbImage thumb = decode_image({reinterpret_cast<const uint8_t*>(res->body.data()), res->body.size()}, "t");
    EXPECT_EQ(thumb.pixels, read_image(hits[0].path).pixels);  // 31x23 fixtures fit in 256 px as they are

    for (const std::string path : {"/v1/images/987654321", "/v1/images/-1", "/v1/images/..%2Fetc%2Fpasswd",
                                   "/v1/images/%2Fetc%2Fpasswd", "/v1/images/1.jpg"}) {
        auto bad = client.Get(path.c_str());
        ASSERT_TRUE(bad);
        EXPECT_EQ(bad->status, 404) << path;
        EXPECT_EQ(json::parse(bad->body)["error"]["type"], "invalid_request_error") << path;
    }
    const json both = post_json(client, "/v1/search", {{"query", "a"}, {"image_id", 1}}, 400);
    EXPECT_EQ(both["error"]["code"], "invalid_query");
    EXPECT_EQ(post_json(client, "/v1/search", {{"image_id", 987654321}}, 404)["error"]["code"], "not_found");
    EXPECT_EQ(post_json(client, "/v1/search", {{"query", "a"}, {"top_k", 0}}, 400)["error"]["code"], "invalid_top_k");
}

TEST(ServerSearch, WithoutAnIndexSearchIsAClearError) {
    TestServer s;
    auto client = s.client();
    EXPECT_EQ(json::parse(client.Get("/health")->body)["search"], false);
    EXPECT_EQ(post_json(client, "/v1/search", {{"query", "a"}}, 404)["error"]["code"], "no_index");
    EXPECT_EQ(json::parse(client.Get("/v1/images/1")->body)["error"]["code"], "no_index");
}

}  // namespace
}  // namespace zeroclip::test
