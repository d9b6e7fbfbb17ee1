// zeroclip eval: zero-shot accuracy on a labelled dataset, with CLIP_benchmark's metrics and
// report files.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "zeroclip/eval.h"
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

using Clock = std::chrono::steady_clock;

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
    const auto start = Clock::now();
    Dataset dataset = read_dataset(options.dataset);
    for (const auto& problem : dataset.problems) report_failure(problem);
    if (!options.classnames.empty()) apply_classnames(dataset, options.classnames);
    limit_samples(dataset, options.limit);
    std::vector<std::string> templates = options.templates;
    if (!options.template_set.empty()) templates = load_templates(options.template_set);
    if (templates.empty()) templates = {kDefaultTemplate};
    for (const auto& t : templates) apply_template(t, "");  // reject templates without {} early

    const auto model_dir = resolve_model(options.run.model);
    Clip clip = open_clip(model_dir, options.run);
    const Matrix weights = class_weights(clip, dataset.class_names, templates);
    const int dim = clip.config().projection_dim;

    std::unique_ptr<EmbeddingCache> cache;
    if (!options.cache.empty())
        cache = std::make_unique<EmbeddingCache>(options.cache,
                                                 model_fingerprint(model_dir) + "-" + precision_name(clip.model().precision()), dim);
    if (cache && !cache->note().empty()) std::cerr << "zeroclip: note: " << cache->note() << "\n";
    Progress progress("eval", options.quiet);
    EmbedOptions embed;
    embed.batch_size = options.run.batch_size;
    embed.threads = options.run.threads;
    embed.cache = cache.get();
    embed.on_progress = [&](size_t done, size_t total) { progress.update(done, total); };
    embed.on_failure = [&](const ImageFailure& f) {
        progress.before_message();
        report_failure(f);
    };
    DatasetEmbeddings embeddings = embed_dataset(
        dataset, clip.preprocess_config(), dim,
        [&](const float* pixels, int n) { return clip.model().encode_images(pixels, n); }, embed);
    l2_normalize_rows(embeddings.embeds);

    EvalReport report;
    report.dataset = options.dataset;
    report.model = options.run.model;
    report.templates = templates;
    report.class_names = dataset.class_names;
    report.images = score_images(dataset, embeddings, weights, clip.logit_scale());
    report.metrics = compute_metrics(static_cast<int>(dataset.class_names.size()), report.images);
    report.skipped = dataset.problems;
    report.skipped.insert(report.skipped.end(), embeddings.skipped.begin(), embeddings.skipped.end());
    report.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    report.images_per_s = embeddings.seconds > 0 ? static_cast<double>(dataset.samples.size()) / embeddings.seconds : 0.0;
    if (!options.out.empty()) write_report_files(report, options.out);
    if (options.json) std::cout << metrics_json(report) << "\n";
    else print_summary(report, embeddings.encoded, embeddings.from_cache);
    // After the results: a cache that cannot be written costs the next run time, not this
    // run's results.
    bool cache_saved = true;
    if (cache) {
        try {
            cache->save();
        } catch (const std::exception& e) {
            report_error(std::string("warning: embedding cache not saved: ") + e.what());
            cache_saved = false;
        }
    }
    return report.skipped.empty() && cache_saved ? 0 : 1;
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
