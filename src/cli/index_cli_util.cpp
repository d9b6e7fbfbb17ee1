#include "cli/index_cli_util.h"

#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/cli_util.h"
#include "zeroclip/error.h"

namespace zeroclip::cli {

void add_index_cli_options(CLI::App& command, IndexCliOptions& options, bool with_precision) {
    command.add_option("--db", options.db, "Index database, e.g. photos.zcdb")->required();
    command.add_option("-m,--model", options.model,
                       "Model directory or Hugging Face id (default: the one the index records)");
    if (with_precision)
        command.add_option("--precision", options.precision, "fp32, bf16 or int8 (default: the index's; fp32 for a new one)")
            ->check(CLI::IsMember({"fp32", "bf16", "int8"}));
    command.add_option("--device", options.device, "cpu, cuda (GPU 0) or auto")
        ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
    command.add_option("--threads", options.threads, "Worker threads (0: all cores)")->check(CLI::Range(0, 1024));
    command.add_option("--hnsw-threshold", options.hnsw_threshold,
                       "Search through an HNSW graph from this many images on (below it: exact)");
}

IndexOptions index_options(const IndexCliOptions& options) {
    IndexOptions out;
    out.threads = options.threads;
    out.hnsw_threshold = options.hnsw_threshold;
    out.on_note = [](const std::string& note) { std::cerr << "zeroclip: note: " << note << "\n"; };
    return out;
}

Clip open_index_model(const Index& index, const IndexCliOptions& options) {
    ModelOptions model_options;
    model_options.threads = options.threads;
    model_options.device = parse_device(options.device);
    if (options.model.empty() && options.precision.empty()) return index.open_model(model_options);
    model_options.precision = parse_precision(options.precision.empty() ? index.model().precision : options.precision);
    const std::string id = options.model.empty() ? index.model().id : options.model;
    const auto dir = resolve_model(id);
    Clip clip = Clip::open(dir, model_options);
    index.check_model(describe_model(id, dir, clip));
    return clip;
}

std::string hit_json(const SearchHit& hit) {
    const nlohmann::json line = {{"path", hit.path.native()}, {"score", hit.score}, {"row", hit.row}};
    // File names need not be UTF-8: replace invalid bytes instead of throwing.
    return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace zeroclip::cli
