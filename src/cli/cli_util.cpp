#include "cli/cli_util.h"

#include <fstream>
#include <iostream>

#include "zeroclip/error.h"
#include "zeroclip/hub.h"
#include "util/regular_file.h"
#include "util/one_line.h"

namespace zeroclip::cli {

std::vector<std::string> read_lines(const std::filesystem::path& path, bool skip_empty) {
    require_regular_file(path);
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path.string() + ": cannot open");
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (skip_empty && line.find_first_not_of(" \t") == std::string::npos) continue;
        lines.push_back(std::move(line));
    }
    if (in.bad()) throw Error(path.string() + ": read error");
    return lines;
}

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> items;
    size_t start = 0;
    while (start <= text.size()) {
        size_t end = text.find(',', start);
        if (end == std::string::npos) end = text.size();
        std::string item = text.substr(start, end - start);
        const size_t first = item.find_first_not_of(" \t");
        const size_t last = item.find_last_not_of(" \t");
        if (first != std::string::npos) items.push_back(item.substr(first, last - first + 1));
        start = end + 1;
    }
    return items;
}

void report_error(const std::string& message) { std::cerr << "zeroclip: " << one_line(message) << "\n"; }

void report_failure(const ImageFailure& failure) { report_error(failure.message); }

}  // namespace zeroclip::cli

namespace zeroclip::cli {

std::filesystem::path resolve_model(const std::string& model) {
    return zeroclip::resolve_model(model, HubOptions::from_environment());
}

void add_run_options(CLI::App& command, RunOptions& options) {
    command.add_option("-m,--model", options.model, "Model directory, or Hugging Face id ORG/NAME[@REVISION]")
        ->required();
    command.add_option("--precision", options.precision, "fp32 (exact), bf16 or int8")
        ->check(CLI::IsMember({"fp32", "bf16", "int8"}));
    command.add_option("--device", options.device, "cpu, cuda (GPU 0) or auto (a GPU when one is usable)")
        ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
    command.add_option("--threads", options.threads, "Worker threads (0: all cores)")
        ->check(CLI::Range(0, 1024));
    command.add_option("--batch-size", options.batch_size, "Images per batch")->check(CLI::Range(1, 4096));
    add_cache_flag(command, options.no_weight_cache);
}

void add_cache_flag(CLI::App& command, bool& no_cache) {
    command.add_flag("--no-weight-cache", no_cache,
                     "Neither read nor write the cache of packed weights and compiled tokenizers ($ZEROCLIP_CACHE, "
                     "else $XDG_CACHE_HOME/zeroclip or ~/.cache/zeroclip)");
}

CacheOptions cache_options(bool no_cache) {
    CacheOptions cache;
    cache.enabled = !no_cache;
    cache.note = [](const std::string& note) { std::cerr << "zeroclip: note: " << note << "\n"; };
    return cache;
}

ModelOptions model_options(const RunOptions& options) {
    ModelOptions out;
    out.precision = parse_precision(options.precision);
    out.threads = options.threads;
    out.device = parse_device(options.device);
    out.cache = cache_options(options.no_weight_cache);
    return out;
}

ImageRunOptions image_run_options(const RunOptions& options) {
    return {options.batch_size, options.threads};
}

Clip open_clip(const std::filesystem::path& model_dir, const RunOptions& options) {
    Clip clip = Clip::open(model_dir, model_options(options));
    const std::string note = clip.model().precision_note();
    if (!note.empty()) std::cerr << "zeroclip: note: " << note << "\n";
    return clip;
}

}  // namespace zeroclip::cli
