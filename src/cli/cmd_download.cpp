// zeroclip download: fetch a model from the Hugging Face Hub into the cache, run nothing.
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "zeroclip/error.h"
#include "zeroclip/hub.h"

namespace zeroclip::cli {

namespace {

int run_download(const std::string& spec) {
    const auto id = ModelId::parse(spec);
    if (!id) throw Error(spec + ": not a Hugging Face model id (ORG/NAME or ORG/NAME@REVISION)");
    std::cout << download_model(*id, HubOptions::from_environment()).string() << "\n";
    return 0;
}

}  // namespace

void add_download_command(CLI::App& app, Action& run) {
    auto spec = std::make_shared<std::string>();
    auto* cmd = app.add_subcommand("download",
                                   "Download a model from the Hugging Face Hub into its cache; "
                                   "prints the snapshot directory");
    cmd->add_option("id", *spec, "Model id: ORG/NAME[@REVISION] (branch, tag or commit)")->required();
    cmd->callback([spec, &run] { run = [spec] { return run_download(*spec); }; });
}

}  // namespace zeroclip::cli
