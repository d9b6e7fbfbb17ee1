// zeroclip preprocess: the pixel_values CLIPImageProcessor would produce, as .npy.
#include <iostream>
#include <memory>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "util/npy.h"
#include "zeroclip/zeroclip.h"
#include "util/one_line.h"

namespace zeroclip::cli {

namespace {

struct PreprocessOptions {
    std::string model;
    std::string output;
    std::vector<std::string> inputs;
    bool list = false;
    int threads = 0;
};

int run_preprocess(const PreprocessOptions& options) {
    const auto dir = resolve_model(options.model);
    const auto preprocess = preprocess_config_for_model(dir);
    std::vector<ImageFailure> failures;
    const auto paths = expand_image_paths(options.inputs, failures);
    for (const auto& f : failures) report_failure(f);

    std::vector<float> values;
    std::vector<std::filesystem::path> rows;
    for_each_image_batch(
        paths, preprocess, 64, options.threads,
        [&](ImageBatch& batch) {
            values.insert(values.end(), batch.pixel_values.begin(), batch.pixel_values.end());
            rows.insert(rows.end(), batch.paths.begin(), batch.paths.end());
        },
        [&](const ImageFailure& f) { failures.push_back(f), report_failure(f); });
    if (rows.empty()) throw Error("no image could be read; " + options.output + " not written");
    write_npy_f32(options.output,
                  {static_cast<int64_t>(rows.size()), 3, preprocess.crop_height, preprocess.crop_width},
                  values.data());
    if (options.list)
        for (const auto& p : rows) std::cout << one_line(p.string()) << "\n";
    return failures.empty() ? 0 : 1;
}

}  // namespace

void add_preprocess_command(CLI::App& app, Action& run) {
    auto options = std::make_shared<PreprocessOptions>();
    auto* cmd = app.add_subcommand("preprocess", "Write CLIP pixel_values [N,3,H,W] as float32 .npy");
    cmd->add_option("-m,--model", options->model, "Model directory")->required();
    cmd->add_option("-o,--output", options->output, "Output .npy file")->required();
    cmd->add_option("images", options->inputs, "Image files or directories")->required();
    cmd->add_flag("--list", options->list, "Print the image of each row, in order");
    cmd->add_option("--threads", options->threads, "Decoding threads (0: all cores)")->check(CLI::Range(0, 1024));
    cmd->callback([options, &run] { run = [options] { return run_preprocess(*options); }; });
}

}  // namespace zeroclip::cli
