// metrics.json: the evaluation summary in CLIP_benchmark's layout.
#include <nlohmann/json.hpp>

#include "zeroclip/eval.h"
#include "util/json_text.h"

namespace zeroclip {

std::string metrics_json(const EvalReport& report) {
    using nlohmann::json;
    json skipped = json::array();
    for (const auto& s : report.skipped) skipped.push_back({{"path", s.path.string()}, {"error", s.message}});
    json per_class = json::object();
    for (size_t c = 0; c < report.class_names.size() && c < report.metrics.per_class.size(); ++c) {
        const auto& pc = report.metrics.per_class[c];
        per_class[report.class_names[c]] = {{"n", pc.n}, {"recall", pc.recall}, {"precision", pc.precision}};
    }
    const json out = {
        {"dataset", report.dataset},
        {"model", report.model},
        {"task", "zeroshot_classification"},
        {"templates", report.templates},
        {"n", report.metrics.n},
        {"skipped", skipped},
        {"metrics",
         {{"acc1", report.metrics.acc1},
          {"acc5", report.metrics.acc5},
          {"mean_per_class_recall", report.metrics.mean_per_class_recall}}},
        {"per_class", per_class},
        {"seconds", report.seconds},
        {"images_per_s", report.images_per_s},
    };
    // NaN (undefined recall/precision) is written as null; invalid UTF-8 in names is replaced.
    return json_text(out, 2);
}

}  // namespace zeroclip
