// The zeroclip subcommands. Each registers itself on the app and sets `run` to its action;
// an action returns the process exit status (0 ok, 1 some input failed).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace zeroclip::cli {

using Action = std::function<int()>;

void add_tokenize_command(CLI::App& app, Action& run);
void add_preprocess_command(CLI::App& app, Action& run);
void add_embed_command(CLI::App& app, Action& run);
void add_classify_command(CLI::App& app, Action& run);
void add_models_command(CLI::App& app, Action& run);
void add_download_command(CLI::App& app, Action& run);
void add_eval_command(CLI::App& app, Action& run);
void add_bench_command(CLI::App& app, Action& run);
void add_index_command(CLI::App& app, Action& run);
void add_search_command(CLI::App& app, Action& run);
void add_dedup_command(CLI::App& app, Action& run);
void add_cache_command(CLI::App& app, Action& run);
void add_serve_command(CLI::App& app, Action& run);

}  // namespace zeroclip::cli
