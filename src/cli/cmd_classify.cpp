// zeroclip classify: zero-shot labels for images.
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "zeroclip/eval.h"
#include "zeroclip/zeroclip.h"
#include "util/one_line.h"

namespace zeroclip::cli {

namespace {

struct ClassifyOptions {
    RunOptions run;
    std::string labels;
    std::string labels_file;
    std::vector<std::string> templates;
    std::string template_set;
    int top_k = 5;
    bool json = false;
    std::vector<std::string> inputs;
};

void print_result(const ZeroShotClassifier& classifier, const Classification& result, bool json) {
    if (json) {
        std::cout << classifier.to_json(result) << "\n";
        return;
    }
    std::cout << one_line(result.image) << "\n";
    for (const auto& p : result.predictions) {
        char score[32];
        std::snprintf(score, sizeof score, "%8.4f", p.score);
        std::cout << "  " << score << "  " << classifier.labels()[p.index] << "\n";
    }
}

int run_classify(const ClassifyOptions& options) {
    const auto labels = options.labels_file.empty() ? split_list(options.labels)
                                                    : read_lines(options.labels_file, true);
    if (labels.empty()) throw Error("no labels given (use -l A,B,C or --labels-file)");
    auto templates = options.template_set.empty() ? options.templates : load_templates(options.template_set);
    if (templates.empty()) templates = {kDefaultTemplate};
    for (const auto& t : templates) apply_template(t, "");  // reject templates without {} early

    Clip clip = open_clip(resolve_model(options.run.model), options.run);
    ZeroShotClassifier classifier(clip, labels, templates);
    if (clip.scoring().function == ScoreFunction::Sigmoid)
        std::cerr << "note: " << clip.config().family
                  << " scores each label on its own (sigmoid): independent probabilities, multi-label, "
                     "they need not sum to 1\n";

    std::vector<ImageFailure> failures;
    const auto paths = expand_image_paths(options.inputs, failures);
    int status = failures.empty() ? 0 : 1;
    for (const auto& f : failures) report_failure(f);
    if (paths.empty()) throw Error("no images to classify");
    classifier.classify_files(
        paths, image_run_options(options.run), options.top_k,
        [&](const Classification& result) {
            print_result(classifier, result, options.json);
            std::cout.flush();
        },
        [&](const ImageFailure& f) { report_failure(f), status = 1; });
    return status;
}

}  // namespace

void add_classify_command(CLI::App& app, Action& run) {
    auto options = std::make_shared<ClassifyOptions>();
    auto* cmd = app.add_subcommand("classify", "Zero-shot classify images against text labels");
    add_run_options(*cmd, options->run);
    auto* labels = cmd->add_option("-l,--labels", options->labels, "Comma-separated labels");
    auto* file = cmd->add_option("--labels-file", options->labels_file, "Labels, one per line")
                     ->check(CLI::ExistingFile);
    labels->excludes(file);
    auto* templ = cmd->add_option("--template", options->templates,
                                  "Prompt template with {} for the label (repeat to ensemble)")
                      ->default_str(kDefaultTemplate);
    cmd->add_option("--templates", options->template_set,
                    "Built-in template set (imagenet, cifar10, caltech101, openai-simple, ...) or a file "
                    "of one template a line")
        ->excludes(templ);
    cmd->add_option("--top-k", options->top_k, "Predictions per image")->check(CLI::Range(1, 100000));
    cmd->add_flag("--json", options->json, "One JSON object per image and line");
    cmd->add_option("images", options->inputs, "Image files or directories")->required();
    cmd->callback([options, &run, labels, file] {
        if (labels->count() + file->count() == 0)
            throw CLI::ValidationError("classify", "give labels with -l A,B,C or --labels-file");
        run = [options] { return run_classify(*options); };
    });
}

}  // namespace zeroclip::cli
