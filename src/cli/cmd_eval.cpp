// zeroclip eval: zero-shot accuracy on a labelled dataset, with CLIP_benchmark's metrics and
// report files.
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "zeroclip/eval.h"
#include "zeroclip/evaluate.h"
#include "zeroclip/zeroclip.h"

namespace zeroclip::cli {

namespace {

struct EvalOptions {
    RunOptions run;
    std::string dataset;
    std::string classnames;
    std::vector<std::string> templates;
    std::string template_set;
    size_t limit = 0;
    std::string out;
    std::string cache;
    bool json = false;
    bool quiet = false;
};

void print_summary(const EvalReport& report, size_t encoded, size_t from_cache) {
    const auto& m = report.metrics;
    char line[256];
    std::snprintf(line, sizeof line, "acc1 %.4f  acc5 %.4f  mean per-class recall %.4f", m.acc1, m.acc5,
                  m.mean_per_class_recall);
    std::cout << line << "\n";
    std::snprintf(line, sizeof line, "%lld images scored, %zu skipped, %zu encoded, %zu from cache, %.1f s, %.1f images/s",
                  static_cast<long long>(m.n), report.skipped.size(), encoded, from_cache, report.seconds,
                  report.images_per_s);
    std::cout << line << "\n";
}

int run_eval(const EvalOptions& options) {
    EvalSettings settings;
    settings.dataset = options.dataset;
    settings.classnames = options.classnames;
    settings.templates = options.templates;
    if (!options.template_set.empty()) settings.templates = load_templates(options.template_set);
    for (const auto& t : settings.templates) apply_template(t, "");  // reject templates without {} early
    settings.limit = options.limit;
    settings.cache_dir = options.cache;
    settings.model_dir = resolve_model(options.run.model);
    settings.model_name = options.run.model;
    settings.run = image_run_options(options.run);
    Progress progress("eval", options.quiet);
    settings.on_progress = [&](size_t done, size_t total) { progress.update(done, total); };
    settings.on_failure = [&](const ImageFailure& f) {
        progress.before_message();
        report_failure(f);
    };
    settings.on_note = [&](const std::string& note) {
        progress.before_message();
        std::cerr << "zeroclip: note: " << note << "\n";
    };

    Clip clip = open_clip(settings.model_dir, options.run);
    const Evaluation result = evaluate(clip, settings);
    const EvalReport& report = result.report;
    if (!options.out.empty()) write_report_files(report, options.out);
    if (options.json) std::cout << metrics_json(report) << "\n";
    else print_summary(report, result.encoded, result.from_cache);
    if (!result.cache_warning.empty()) report_error("warning: " + result.cache_warning);
    return report.skipped.empty() && result.cache_warning.empty() ? 0 : 1;
}

}  // namespace

void add_eval_command(CLI::App& app, Action& run) {
    auto options = std::make_shared<EvalOptions>();
    auto* cmd = app.add_subcommand("eval", "Zero-shot accuracy on a labelled dataset (CLIP_benchmark metrics)");
    add_run_options(*cmd, options->run);
    cmd->add_option("--dataset", options->dataset,
                    "imagefolder:DIR, cifar10:DIR, cifar100:DIR or csv:FILE (path,label lines)")
        ->required();
    cmd->add_option("--classnames", options->classnames,
                    "Class names: TSV 'folder<TAB>name' lines, or one name per line in class order")
        ->check(CLI::ExistingFile);
    auto* templ = cmd->add_option("--template", options->templates,
                                  "Prompt template with {} for the class name (repeat to ensemble)")
                      ->default_str(kDefaultTemplate);
    auto* set = cmd->add_option("--templates", options->template_set,
                                "Built-in template set (imagenet, cifar10, cifar100, caltech101, openai-simple, ...) "
                                "or a file of one template a line");
    templ->excludes(set);
    cmd->add_option("--limit", options->limit, "Evaluate N images spread evenly over the dataset (0: all)");
    cmd->add_option("--out", options->out, "Write metrics.json, predictions.csv, confusion.csv, report.html here");
    cmd->add_option("--cache", options->cache, "Image-embedding cache folder, reused across runs");
    cmd->add_flag("--json", options->json, "Print the metrics JSON on stdout");
    cmd->add_flag("-q,--quiet", options->quiet, "No progress on stderr");
    cmd->callback([options, &run] { run = [options] { return run_eval(*options); }; });
}

}  // namespace zeroclip::cli
