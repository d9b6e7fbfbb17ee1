// --out DIR: every report file of an evaluation.
#include <memory>
#include <vector>

#include "util/atomic_file.h"
#include "zeroclip/error.h"
#include "zeroclip/eval.h"

namespace zeroclip {

void write_report_files(const EvalReport& report, const std::filesystem::path& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw Error(dir.string() + ": cannot create directory: " + ec.message());
    // Every file is written whole to its temporary before any old one is replaced, so a failed
    // write leaves the previous report as it was rather than a mix of old and new files.
    std::vector<std::unique_ptr<AtomicFile>> files;
    auto stage = [&](const char* name) -> std::ostream& {
        files.push_back(std::make_unique<AtomicFile>(dir / name));
        return files.back()->stream();
    };
    stage("metrics.json") << metrics_json(report) << "\n";
    write_predictions_csv(report, stage("predictions.csv"));
    write_confusion_csv(report, stage("confusion.csv"));
    stage("report.html") << report_html(report);
    for (auto& file : files) file->finish_writing();
    for (auto& file : files) file->commit();
}

}  // namespace zeroclip
