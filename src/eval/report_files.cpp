// --out DIR: every report file of an evaluation.
#include "util/atomic_file.h"
#include "zeroclip/error.h"
#include "zeroclip/eval.h"

namespace zeroclip {

namespace {

void write_text(const std::filesystem::path& file, const std::string& text) {
    AtomicFile atomic(file);
    atomic.stream() << text;
    atomic.commit();
}

}  // namespace

void write_report_files(const EvalReport& report, const std::filesystem::path& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw Error(dir.string() + ": cannot create directory: " + ec.message());
    write_text(dir / "metrics.json", metrics_json(report) + "\n");
    write_predictions_csv(report, dir / "predictions.csv");
    write_confusion_csv(report, dir / "confusion.csv");
    write_text(dir / "report.html", report_html(report));
}

}  // namespace zeroclip
