// zeroclip models: the CLIP models in the Hugging Face cache (shared with Python).
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "hub/progress_bar.h"
#include "zeroclip/hub.h"

namespace zeroclip::cli {

namespace {

int run_models() {
    const HubOptions options = HubOptions::from_environment();
    const auto models = list_cached_models(options);
    if (models.empty()) {
        std::cerr << "no CLIP or SigLIP model in " << options.cache_dir.string()
                  << " (get one with: zeroclip download ORG/NAME)\n";
        return 0;
    }
    size_t id_width = 5, revision_width = 8;
    for (const auto& m : models) {
        id_width = std::max(id_width, m.repo.size());
        revision_width = std::max(revision_width, m.revision.size());
    }
    std::printf("%-*s  %-*s  %-12s  %10s  %s\n", static_cast<int>(id_width), "MODEL", static_cast<int>(revision_width),
                "REVISION", "COMMIT", "SIZE", "PATH");
    for (const auto& m : models)
        std::printf("%-*s  %-*s  %-12s  %10s  %s\n", static_cast<int>(id_width), m.repo.c_str(),
                    static_cast<int>(revision_width), m.revision.c_str(), m.commit.substr(0, 12).c_str(),
                    hub::format_bytes(m.size_bytes).c_str(), m.path.c_str());
    return 0;
}

}  // namespace

void add_models_command(CLI::App& app, Action& run) {
    auto* cmd = app.add_subcommand("models", "List the CLIP models in the Hugging Face cache ($HF_HUB_CACHE)");
    cmd->callback([&run] { run = run_models; });
}

}  // namespace zeroclip::cli
