// zeroclip cache info|clear: what the cache of packed weights, tokenizers and label embeddings
// holds, and removing it.
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "zeroclip/zeroclip.h"

namespace zeroclip::cli {

namespace {

std::string megabytes(uint64_t bytes) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f MB", double(bytes) / 1e6);
    return text;
}

int run_info() {
    const auto dir = default_cache_dir();
    const auto entries = list_cache(dir);
    uint64_t total = 0;
    for (const auto& e : entries) total += e.bytes;
    std::cout << dir.string() << ": " << entries.size() << (entries.size() == 1 ? " file, " : " files, ")
              << megabytes(total) << "\n";
    for (const auto& e : entries) {
        char line[64];
        std::snprintf(line, sizeof line, "%10s  %-9s  ", megabytes(e.bytes).c_str(), e.kind.c_str());
        std::cout << line << e.description << "\n";
    }
    return 0;
}

int run_clear() {
    const auto dir = default_cache_dir();
    const size_t files = list_cache(dir).size();
    const uint64_t freed = clear_cache(dir);
    const size_t left = list_cache(dir).size();
    std::cout << "removed " << files - left << (files - left == 1 ? " file (" : " files (") << megabytes(freed)
              << ") from " << dir.string() << "\n";
    if (left > 0) throw Error(dir.string() + ": " + std::to_string(left) + " files could not be removed");
    return 0;
}

}  // namespace

void add_cache_command(CLI::App& app, Action& run) {
    auto* cmd = app.add_subcommand("cache", "Show or remove the cached packed weights, tokenizers and label embeddings "
                                            "($ZEROCLIP_CACHE, else $XDG_CACHE_HOME/zeroclip or ~/.cache/zeroclip)");
    cmd->require_subcommand(1);
    cmd->add_subcommand("info", "List the cached files with their sizes")->callback([&run] { run = run_info; });
    cmd->add_subcommand("clear", "Remove every cached file")->callback([&run] { run = run_clear; });
}

}  // namespace zeroclip::cli
