// The evaluation pipeline: dataset -> class weights -> image embeddings -> scores -> metrics.
#include "zeroclip/evaluate.h"

#include <chrono>
#include <memory>

#include "zeroclip/error.h"
#include "zeroclip/zeroshot.h"

namespace zeroclip {

Evaluation evaluate(Clip& clip, const EvalSettings& settings) {
    const auto start = std::chrono::steady_clock::now();
    Dataset dataset = read_dataset(settings.dataset);
    if (settings.on_failure)
        for (const auto& problem : dataset.problems) settings.on_failure(problem);
    if (!settings.classnames.empty()) apply_classnames(dataset, settings.classnames);
    limit_samples(dataset, settings.limit);
    std::vector<std::string> templates = settings.templates;
    if (templates.empty()) templates = {kDefaultTemplate};
    for (const auto& t : templates) apply_template(t, "");  // rejects a template without {}

    const Matrix weights = class_weights(clip, dataset.class_names, templates);
    const int dim = clip.config().projection_dim;
    std::unique_ptr<EmbeddingCache> cache;
    if (!settings.cache_dir.empty()) {
        if (settings.model_dir.empty()) throw Error("an embedding cache needs the model directory for its key");
        cache = std::make_unique<EmbeddingCache>(
            settings.cache_dir, model_fingerprint(settings.model_dir) + "-" + precision_name(clip.model().precision()),
            dim);
        if (!cache->note().empty() && settings.on_note) settings.on_note(cache->note());
    }
    EmbedOptions embed;
    embed.batch_size = settings.run.batch_size;
    embed.threads = settings.run.threads;
    embed.cache = cache.get();
    embed.on_progress = settings.on_progress;
    embed.on_failure = settings.on_failure;
    DatasetEmbeddings embeddings = embed_dataset(
        dataset, clip.preprocess_config(), dim,
        [&](const float* pixels, int n) { return clip.model().encode_images(pixels, n); }, embed);
    l2_normalize_rows(embeddings.embeds);

    Evaluation result;
    EvalReport& report = result.report;
    report.dataset = settings.dataset;
    report.model = settings.model_name;
    report.templates = templates;
    report.class_names = dataset.class_names;
    report.images = score_images(dataset, embeddings, weights, clip.scoring());
    report.metrics = compute_metrics(static_cast<int>(dataset.class_names.size()), report.images);
    report.skipped = dataset.problems;
    report.skipped.insert(report.skipped.end(), embeddings.skipped.begin(), embeddings.skipped.end());
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    report.images_per_s =
        embeddings.seconds > 0 ? static_cast<double>(dataset.samples.size()) / embeddings.seconds : 0.0;
    result.encoded = embeddings.encoded;
    result.from_cache = embeddings.from_cache;
    // Saved last: a cache that cannot be written costs the next run time, not this run's results.
    if (cache) {
        try {
            cache->save();
        } catch (const std::exception& e) {
            result.cache_warning = std::string("embedding cache not saved: ") + e.what();
        }
    }
    return result;
}

}  // namespace zeroclip
