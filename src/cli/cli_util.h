// Small helpers shared by the subcommands.
#pragma once

#include <CLI/CLI.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "zeroclip/clip.h"
#include "zeroclip/image_batches.h"
#include "zeroclip/model.h"
#include "zeroclip/pipelines.h"

namespace zeroclip::cli {

// Lines of a UTF-8 text file, without line terminators ("\r\n" too); throws naming the file.
std::vector<std::string> read_lines(const std::filesystem::path& path, bool skip_empty);

// Splits "a,b,c" into trimmed, non-empty items.
std::vector<std::string> split_list(const std::string& text);

// Prints "zeroclip: <message>" on stderr.
void report_error(const std::string& message);

// Reports a failed image on stderr.
void report_failure(const ImageFailure& failure);


}  // namespace zeroclip::cli

namespace zeroclip::cli {

// The MODEL argument as a local model directory; throws with a one-line reason otherwise.
std::filesystem::path resolve_model(const std::string& model);

// Options shared by the commands that run a tower.
struct RunOptions {
    std::string model;
    std::string precision = "fp32";
    std::string device = "cpu";
    int threads = 0;
    int batch_size = 32;
    bool no_weight_cache = false;
};

void add_run_options(CLI::App& command, RunOptions& options);
// --no-weight-cache; the cache options it gives (notes on stderr).
void add_cache_flag(CLI::App& command, bool& no_cache);
CacheOptions cache_options(bool no_cache);
ModelOptions model_options(const RunOptions& options);
ImageRunOptions image_run_options(const RunOptions& options);

// Clip::open with the options, noting on stderr when the model runs in another precision than
// the one asked for (a CPU without bf16 or int8 instructions).
Clip open_clip(const std::filesystem::path& model_dir, const RunOptions& options);

}  // namespace zeroclip::cli
