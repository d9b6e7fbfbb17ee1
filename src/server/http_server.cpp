// The HTTP layer of `zeroclip serve`, on cpp-httplib: routing, authentication, limits and
// errors in OpenAI's shape. The work itself is the library's: Clip's tokenizer and
// preprocessing, the InferenceBatcher, ZeroShotClassifier.
#include "zeroclip/server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <list>
#include <semaphore>
#include <thread>

#include <nlohmann/json.hpp>

#include "hub/sha256.h"
#include "image/image_limits.h"
#include "server/api_error.h"
#include "server/base64.h"
#include "server/connection_watch.h"
#include "server/request_inputs.h"
#include "server/thumbnail.h"
#include "server/server_metrics.h"
#include "server/web_page.h"  // generated from web_page.html: kWebPage
#include "zeroclip/error.h"
#include "zeroclip/image.h"
#include "zeroclip/index.h"
#include "zeroclip/pipelines.h"

namespace zeroclip {

using server::ApiError;
using nlohmann::json;

namespace {

using clock_type = std::chrono::steady_clock;

// When the request now being handled on this thread entered routing (for the latency metric).
thread_local std::optional<clock_type::time_point> t_request_start;

// httplib listens with a backlog of 5; a burst of clients would see dropped SYNs (1 s retries).
class ListeningServer : public httplib::Server {
public:
    void widen_backlog(int backlog) { ::listen(svr_sock_.load(), backlog); }
};

// Digests of both sides compared in full: the time taken reveals nothing about the key.
bool keys_match(const std::string& given, const std::string& expected) {
    auto digest = [](const std::string& text) {
        hub::Sha256 hash;
        hash.update(text.data(), text.size());
        return hash.hex_digest();
    };
    const std::string a = digest(given), b = digest(expected);
    unsigned char diff = 0;
    for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

std::string endpoint_of(const std::string& path) {
    static const char* known[] = {"/", "/health", "/metrics", "/v1/embeddings", "/v1/classify", "/v1/search"};
    for (const char* k : known)
        if (path == k) return k;
    if (path.rfind("/v1/images/", 0) == 0) return "/v1/images";
    return "other";
}

void send_json(httplib::Response& res, int status, const std::string& body) {
    res.status = status;
    res.set_content(body, "application/json");
}

ApiError overloaded(int capacity) {
    return ApiError(503, "overloaded",
                    "server busy: the queue of " + std::to_string(capacity) + " inputs is full; retry later");
}

// Thrown when the client hung up while its request waited: nothing is answered.
struct ClientGone {};

}  // namespace

struct HttpServer::Impl {
    explicit Impl(ServerOptions o)
        : options(std::move(o)),
          decode_slots(options.decode_threads > 0 ? options.decode_threads
                                                  : std::max(1u, std::thread::hardware_concurrency())) {}

    ServerOptions options;
    ListeningServer http;
    server::ServerMetrics metrics;
    server::HangupWatcher hangups;
    std::unique_ptr<InferenceBatcher> batcher_owner;
    std::atomic<InferenceBatcher*> batcher{nullptr};
    std::atomic<Index*> index{nullptr};
    std::thread listener;
    int port = 0;
    // Bounds the images decoded at once, and with it the memory decoding can take.
    std::counting_semaphore<4096> decode_slots;

    std::mutex classifiers_mutex;
    // Recently used label sets, most recent first: their prompts are not encoded again.
    std::list<std::pair<std::string, std::shared_ptr<ZeroShotClassifier>>> classifiers;

    std::mutex stop_mutex;
    std::condition_variable stopped_cv;
    bool stopping = false;
    bool stopped = false;

    server::InputLimits limits() const {
        return {options.max_inputs, options.max_text_bytes, options.max_prompts};
    }

    InferenceBatcher& ready_batcher() {
        InferenceBatcher* b = batcher.load();
        if (!b) throw ApiError(503, "loading", "the model is still loading; retry shortly");
        return *b;
    }

    void install_routes();
    bool authorized(const httplib::Request& req) const;

    template <class T>
    T await(std::future<T>& future, const httplib::Request& req, const CancelFlag& cancelled);

    std::vector<float> prepare_images(InferenceBatcher& b, const std::vector<server::EncodedImage>& images);
    std::shared_ptr<ZeroShotClassifier> classifier_for(InferenceBatcher& b, const std::vector<std::string>& labels,
                                                       const std::vector<std::string>& templates,
                                                       const httplib::Request& req);

    void embeddings(const httplib::Request& req, httplib::Response& res);
    void classify(const httplib::Request& req, httplib::Response& res);
    void search(const httplib::Request& req, httplib::Response& res);
    void image(const httplib::Request& req, httplib::Response& res);
    void health(httplib::Response& res);
};

template <class T>
T HttpServer::Impl::await(std::future<T>& future, const httplib::Request& req, const CancelFlag& cancelled) {
    // A hang-up sets `cancelled`: the batcher then drops the request's items still queued and
    // fails the future at once; items already running finish, unanswered.
    const auto watch = hangups.watch(
        server::connection_socket(req.local_addr, req.local_port, req.remote_addr, req.remote_port), cancelled);
    future.wait();
    if (cancelled->load()) throw ClientGone{};
    return future.get();
}

std::vector<float> HttpServer::Impl::prepare_images(InferenceBatcher& b,
                                                    const std::vector<server::EncodedImage>& images) {
    const auto& pre = b.clip().preprocess_config();
    const size_t per_image = 3 * static_cast<size_t>(pre.crop_height) * pre.crop_width;
    std::vector<float> pixels(images.size() > 1 ? per_image * images.size() : 0);
    for (size_t i = 0; i < images.size(); ++i) {
        decode_slots.acquire();
        try {
            RgbImage image;
            try {
                // The limit is checked from the header, before the pixels are allocated.
                image = image::decode_image_within(images[i].bytes, images[i].name, options.max_image_pixels);
            } catch (const image::ImageTooLarge& e) {
                throw ApiError(413, "image_too_large", e.what());
            } catch (const Error& e) {
                throw ApiError(400, "invalid_image", e.what());
            }
            std::vector<float> values = b.clip().pixel_values(image);
            image = RgbImage();  // before the copy: the decoded and the scaled pixels are not held at once
            if (images.size() == 1) pixels = std::move(values);
            else std::copy(values.begin(), values.end(), pixels.begin() + per_image * i);
        } catch (...) {
            decode_slots.release();
            throw;
        }
        decode_slots.release();
    }
    return pixels;
}

std::shared_ptr<ZeroShotClassifier> HttpServer::Impl::classifier_for(InferenceBatcher& b,
                                                                     const std::vector<std::string>& labels,
                                                                     const std::vector<std::string>& templates,
                                                                     const httplib::Request& req) {
    // Unambiguous key: every string with its length.
    std::string key;
    for (const auto* list : {&labels, &templates}) {
        key += std::to_string(list->size()) + ':';
        for (const auto& s : *list) key += std::to_string(s.size()) + ':' + s;
    }
    {
        std::lock_guard lock(classifiers_mutex);
        for (auto it = classifiers.begin(); it != classifiers.end(); ++it) {
            if (it->first != key) continue;
            classifiers.splice(classifiers.begin(), classifiers, it);
            return it->second;
        }
    }
    // The prompts go through the text tower, which only the model thread may call.
    auto made = std::make_shared<std::shared_ptr<ZeroShotClassifier>>();
    std::future<void> done = b.run_on_model_thread(
        [made, labels, templates](Clip& clip) { *made = std::make_shared<ZeroShotClassifier>(clip, labels, templates); });
    auto cancelled = std::make_shared<std::atomic<bool>>(false);
    await(done, req, cancelled);
    std::lock_guard lock(classifiers_mutex);
    classifiers.emplace_front(key, *made);
    constexpr size_t kCachedLabelSets = 8;
    if (classifiers.size() > kCachedLabelSets) classifiers.pop_back();
    return *made;
}

void HttpServer::Impl::embeddings(const httplib::Request& req, httplib::Response& res) {
    InferenceBatcher& b = ready_batcher();
    if (b.full()) throw overloaded(b.options().max_queue);
    server::EmbeddingsRequest request = server::parse_embeddings_request(req.body, limits());
    const int dim = b.clip().config().projection_dim;
    if (request.dimensions && *request.dimensions != dim)
        throw ApiError(400, "invalid_dimensions",
                       "dimensions: this model's embeddings have " + std::to_string(dim) + " dimensions, not " +
                           std::to_string(*request.dimensions) + " (reduction is not supported)");

    std::vector<int> text_rows, image_rows;
    std::vector<std::vector<int32_t>> token_ids;
    std::vector<server::EncodedImage> images;
    int64_t prompt_tokens = 0;
    for (size_t i = 0; i < request.inputs.size(); ++i) {
        auto& input = request.inputs[i];
        if (input.is_image) {
            image_rows.push_back(static_cast<int>(i));
            images.push_back(std::move(input.image));
        } else {
            text_rows.push_back(static_cast<int>(i));
        }
    }
    InferenceBatcher::Reservation text_slots, image_slots;
    if (!text_rows.empty() && !(text_slots = b.reserve(static_cast<int>(text_rows.size()))))
        throw overloaded(b.options().max_queue);
    if (!images.empty() && !(image_slots = b.reserve(static_cast<int>(images.size()))))
        throw overloaded(b.options().max_queue);
    for (int row : text_rows) {
        token_ids.push_back(b.clip().tokenize(request.inputs[row].text));
        prompt_tokens += static_cast<int64_t>(token_ids.back().size());
    }
    std::vector<float> pixels = prepare_images(b, images);

    auto cancelled = std::make_shared<std::atomic<bool>>(false);
    std::future<Matrix> texts_done, images_done;
    if (!text_rows.empty()) texts_done = b.submit_texts(std::move(text_slots), std::move(token_ids), cancelled);
    if (!images.empty())
        images_done = b.submit_images(std::move(image_slots), std::move(pixels), static_cast<int>(images.size()), cancelled);
    Matrix text_embeddings, image_embeddings;
    if (texts_done.valid()) text_embeddings = await(texts_done, req, cancelled);
    if (images_done.valid()) image_embeddings = await(images_done, req, cancelled);

    std::vector<const float*> rows(request.inputs.size());
    for (size_t i = 0; i < text_rows.size(); ++i) rows[text_rows[i]] = text_embeddings.row(static_cast<int>(i));
    for (size_t i = 0; i < image_rows.size(); ++i) rows[image_rows[i]] = image_embeddings.row(static_cast<int>(i));
    json data = json::array();
    for (size_t i = 0; i < rows.size(); ++i) {
        json item = {{"object", "embedding"}, {"index", i}};
        if (request.base64_output) item["embedding"] = server::base64_encode(rows[i], sizeof(float) * dim);
        else item["embedding"] = std::vector<float>(rows[i], rows[i] + dim);
        data.push_back(std::move(item));
    }
    json body = {{"object", "list"},
                 {"data", std::move(data)},
                 {"model", options.model_name},
                 {"usage", {{"prompt_tokens", prompt_tokens}, {"total_tokens", prompt_tokens}}}};
    send_json(res, 200, body.dump(-1, ' ', false, json::error_handler_t::replace));
}

void HttpServer::Impl::classify(const httplib::Request& req, httplib::Response& res) {
    InferenceBatcher& b = ready_batcher();
    if (b.full()) throw overloaded(b.options().max_queue);
    server::ClassifyRequest request;
    if (req.is_multipart_form_data()) {
        std::vector<server::FormPart> parts;
        for (const auto& [name, part] : req.files) parts.push_back({part.name, part.filename, part.content});
        request = server::parse_classify_form(parts, limits());
    } else {
        request = server::parse_classify_json(req.body, limits());
    }
    if (request.templates.empty()) request.templates = {kDefaultTemplate};
    const int count = static_cast<int>(request.images.size());
    InferenceBatcher::Reservation slots = b.reserve(count);
    if (!slots) throw overloaded(b.options().max_queue);
    std::vector<float> pixels = prepare_images(b, request.images);
    std::shared_ptr<ZeroShotClassifier> classifier = classifier_for(b, request.labels, request.templates, req);

    auto cancelled = std::make_shared<std::atomic<bool>>(false);
    std::future<Matrix> done = b.submit_images(std::move(slots), std::move(pixels), count, cancelled);
    const Matrix probs = classifier->probabilities(await(done, req, cancelled));
    // The objects are exactly `classify --json`'s lines.
    std::string body = "{\"object\":\"list\",\"data\":[";
    for (int i = 0; i < count; ++i) {
        if (i) body += ',';
        body += classifier->to_json({request.images[i].name, top_k(probs.row(i), probs.cols, request.top_k)});
    }
    body += "],\"model\":" + json(options.model_name).dump(-1, ' ', false, json::error_handler_t::replace) + "}";
    send_json(res, 200, body);
}

void HttpServer::Impl::search(const httplib::Request& req, httplib::Response& res) {
    InferenceBatcher& b = ready_batcher();
    Index* idx = index.load();
    if (!idx) throw ApiError(404, "no_index", "this server has no image index (start it with --db FILE)");
    std::string query, image_url;
    std::optional<int64_t> image_id;
    int64_t top_k = 20;
    auto parse_integer = [](const std::string& text, const std::string& field) {
        try {
            size_t used = 0;
            const long long v = std::stoll(text, &used);
            if (used == text.size()) return static_cast<int64_t>(v);
        } catch (const std::exception&) {
        }
        throw ApiError(400, "invalid_type", field + ": expected an integer, got \"" + text + "\"");
    };
    if (req.method == "GET") {
        query = req.has_param("q") ? req.get_param_value("q") : req.get_param_value("query");
        if (req.has_param("image_id")) image_id = parse_integer(req.get_param_value("image_id"), "image_id");
        if (req.has_param("top_k")) top_k = parse_integer(req.get_param_value("top_k"), "top_k");
    } else {
        json body;
        try {
            body = json::parse(req.body);
        } catch (const json::parse_error&) {
            throw ApiError(400, "invalid_json", "request body is not valid JSON");
        }
        if (!body.is_object()) throw ApiError(400, "invalid_json", "request body must be a JSON object");
        auto string_field = [&](const char* name) {
            if (!body.contains(name)) return std::string();
            if (!body[name].is_string()) throw ApiError(400, "invalid_type", std::string(name) + ": expected a string");
            return body[name].get<std::string>();
        };
        query = string_field("query");
        image_url = string_field("image");
        if (body.contains("image_id")) {
            if (!body["image_id"].is_number_integer()) throw ApiError(400, "invalid_type", "image_id: expected an integer");
            image_id = body["image_id"].get<int64_t>();
        }
        if (body.contains("top_k")) {
            if (!body["top_k"].is_number_integer()) throw ApiError(400, "invalid_top_k", "top_k: expected an integer");
            top_k = body["top_k"].get<int64_t>();
        }
    }
    if ((!query.empty()) + (!image_url.empty()) + image_id.has_value() != 1)
        throw ApiError(400, "invalid_query", "give exactly one of query (q), image or image_id");
    if (top_k < 1 || top_k > 1000) throw ApiError(400, "invalid_top_k", "top_k: must be between 1 and 1000");

    std::vector<float> vector;
    auto cancelled = std::make_shared<std::atomic<bool>>(false);
    if (image_id) {
        auto stored = idx->embedding(*image_id);
        if (!stored) throw ApiError(404, "not_found", "image_id " + std::to_string(*image_id) + ": no such indexed image");
        vector = std::move(*stored);
    } else {
        auto slots = b.reserve(1);
        if (!slots) throw overloaded(b.options().max_queue);
        std::future<Matrix> done;
        if (!query.empty()) {
            if (query.size() > options.max_text_bytes)
                throw ApiError(413, "text_too_long", "query: text of " + std::to_string(query.size()) +
                                                         " bytes exceeds the limit of " + std::to_string(options.max_text_bytes));
            done = b.submit_texts(std::move(slots), {b.clip().tokenize(query)}, cancelled);
        } else {
            std::vector<server::EncodedImage> images = {{"image", server::decode_image_data_url(image_url, "image")}};
            done = b.submit_images(std::move(slots), prepare_images(b, images), 1, cancelled);
        }
        Matrix row = await(done, req, cancelled);
        vector.assign(row.row(0), row.row(0) + row.cols);
    }
    SearchOptions search_options;
    search_options.top_k = static_cast<int>(top_k);
    json data = json::array();
    for (const auto& hit : idx->search(vector, search_options))
        data.push_back({{"id", hit.row}, {"path", hit.path.string()}, {"score", hit.score}});
    json body = {{"object", "list"}, {"data", std::move(data)}, {"model", options.model_name}};
    send_json(res, 200, body.dump(-1, ' ', false, json::error_handler_t::replace));
}

void HttpServer::Impl::image(const httplib::Request& req, httplib::Response& res) {
    Index* idx = index.load();
    if (!idx) throw ApiError(404, "no_index", "this server has no image index (start it with --db FILE)");
    const std::string id_text = req.matches[1];
    int64_t id = -1;
    try {
        id = std::stoll(id_text);
    } catch (const std::exception&) {
        throw ApiError(404, "not_found", "image " + id_text + ": no such indexed image");
    }
    // Only rows of the index are served: the path comes from the database, never the request.
    const auto row = idx->row(id);
    if (!row) throw ApiError(404, "not_found", "image " + id_text + ": no such indexed image");
    decode_slots.acquire();
    std::string bmp;
    try {
        bmp = server::thumbnail_bmp(read_image(row->path), 256);
    } catch (const Error& e) {
        decode_slots.release();
        throw ApiError(404, "image_unavailable", std::string("image ") + id_text + " cannot be read: " + e.what());
    }
    decode_slots.release();
    res.set_header("Cache-Control", "private, max-age=300");
    res.set_content(bmp, "image/bmp");
}

void HttpServer::Impl::health(httplib::Response& res) {
    if (batcher.load())
        send_json(res, 200, json{{"status", "ok"}, {"model", options.model_name}, {"search", index.load() != nullptr}}
                                .dump(-1, ' ', false, json::error_handler_t::replace));
    else {
        res.set_header("Retry-After", "1");
        send_json(res, 503, json{{"status", "loading"}}.dump());
    }
}

bool HttpServer::Impl::authorized(const httplib::Request& req) const {
    if (options.api_key.empty()) return true;
    const std::string header = req.get_header_value("Authorization");
    const std::string prefix = "Bearer ";
    if (header.size() <= prefix.size() || header.compare(0, prefix.size(), prefix) != 0) return false;
    return keys_match(header.substr(prefix.size()), options.api_key);
}

void HttpServer::Impl::install_routes() {
    // Every handler answers errors as JSON; a client that hung up gets nothing (status 499 in
    // the metrics, nginx's "client closed request").
    auto guarded = [this](void (Impl::*handler)(const httplib::Request&, httplib::Response&)) {
        return [this, handler](const httplib::Request& req, httplib::Response& res) {
            try {
                (this->*handler)(req, res);
            } catch (const ApiError& e) {
                if (e.status() == 503) {
                    res.set_header("Retry-After", "1");
                    // Frees this connection's thread for the connections waiting for one (the
                    // logger shuts the socket down once the response is out).
                    res.set_header("Connection", "close");
                }
                send_json(res, e.status(), server::error_body(e));
            } catch (const ClientGone&) {
                res.status = 499;
            } catch (const Error& e) {
                send_json(res, 400, server::error_body(400, "invalid_request", e.what()));
            } catch (const std::exception& e) {
                send_json(res, 500, server::error_body(500, "internal_error", std::string("internal error: ") + e.what()));
            }
        };
    };
    http.Post("/v1/embeddings", guarded(&Impl::embeddings));
    http.Post("/v1/classify", guarded(&Impl::classify));
    http.Get("/v1/search", guarded(&Impl::search));
    http.Post("/v1/search", guarded(&Impl::search));
    http.Get(R"(/v1/images/(\d{1,18}))", guarded(&Impl::image));
    http.Get("/health", [this](const httplib::Request&, httplib::Response& res) { health(res); });
    http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
        res.set_content(metrics.render(batcher.load()), "text/plain; version=0.0.4; charset=utf-8");
    });
    http.Get("/", [](const httplib::Request&, httplib::Response& res) {
        // The page talks to this server only: nothing from elsewhere may load or run.
        res.set_header("Content-Security-Policy",
                       "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                       "img-src 'self' data: blob:; connect-src 'self'; form-action 'none'; base-uri 'none'");
        res.set_content(server::kWebPage, "text/html; charset=utf-8");
    });

    // Known paths with another method: 405 with Allow, not httplib's 404.
    const std::vector<std::pair<std::string, std::string>> allowed = {
        {"/", "GET"},          {"/health", "GET"},     {"/metrics", "GET"},
        {"/v1/embeddings", "POST"}, {"/v1/classify", "POST"}, {"/v1/search", "GET, POST"},
        {R"(/v1/images/(\d{1,18}))", "GET"}};
    for (const auto& [path, allow] : allowed) {
        auto reject = [allow](const httplib::Request& req, httplib::Response& res) {
            res.set_header("Allow", allow);
            send_json(res, 405, server::error_body(405, "method_not_allowed",
                                                   req.method + " " + req.path + " is not allowed; use " + allow));
        };
        if (allow.find("GET") == std::string::npos) http.Get(path, reject);
        if (allow.find("POST") == std::string::npos) http.Post(path, reject);
        http.Put(path, reject);
        http.Patch(path, reject);
        http.Delete(path, reject);
        http.Options(path, reject);
    }

    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
        t_request_start = clock_type::now();
        // The page itself is static and holds no data; its requests carry the key.
        if (req.path == "/health" || (req.path == "/" && req.method == "GET") || authorized(req))
            return httplib::Server::HandlerResponse::Unhandled;
        res.set_header("WWW-Authenticate", "Bearer");
        const bool given = !req.get_header_value("Authorization").empty();
        send_json(res, 401, server::error_body(401, given ? "invalid_api_key" : "missing_api_key",
                                               given ? "invalid API key" : "missing API key: send Authorization: Bearer KEY"));
        return httplib::Server::HandlerResponse::Handled;
    });
    // Errors httplib answers itself (unknown route, body too large, malformed request) in JSON.
    http.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req,
                                                                       httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        std::string code = "http_error", message = "HTTP error " + std::to_string(res.status);
        if (res.status == 404) code = "not_found", message = "no route for " + req.method + " " + req.path;
        else if (res.status == 413)
            code = "request_too_large",
            message = "request body exceeds the limit of " + std::to_string(options.max_body_bytes) + " bytes";
        else if (res.status == 400) code = "malformed_request", message = "malformed HTTP request";
        res.set_content(server::error_body(res.status, code, message), "application/json");
        return httplib::Server::HandlerResponse::Handled;
    }));
    http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
        const double seconds =
            t_request_start ? std::chrono::duration<double>(clock_type::now() - *t_request_start).count() : 0.0;
        t_request_start.reset();
        metrics.record(endpoint_of(req.path), res.status, seconds);
        if (res.get_header_value("Connection") == "close")
            server::close_connection(
                server::connection_socket(req.local_addr, req.local_port, req.remote_addr, req.remote_port));
    });
}

HttpServer::HttpServer(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
    Impl& s = *impl_;
    if (s.options.max_inputs < 1) throw Error("max inputs per request must be at least 1");
    if (s.options.max_inputs > s.options.batching.max_queue)
        s.options.max_inputs = s.options.batching.max_queue;  // a larger request could never be admitted
    const int threads = s.options.http_threads > 0 ? s.options.http_threads : s.options.batching.max_queue + 16;
    s.http.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
    s.http.set_payload_max_length(s.options.max_body_bytes);
    s.http.set_keep_alive_max_count(100);
    // Short, so that idle keep-alive connections do not hold up a graceful shutdown for long.
    s.http.set_keep_alive_timeout(2);
    s.http.set_read_timeout(30);
    s.http.set_write_timeout(30);
    s.http.set_tcp_nodelay(true);
    // httplib's default also sets SO_REUSEPORT, which would let a second server share the port
    // silently: "address in use" must be an error.
    s.http.set_socket_options([](socket_t sock) {
        const int yes = 1;
        ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    s.install_routes();
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() {
    Impl& s = *impl_;
    const std::string address = s.options.host + ":" + std::to_string(s.options.port);
    if (s.options.port == 0) {
        s.port = s.http.bind_to_any_port(s.options.host);
        if (s.port < 0) throw Error(address + ": cannot bind");
    } else {
        if (!s.http.bind_to_port(s.options.host, s.options.port))
            throw Error(address + ": cannot bind (address in use, or not permitted)");
        s.port = s.options.port;
    }
    s.http.widen_backlog(1024);
    s.listener = std::thread([&s] { s.http.listen_after_bind(); });
    // stop() only takes effect once httplib is running.
    while (!s.http.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

int HttpServer::port() const { return impl_->port; }

void HttpServer::attach_model(Clip& clip) {
    Impl& s = *impl_;
    if (s.batcher_owner) throw Error("the server already has a model");
    clip.tokenizer();  // read now: a broken vocabulary stops the server before it reports ready
    s.batcher_owner = std::make_unique<InferenceBatcher>(clip, s.options.batching);
    s.batcher.store(s.batcher_owner.get());
}

void HttpServer::attach_index(Index& index) { impl_->index.store(&index); }

void HttpServer::stop() {
    Impl& s = *impl_;
    {
        std::unique_lock lock(s.stop_mutex);
        if (s.stopping) {
            s.stopped_cv.wait(lock, [&] { return s.stopped; });
            return;
        }
        s.stopping = true;
    }
    // httplib closes the listening socket, lets every handler finish and joins its threads;
    // the batcher keeps serving them meanwhile and stops last.
    s.http.stop();
    if (s.listener.joinable()) s.listener.join();
    if (s.batcher_owner) s.batcher_owner->stop();
    {
        std::lock_guard lock(s.stop_mutex);
        s.stopped = true;
    }
    s.stopped_cv.notify_all();
}

void HttpServer::wait() {
    Impl& s = *impl_;
    std::unique_lock lock(s.stop_mutex);
    s.stopped_cv.wait(lock, [&] { return s.stopped; });
}

}  // namespace zeroclip
