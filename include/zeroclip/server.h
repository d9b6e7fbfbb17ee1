// zeroclip/server.h - the HTTP service: an OpenAI-compatible embeddings API, zero-shot
// classification, search over a photo index, health and Prometheus metrics and a web page,
// over the dynamic batcher.
// `zeroclip serve` is a thin command-line layer over this class.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "zeroclip/batcher.h"
#include "zeroclip/clip.h"

namespace zeroclip {

class Index;

struct ServerOptions {
    std::string host = "127.0.0.1";
    int port = 8080;  // 0: any free port (see HttpServer::port())
    BatcherOptions batching;
    std::string api_key;                        // non-empty: every endpoint but /health needs it
    std::string model_name = "zeroclip";        // reported as "model" in responses
    size_t max_body_bytes = 32u << 20;          // larger requests: 413
    int max_inputs = 256;                       // inputs per request (texts + images)
    int64_t max_image_pixels = 40'000'000;      // width * height of one decoded image
    size_t max_text_bytes = 4096;               // one input text, UTF-8 bytes
    int max_prompts = 10000;                    // labels x templates of one classify request
    int decode_threads = 0;                     // images decoded at once; 0: all cores
    int http_threads = 0;                       // connections served at once; 0: max_queue + 16
};

class HttpServer {
public:
    explicit HttpServer(ServerOptions options);
    ~HttpServer();  // stop()
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Binds host:port and serves on background threads; throws zeroclip::Error naming the
    // address when it cannot bind. Until attach_model(), /health answers 503 ("loading").
    void start();
    int port() const;

    // Starts batching on `clip` (which must outlive the server): the server is ready.
    void attach_model(Clip& clip);

    // Serves /v1/search and /v1/images/{id} from `index` (which must outlive the server and
    // hold vectors of the attached model); the web page then shows its search grid.
    void attach_index(Index& index);

    // Graceful: stops accepting connections, finishes the requests in flight, stops the batcher.
    void stop();

    // Blocks until stop() has completed (from another thread or a signal handler's thread).
    void wait();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace zeroclip
