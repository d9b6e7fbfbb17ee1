// zeroclip search: images of an index by text, by image, or both, with query arithmetic.
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/index_cli_util.h"
#include "zeroclip/zeroclip.h"

namespace zeroclip::cli {

namespace {

struct SearchCommandOptions {
    IndexCliOptions index;
    std::vector<std::string> texts;
    std::string image;
    std::vector<std::string> minus;
    int top_k = 20;
    std::optional<float> threshold;
    bool json = false;
    bool exact = false;
    int ef = 0;
};

int run_search(const SearchCommandOptions& options) {
    Index index = Index::open(options.index.db, index_options(options.index));
    Clip clip = open_index_model(index, options.index);
    SearchOptions search;
    search.top_k = options.top_k;
    search.threshold = options.threshold;
    search.exact = options.exact;
    search.ef_search = options.ef;
    const auto hits = options.image.empty() ? index.search_text(clip, options.texts, search, options.minus)
                                            : index.search_image(clip, options.image, search, options.minus);
    for (const auto& hit : hits) {
        if (options.json) {
            std::cout << hit_json(hit) << "\n";
        } else {
            char score[32];
            std::snprintf(score, sizeof score, "%8.4f", hit.score);
            std::cout << score << "  " << hit.path.string() << "\n";
        }
    }
    return 0;
}

}  // namespace

void add_search_command(CLI::App& app, Action& run) {
    auto options = std::make_shared<SearchCommandOptions>();
    auto* cmd = app.add_subcommand("search", "Search an index by text or by image");
    add_index_cli_options(*cmd, options->index, false);
    auto* texts = cmd->add_option("query", options->texts, "What to look for, in words");
    auto* image = cmd->add_option("--image", options->image, "Find images like this one")->check(CLI::ExistingFile);
    texts->excludes(image);
    cmd->add_option("--minus", options->minus, "Subtract this text's meaning from the query (repeatable)");
    cmd->add_option("-k,--top-k", options->top_k, "Results to print")->check(CLI::Range(1, 1000000));
    cmd->add_option("--threshold", options->threshold, "Only results with cosine >= this");
    cmd->add_flag("--json", options->json, "One JSON object per result and line");
    cmd->add_flag("--exact", options->exact, "Compare with every image instead of using the HNSW graph");
    cmd->add_option("--ef", options->ef, "HNSW search beam width (default max(128, 2*top-k))")->check(CLI::Range(0, 100000));
    cmd->callback([options, &run, texts, image] {
        if (texts->count() + image->count() == 0)
            throw CLI::ValidationError("search", "give a query text or --image FILE");
        run = [options] { return run_search(*options); };
    });
}

}  // namespace zeroclip::cli
