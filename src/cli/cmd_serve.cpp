// zeroclip serve: the HTTP service (zeroclip/server.h) with its options, the model loaded
// while the port already answers /health, and SIGTERM/SIGINT for a graceful stop.
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include <malloc.h>
#include <pthread.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/index_cli_util.h"
#include "zeroclip/zeroclip.h"
#include "zeroclip/server.h"

namespace zeroclip::cli {

namespace {

struct ServeOptions {
    std::string model;
    std::string db;
    std::string precision;  // empty: fp32, or the index's
    std::string device = "cpu";
    int threads = 0;
    ServerOptions server;
    int max_wait_ms = 5;
    double max_body_mb = 32;
    std::string api_key_file;
};

std::string read_api_key(const std::filesystem::path& path) {
    const auto lines = read_lines(path, true);
    if (lines.empty() || lines.front().empty()) throw Error(path.string() + ": no API key in the file");
    if (lines.size() > 1) throw Error(path.string() + ": expected one line, the API key");
    return lines.front();
}

// The name reported as "model": a directory's own name, or the Hub id as given.
std::string model_name(const std::string& model) {
    const std::filesystem::path path(model);
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        const auto name = std::filesystem::weakly_canonical(path, ec).filename().string();
        if (!name.empty()) return name;
    }
    return model;
}

// One malloc arena for the whole server, unless the user tuned glibc's malloc. With its
// hundreds of HTTP threads spread over glibc's default 8 arenas per core, each arena kept its
// own free memory and their heaps crept up ~5 MB a minute in a soak (ViT-B/32, 2 cores); with
// one arena the heap stopped growing after the first minute, at the same throughput.
void use_one_malloc_arena() {
    const char* tunables = std::getenv("GLIBC_TUNABLES");
    if (std::getenv("MALLOC_ARENA_MAX") || (tunables && std::strstr(tunables, "glibc.malloc."))) return;
    ::mallopt(M_ARENA_MAX, 1);
}

int run_serve(ServeOptions options) {
    use_one_malloc_arena();
    ServerOptions& server_options = options.server;
    server_options.batching.max_wait = std::chrono::milliseconds(options.max_wait_ms);
    server_options.max_body_bytes = static_cast<size_t>(options.max_body_mb * 1024 * 1024);
    if (!options.api_key_file.empty()) server_options.api_key = read_api_key(options.api_key_file);
    // The index is opened first: a wrong --db fails before the model loads.
    std::optional<Index> index;
    if (!options.db.empty()) {
        IndexOptions index_opts;
        index_opts.read_only = true;
        index.emplace(Index::open(options.db, index_opts));
    }
    server_options.model_name = model_name(options.model.empty() && index ? index->model().id : options.model);

    // Every thread started from here on inherits the blocked signals; one thread waits for them.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    HttpServer server(server_options);
    server.start();
    std::thread signal_waiter([&] {
        int signal = 0;
        sigwait(&signals, &signal);
        server.stop();
    });
    const std::string url = "http://" + server_options.host + ":" + std::to_string(server.port());
    std::cerr << "zeroclip: listening on " << url << " (loading " << server_options.model_name << ")" << std::endl;

    std::optional<Clip> clip;
    try {
        if (index) {
            // The index's model (or -m, refused unless it is the same) in the index's precision.
            IndexCliOptions index_cli{options.db, options.model, options.precision, options.device, options.threads};
            clip.emplace(open_index_model(*index, index_cli));
        } else {
            RunOptions run{options.model, options.precision.empty() ? "fp32" : options.precision, options.device,
                           options.threads, 1};
            clip.emplace(open_clip(resolve_model(options.model), run));
        }
    } catch (...) {
        ::kill(::getpid(), SIGTERM);  // wakes the waiter, which stops the server
        signal_waiter.join();
        throw;
    }
    server.attach_model(*clip);
    if (index) server.attach_index(*index);
    std::cerr << "zeroclip: ready on " << url << " (" << precision_name(clip->model().precision())
              << ", max batch " << server_options.batching.max_batch << ", queue "
              << server_options.batching.max_queue << ")" << std::endl;
    server.wait();
    signal_waiter.join();
    std::cerr << "zeroclip: stopped" << std::endl;
    return 0;
}

}  // namespace

void add_serve_command(CLI::App& app, Action& run) {
    auto options = std::make_shared<ServeOptions>();
    auto* cmd = app.add_subcommand("serve", "HTTP service: OpenAI-compatible embeddings, classification, a web page");
    auto* model = cmd->add_option("-m,--model", options->model,
                                  "Model directory, or Hugging Face id ORG/NAME[@REVISION] (default with --db: the index's)");
    auto* db = cmd->add_option("--db", options->db, "Photo index (zeroclip index) to serve /v1/search from")
                   ->check(CLI::ExistingFile);
    cmd->add_option("--host", options->server.host, "Address to listen on")->capture_default_str();
    cmd->add_option("--port", options->server.port, "Port (0: any free port)")
        ->check(CLI::Range(0, 65535))->capture_default_str();
    cmd->add_option("--precision", options->precision, "fp32 (exact), bf16 or int8")
        ->check(CLI::IsMember({"fp32", "bf16", "int8"}));
    cmd->add_option("--device", options->device, "cpu, cuda (GPU 0) or auto")
        ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
    cmd->add_option("--threads", options->threads, "Model threads (0: all cores)")->check(CLI::Range(0, 1024));
    cmd->add_option("--max-batch", options->server.batching.max_batch, "Items per call of a tower")
        ->check(CLI::Range(1, 4096))->capture_default_str();
    cmd->add_option("--max-wait-ms", options->max_wait_ms, "How long a batch waits to fill up")
        ->check(CLI::Range(0, 10000))->capture_default_str();
    cmd->add_option("--queue", options->server.batching.max_queue,
                    "Inputs admitted at once; beyond them requests get 503 + Retry-After")
        ->check(CLI::Range(1, 1 << 20))->capture_default_str();
    cmd->add_option("--api-key-file", options->api_key_file,
                    "File holding the API key that requests must send as Authorization: Bearer KEY")
        ->check(CLI::ExistingFile);
    cmd->add_option("--max-body-mb", options->max_body_mb, "Largest request body (MiB)")
        ->check(CLI::Range(0.001, 4096.0))->capture_default_str();
    cmd->add_option("--max-inputs", options->server.max_inputs, "Inputs per request")
        ->check(CLI::Range(1, 1 << 20))->capture_default_str();
    cmd->add_option("--max-image-pixels", options->server.max_image_pixels, "Largest decoded image (width x height)")
        ->check(CLI::Range(int64_t{1}, kMaxImagePixels))->capture_default_str();
    cmd->add_option("--max-text-bytes", options->server.max_text_bytes, "Longest input text (UTF-8 bytes)")
        ->check(CLI::Range(size_t{1}, size_t{1} << 24))->capture_default_str();
    cmd->callback([options, &run, model, db] {
        if (model->count() + db->count() == 0) throw CLI::ValidationError("serve", "give -m MODEL or --db FILE");
        run = [options] { return run_serve(*options); };
    });
}

}  // namespace zeroclip::cli
