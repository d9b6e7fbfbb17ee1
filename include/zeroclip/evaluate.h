// zeroclip/evaluate.h - the zero-shot evaluation pipeline of `zeroclip eval` as one call:
// read the dataset, encode the class prompts, embed the images (through the cache when
// given), score them and compute CLIP_benchmark's metrics.
//
//   zeroclip::EvalSettings settings;
//   settings.dataset = "imagefolder:imagenette-val";
//   settings.templates = zeroclip::load_templates("imagenet");
//   auto result = zeroclip::evaluate(clip, settings);
//   std::cout << zeroclip::metrics_json(result.report);
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "zeroclip/clip.h"
#include "zeroclip/eval.h"
#include "zeroclip/pipelines.h"

namespace zeroclip {

struct EvalSettings {
    std::string dataset;                   // a SPEC for read_dataset
    std::filesystem::path classnames;      // apply_classnames's file; empty: names from the dataset
    std::vector<std::string> templates;    // empty: the default template
    size_t limit = 0;                      // limit_samples; 0: every image
    std::filesystem::path cache_dir;       // image-embedding cache; empty: none
    std::filesystem::path model_dir;       // the model's files, for the cache key (needed with cache_dir)
    std::string model_name;                // recorded in the report
    ImageRunOptions run;
    std::function<void(size_t done, size_t total)> on_progress;  // after each batch
    FailureHandler on_failure;             // each unreadable image or unlistable folder (skipped)
    std::function<void(const std::string&)> on_note;  // e.g. damaged cache entries recomputed
};

struct Evaluation {
    EvalReport report;
    size_t encoded = 0;     // images that went through the image tower
    size_t from_cache = 0;  // images whose embedding came from the cache
    // Set when the embedding cache could not be saved: the results stand, the next run is slower.
    std::string cache_warning;
};

// The dataset read first, so that a bad spec, class-name file or template fails before any
// work. Throws zeroclip::Error naming the culprit.
Evaluation evaluate(Clip& clip, const EvalSettings& settings);

}  // namespace zeroclip
