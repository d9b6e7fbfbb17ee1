// zeroclip: the command-line program, a thin layer over libzeroclip.
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cstdlib>
#include <string_view>
#include <iostream>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "zeroclip/zeroclip.h"

// OpenMP threads that spin while they wait starve the image decoders running beside them (and
// any other process on the cores): on 2 busy cores a spinning team made small matmuls 10x
// slower. libgomp reads its wait policy from the environment once, when it loads, so the
// program restarts itself once with the passive policy unless the user chose one.
// Commands that run no tower (tokenize, cache, models, download) skip the restart: it would
// double their start-up time.
static void use_passive_openmp_wait(int argc, char** argv) {
    if (std::getenv("OMP_WAIT_POLICY")) return;
    if (argc > 1) {
        const std::string_view command = argv[1];
        if (command == "tokenize" || command == "cache" || command == "models" || command == "download") return;
        if (command.starts_with("-")) return;  // --version, --help: no command runs
    }
    ::setenv("OMP_WAIT_POLICY", "passive", 1);
    ::execv("/proc/self/exe", argv);  // returns only on failure: then run as we are
}

int main(int argc, char** argv) {
    use_passive_openmp_wait(argc, argv);
    CLI::App app{"zeroclip - CLIP zero-shot image classification, natively"};
    app.set_version_flag("--version", std::string("zeroclip ") + zeroclip::kVersion);
    app.require_subcommand(1);
    zeroclip::cli::Action run;
    zeroclip::cli::add_tokenize_command(app, run);
    zeroclip::cli::add_preprocess_command(app, run);
    zeroclip::cli::add_embed_command(app, run);
    zeroclip::cli::add_classify_command(app, run);
    zeroclip::cli::add_models_command(app, run);
    zeroclip::cli::add_download_command(app, run);
    zeroclip::cli::add_eval_command(app, run);
    zeroclip::cli::add_bench_command(app, run);
    zeroclip::cli::add_index_command(app, run);
    zeroclip::cli::add_search_command(app, run);
    zeroclip::cli::add_dedup_command(app, run);
    zeroclip::cli::add_cache_command(app, run);
    zeroclip::cli::add_serve_command(app, run);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        zeroclip::cli::report_error(std::string(e.what()) + " (see zeroclip --help)");
        return 2;
    }
    try {
        return run();
    } catch (const zeroclip::Error& e) {
        zeroclip::cli::report_error(e.what());
        return 1;
    } catch (const std::exception& e) {
        zeroclip::cli::report_error(std::string("unexpected error: ") + e.what());
        return 1;
    }
}
