// zeroclip tokenize: token ids as the text tower sees them.
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "zeroclip/zeroclip.h"
#include "util/json_text.h"

namespace zeroclip::cli {

namespace {

struct TokenizeOptions {
    std::string model;
    std::vector<std::string> texts;
    std::string file;
    bool no_cache = false;
};

int run_tokenize(const TokenizeOptions& options) {
    const auto dir = resolve_model(options.model);
    const ClipConfig config = ClipConfig::from_file(dir / "config.json");
    const auto tokenizer = load_tokenizer(dir, cache_options(options.no_cache));
    const auto texts = options.file.empty() ? options.texts : read_lines(options.file, false);
    nlohmann::json out = nlohmann::json::array();
    for (const auto& text : texts)
        out.push_back(tokenizer->encode_for_model(text, config.text.max_position_embeddings));
    std::cout << json_text(out) << "\n";
    return 0;
}

}  // namespace

void add_tokenize_command(CLI::App& app, Action& run) {
    auto options = std::make_shared<TokenizeOptions>();
    auto* cmd = app.add_subcommand("tokenize", "Print token ids (JSON array, one array per text)");
    cmd->add_option("-m,--model", options->model, "Model directory")->required();
    auto* texts = cmd->add_option("text", options->texts, "Texts to tokenize");
    auto* file = cmd->add_option("--file", options->file, "Read texts from a file, one per line")
                     ->check(CLI::ExistingFile);
    texts->excludes(file);
    add_cache_flag(*cmd, options->no_cache);
    cmd->callback([options, &run, texts, file] {
        if (texts->count() == 0 && file->count() == 0)
            throw CLI::ValidationError("tokenize", "give TEXT... or --file");
        run = [options] { return run_tokenize(*options); };
    });
}

}  // namespace zeroclip::cli
