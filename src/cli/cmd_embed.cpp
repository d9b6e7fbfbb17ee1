// zeroclip embed: projected text or image features (get_text_features / get_image_features).
#include <iostream>
#include <memory>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "util/npy.h"
#include "zeroclip/zeroclip.h"
#include "util/one_line.h"

namespace zeroclip::cli {

namespace {

struct EmbedOptions {
    RunOptions run;
    std::string output;
    std::vector<std::string> texts;
    std::string text_file;
    std::vector<std::string> inputs;
    bool normalize = false;
    bool list = false;
};

int run_embed(const EmbedOptions& options) {
    Clip clip = open_clip(resolve_model(options.run.model), options.run);
    const int dim = clip.config().projection_dim;
    Matrix embeds{0, dim, {}};
    std::vector<std::string> row_names;
    int status = 0;

    if (!options.texts.empty() || !options.text_file.empty()) {
        row_names = options.text_file.empty() ? options.texts : read_lines(options.text_file, false);
        if (row_names.empty()) throw Error(options.text_file + ": no texts");
        embeds = clip.embed_texts(row_names);
    } else {
        std::vector<ImageFailure> failures;
        const auto paths = expand_image_paths(options.inputs, failures);
        for (const auto& f : failures) report_failure(f);
        if (!failures.empty()) status = 1;
        ImageEmbeddings images = embed_image_files(clip, paths, image_run_options(options.run),
                                                   [&](const ImageFailure& f) { report_failure(f), status = 1; });
        embeds = std::move(images.embeddings);
        for (const auto& p : images.paths) row_names.push_back(p.string());
        if (embeds.rows == 0) throw Error("no image could be read; " + options.output + " not written");
    }
    if (options.normalize) l2_normalize_rows(embeds);
    write_npy_f32(options.output, {embeds.rows, embeds.cols}, embeds.data.data());
    if (options.list)
        for (const auto& name : row_names) std::cout << one_line(name) << "\n";
    return status;
}

}  // namespace

void add_embed_command(CLI::App& app, Action& run) {
    auto options = std::make_shared<EmbedOptions>();
    auto* cmd = app.add_subcommand("embed", "Write projected embeddings [N,D] as float32 .npy");
    add_run_options(*cmd, options->run);
    cmd->add_option("-o,--output", options->output, "Output .npy file")->required();
    auto* text = cmd->add_option("--text", options->texts, "Texts to embed (repeatable)");
    auto* file = cmd->add_option("--file", options->text_file, "Texts to embed, one per line")
                     ->check(CLI::ExistingFile);
    auto* images = cmd->add_option("images", options->inputs, "Image files or directories");
    text->excludes(file)->excludes(images);
    file->excludes(images);
    cmd->add_flag("--normalize", options->normalize, "L2-normalise each row");
    cmd->add_flag("--list", options->list, "Print the text or image of each row, in order");
    cmd->callback([options, &run, text, file, images] {
        if (text->count() + file->count() + images->count() == 0)
            throw CLI::ValidationError("embed", "give --text, --file or images");
        run = [options] { return run_embed(*options); };
    });
}

}  // namespace zeroclip::cli
