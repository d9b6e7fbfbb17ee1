// zeroclip dedup: groups of near-duplicate images in an index.
#include <cstdio>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/index_cli_util.h"
#include "zeroclip/zeroclip.h"

namespace zeroclip::cli {

namespace {

struct DedupOptions {
    IndexCliOptions index;
    float threshold = 0.95f;
    bool json = false;
};

int run_dedup(const DedupOptions& options) {
    Index index = Index::open(options.index.db, index_options(options.index));
    const auto groups = index.near_duplicates(options.threshold);
    for (size_t g = 0; g < groups.size(); ++g) {
        if (options.json) {
            nlohmann::json images = nlohmann::json::array();
            for (const auto& hit : groups[g]) images.push_back({{"path", hit.path.native()}, {"score", hit.score}, {"row", hit.row}});
            std::cout << nlohmann::json{{"group", g + 1}, {"images", images}}.dump(
                             -1, ' ', false, nlohmann::json::error_handler_t::replace)
                      << "\n";
            continue;
        }
        if (g) std::cout << "\n";
        std::cout << "group " << g + 1 << " (" << groups[g].size() << " images)\n";
        for (const auto& hit : groups[g]) {
            char score[32];
            std::snprintf(score, sizeof score, "%8.4f", hit.score);
            std::cout << score << "  " << hit.path.string() << "\n";
        }
    }
    if (!options.json && groups.empty()) std::cerr << "zeroclip: no near-duplicates at cosine >= " << options.threshold << "\n";
    return 0;
}

}  // namespace

void add_dedup_command(CLI::App& app, Action& run) {
    auto options = std::make_shared<DedupOptions>();
    auto* cmd = app.add_subcommand("dedup", "Groups of near-duplicate images in an index");
    add_index_cli_options(*cmd, options->index, false);
    cmd->add_option("--threshold", options->threshold, "Cosine similarity that makes two images duplicates")
        ->check(CLI::Range(-1.0f, 1.0f));
    cmd->add_flag("--json", options->json, "One JSON object per group and line");
    cmd->callback([options, &run] { run = [options] { return run_dedup(*options); }; });
}

}  // namespace zeroclip::cli
