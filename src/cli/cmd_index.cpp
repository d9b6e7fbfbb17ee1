// zeroclip index: add a photo collection to an index database, incrementally, or the shards of
// a zeroclip.dask.embed job (--import); --stats, --remove and --export work on the database alone.
#include <cstdio>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/index_cli_util.h"
#include "cli/progress.h"
#include "zeroclip/zeroclip.h"

namespace zeroclip::cli {

namespace {

struct IndexCommandOptions {
    IndexCliOptions index;
    int batch_size = 32;
    bool stats = false;
    bool json = false;
    bool remove = false;
    std::string export_file;
    std::string import_dir;
    bool quiet = false;
    std::vector<std::string> inputs;
};

int print_stats(Index& index, bool json) {
    const IndexStats s = index.stats();
    if (json) {
        std::cout << nlohmann::json{{"images", s.images},
                                    {"tombstones", s.tombstones},
                                    {"model", s.model.id},
                                    {"fingerprint", s.model.fingerprint},
                                    {"precision", s.model.precision},
                                    {"dim", s.model.dim},
                                    {"database_bytes", s.database_bytes},
                                    {"graph_bytes", s.graph_bytes},
                                    {"graph_current", s.graph_current}}
                         .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                  << "\n";
        return 0;
    }
    std::cout << "images      " << s.images << "\n"
              << "removed     " << s.tombstones << " (tombstones kept for moved files)\n"
              << "model       " << s.model.id << "\n"
              << "precision   " << s.model.precision << "\n"
              << "dimension   " << s.model.dim << "\n"
              << "fingerprint " << s.model.fingerprint << "\n"
              << "database    " << s.database_bytes << " bytes\n"
              << "graph       "
              << (s.graph_bytes ? std::to_string(s.graph_bytes) + " bytes" + (s.graph_current ? "" : " (stale)")
                                : std::string("none (exact search)"))
              << "\n";
    return 0;
}

int run_export(Index& index, const std::string& file) {
    const std::filesystem::path path(file);
    size_t rows = 0;
    if (path.extension() == ".npy") {
        std::filesystem::path paths_file = path;
        paths_file.replace_extension(".paths.txt");
        rows = index.export_npy(path, paths_file);
        std::cerr << "zeroclip: wrote " << rows << " vectors to " << file << " and their paths to " << paths_file.string()
                  << "\n";
    } else if (path.extension() == ".jsonl" || path.extension() == ".json") {
        rows = index.export_jsonl(path);
        std::cerr << "zeroclip: wrote " << rows << " lines to " << file << "\n";
    } else {
        throw Error("--export " + file + ": give a .npy (vectors + .paths.txt) or .jsonl file name");
    }
    return 0;
}

int run_import(Index& index, const IndexCommandOptions& options) {
    Progress bar("import", options.quiet);
    int status = 0;
    const ImportProgress result = index.import_shards(
        options.import_dir, [&](const ImportProgress& p) { bar.update(p.rows, p.total_rows); },
        [&](const ImageFailure& f) {
            bar.before_message();
            report_failure(f);
            status = 1;
        });
    std::cout << "imported " << result.imported << " vectors from " << result.shards << " shards, " << result.unchanged
              << " unchanged";
    if (result.failed) std::cout << ", " << result.failed << " failed";
    std::cout << "; " << index.stats().images << " images in " << options.index.db << "\n";
    return status;
}

int run_index(const IndexCommandOptions& options) {
    const IndexOptions index_opts = index_options(options.index);
    const bool exists = std::filesystem::exists(options.index.db);
    if (options.stats || options.remove || !options.export_file.empty()) {
        Index index = Index::open(options.index.db, index_opts);
        if (options.stats) return print_stats(index, options.json);
        if (options.remove) {
            const size_t removed = index.remove(options.inputs);
            std::cout << "removed " << removed << " images\n";
            return 0;
        }
        return run_export(index, options.export_file);
    }
    const bool importing = !options.import_dir.empty();
    if (importing && !options.inputs.empty())
        throw Error("--import " + options.import_dir + " takes no image paths (index them in a second run)");
    if (!importing && options.inputs.empty()) throw Error("give the image files or directories to index");

    std::optional<Index> index;
    std::optional<Clip> clip;
    if (exists) {
        index.emplace(Index::open(options.index.db, index_opts));
        // A model given on the command line is checked at once; the recorded one is opened
        // only when something needs encoding.
        if (!options.index.model.empty() || !options.index.precision.empty())
            clip.emplace(open_index_model(*index, options.index));
    } else {
        if (options.index.model.empty())
            throw Error(options.index.db + ": no such index; give -m MODEL to make one");
        ModelOptions model_options;
        model_options.threads = options.index.threads;
        model_options.device = parse_device(options.index.device);
        model_options.precision = parse_precision(options.index.precision.empty() ? "fp32" : options.index.precision);
        const auto dir = resolve_model(options.index.model);
        clip.emplace(Clip::open(dir, model_options));
        const std::string note = clip->model().precision_note();
        if (!note.empty()) std::cerr << "zeroclip: note: " << note << "\n";
        index.emplace(Index::create(options.index.db, describe_model(options.index.model, dir, *clip), index_opts));
    }

    if (importing) {
        try {
            return run_import(*index, options);
        } catch (const Error&) {
            // An index this run created that holds nothing would only be a leftover.
            if (!exists && index->stats().images == 0) {
                index.reset();
                for (const char* suffix : {"", "-wal", "-shm", ".lock"})
                    std::filesystem::remove(options.index.db + suffix);
            }
            throw;
        }
    }

    Progress bar("index", options.quiet);
    const auto start = Clock::now();
    int status = 0;
    AddOptions add_options;
    add_options.run = {options.batch_size, options.index.threads};
    const AddProgress result = index->add(
        [&]() -> Clip& {
            if (!clip) clip.emplace(open_index_model(*index, options.index));
            return *clip;
        },
        options.inputs, add_options,
        [&](const AddProgress& p) {
            if (p.to_encode > 0) bar.update(p.encoded, p.to_encode);
        },
        [&](const ImageFailure& f) {
            bar.before_message();
            report_failure(f);
            status = 1;
        });
    if (result.encoded == 0)
        std::cout << "nothing to encode: " << result.unchanged << " unchanged";
    else
        std::cout << "encoded " << result.encoded << " images, " << result.unchanged << " unchanged";
    std::cout << ", " << result.reused << " moved or copied, " << result.removed << " removed";
    if (result.failed) std::cout << ", " << result.failed << " failed";
    std::cout << "; " << index->stats().images << " images in " << options.index.db;
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (result.encoded > 0) {
        char rate[64];
        std::snprintf(rate, sizeof rate, " (%.1f s, %.1f images/s)", seconds, static_cast<double>(result.encoded) / seconds);
        std::cout << rate;
    }
    std::cout << "\n";
    return status;
}

}  // namespace

void add_index_command(CLI::App& app, Action& run) {
    auto options = std::make_shared<IndexCommandOptions>();
    auto* cmd = app.add_subcommand("index", "Add images to a searchable index (new and changed files only)");
    add_index_cli_options(*cmd, options->index, true);
    cmd->add_option("--batch-size", options->batch_size, "Images per batch (and per database transaction)")
        ->check(CLI::Range(1, 4096));
    auto* stats = cmd->add_flag("--stats", options->stats, "Print the number of images, model and sizes");
    cmd->add_flag("--json", options->json, "--stats as one JSON object");
    auto* remove = cmd->add_flag("--remove", options->remove, "Remove the given paths (files or directories)");
    auto* exp = cmd->add_option("--export", options->export_file,
                                "Write the vectors: FILE.npy (+ FILE.paths.txt) or FILE.jsonl");
    auto* imp = cmd->add_option("--import", options->import_dir,
                                "Add the vectors of a zeroclip.dask.embed job's shards in DIR (no encoding)");
    stats->excludes(remove)->excludes(exp)->excludes(imp);
    remove->excludes(exp)->excludes(imp);
    exp->excludes(imp);
    cmd->add_flag("-q,--quiet", options->quiet, "No progress on stderr");
    cmd->add_option("paths", options->inputs, "Image files or directories");
    cmd->callback([options, &run] { run = [options] { return run_index(*options); }; });
}

}  // namespace zeroclip::cli
