// report.html: one self-contained page (inline CSS and SVG, no scripts, no external resources)
// with the metrics, the class distribution, per-class recall and the confusion heatmap.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "zeroclip/eval.h"

namespace zeroclip {

namespace {

constexpr const char* kTrueColor = "#4c78a8";
constexpr const char* kPredictedColor = "#f58518";

std::string escape(const std::string& text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

std::string fmt(const char* format, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, format, v);
    return buf;
}

// Axis ticks for counts up to `top`: a step of 1, 2, 2.5 or 5 times a power of ten (at least
// 1), about 4 of them.
struct Ticks {
    double step;
    int count;
};

Ticks count_ticks(double top) {
    const double raw = std::max(top, 1.0) / 4;
    const double power = std::pow(10.0, std::floor(std::log10(raw)));
    double step = 10 * power;
    for (double m : {1.0, 2.0, 2.5, 5.0})
        if (m * power >= raw) {
            step = m * power;
            break;
        }
    step = std::max(step, 1.0);
    return {step, static_cast<int>(std::ceil(std::max(top, 1.0) / step))};
}

// An <svg> that scales down with the page (the viewBox keeps its drawing whole when narrowed).
void open_svg(std::ostringstream& out, double width, double height, const char* label) {
    out << "<svg width=\"" << width << "\" height=\"" << height << "\" viewBox=\"0 0 " << width << " " << height
        << "\" role=\"img\" aria-label=\"" << label << "\">\n";
}

std::string percent(double v) { return std::isnan(v) ? "&ndash;" : fmt("%.2f%%", 100.0 * v); }

// Labels longer than this are shortened in charts (the tables keep them whole).
std::string short_label(const std::string& name) {
    return name.size() <= 24 ? name : name.substr(0, 22) + "\xE2\x80\xA6";
}

// White to dark blue.
std::string heat_color(double fraction) {
    const double f = std::clamp(fraction, 0.0, 1.0);
    auto channel = [&](int from, int to) { return static_cast<int>(std::lround(from + (to - from) * f)); };
    char buf[16];
    std::snprintf(buf, sizeof buf, "#%02x%02x%02x", channel(247, 8), channel(251, 48), channel(255, 107));
    return buf;
}

// Grouped vertical bars: images per true class and per predicted class.
void class_distribution_svg(std::ostringstream& out, const EvalReport& r) {
    const int n = r.metrics.num_classes;
    int64_t largest = 1;
    for (const auto& pc : r.metrics.per_class) largest = std::max({largest, pc.n, pc.predicted});
    const Ticks ticks = count_ticks(static_cast<double>(largest));
    const double top = ticks.step * ticks.count;
    const double plot_w = 1000, plot_h = 260, left = 50, top_pad = 30;
    const double step = plot_w / n, bar = std::max(0.5, step * 0.4);
    const bool labels = step >= 11;
    size_t longest = 0;
    for (const auto& name : r.class_names) longest = std::max(longest, short_label(name).size());
    const double bottom = labels ? 24 + 4.6 * static_cast<double>(longest) : 30;
    open_svg(out, left + plot_w + 20, top_pad + plot_h + bottom, "class distribution");
    for (int g = 0; g <= ticks.count; ++g) {  // grid lines and counts
        const double y = top_pad + plot_h - plot_h * g / ticks.count;
        out << "<line x1=\"" << left << "\" x2=\"" << left + plot_w << "\" y1=\"" << y << "\" y2=\"" << y
            << "\" stroke=\"#ddd\"/><text x=\"" << left - 6 << "\" y=\"" << y + 4
            << "\" text-anchor=\"end\">" << fmt("%g", ticks.step * g) << "</text>\n";
    }
    for (int c = 0; c < n; ++c) {
        const auto& pc = r.metrics.per_class[c];
        const double x = left + c * step + step / 2;
        const double h_true = plot_h * pc.n / top, h_pred = plot_h * pc.predicted / top;
        out << "<rect x=\"" << x - bar << "\" y=\"" << top_pad + plot_h - h_true << "\" width=\"" << bar
            << "\" height=\"" << h_true << "\" fill=\"" << kTrueColor << "\"><title>" << escape(r.class_names[c])
            << ": " << pc.n << " images</title></rect>";
        out << "<rect x=\"" << x << "\" y=\"" << top_pad + plot_h - h_pred << "\" width=\"" << bar
            << "\" height=\"" << h_pred << "\" fill=\"" << kPredictedColor << "\"><title>" << escape(r.class_names[c])
            << ": " << pc.predicted << " predicted</title></rect>\n";
        if (labels)
            out << "<text transform=\"translate(" << x << "," << top_pad + plot_h + 10
                << ") rotate(-45)\" text-anchor=\"end\">" << escape(short_label(r.class_names[c])) << "</text>\n";
    }
    out << "<rect x=\"" << left << "\" y=\"6\" width=\"12\" height=\"12\" fill=\"" << kTrueColor
        << "\"/><text x=\"" << left + 16 << "\" y=\"16\">true class</text><rect x=\"" << left + 110
        << "\" y=\"6\" width=\"12\" height=\"12\" fill=\"" << kPredictedColor << "\"/><text x=\"" << left + 126
        << "\" y=\"16\">predicted class</text>\n</svg>\n";
}

// Horizontal bars of recall, one row per class, 0 to 100%.
void recall_svg(std::ostringstream& out, const EvalReport& r) {
    const int n = r.metrics.num_classes;
    const double row = std::clamp(1200.0 / n, 2.0, 20.0);
    const bool labels = row >= 10;
    const double left = labels ? 190 : 20, plot_w = 700, top_pad = 20;
    open_svg(out, left + plot_w + 80, top_pad + row * n + 10, "per-class recall");
    for (int g = 0; g <= 4; ++g) {
        const double x = left + plot_w * g / 4;
        out << "<line x1=\"" << x << "\" x2=\"" << x << "\" y1=\"" << top_pad << "\" y2=\"" << top_pad + row * n
            << "\" stroke=\"#ddd\"/><text x=\"" << x << "\" y=\"" << top_pad - 6 << "\" text-anchor=\"middle\">"
            << g * 25 << "%</text>\n";
    }
    for (int c = 0; c < n; ++c) {
        const double recall = r.metrics.per_class[c].recall;
        const double y = top_pad + row * c;
        const double w = std::isnan(recall) ? 0.0 : plot_w * recall;
        out << "<rect x=\"" << left << "\" y=\"" << y + row * 0.15 << "\" width=\"" << w << "\" height=\""
            << row * 0.7 << "\" fill=\"" << kTrueColor << "\"><title>" << escape(r.class_names[c]) << ": "
            << percent(recall) << "</title></rect>";
        if (labels)
            out << "<text x=\"" << left - 6 << "\" y=\"" << y + row * 0.5 + 4 << "\" text-anchor=\"end\">"
                << escape(short_label(r.class_names[c])) << "</text><text x=\"" << left + w + 4 << "\" y=\""
                << y + row * 0.5 + 4 << "\">" << percent(recall) << "</text>";
        out << "\n";
    }
    out << "</svg>\n";
}

// The confusion matrix with rows normalised by the class's image count; only non-empty cells
// are drawn so that the page stays small for many classes.
void confusion_svg(std::ostringstream& out, const EvalReport& r) {
    const int n = r.metrics.num_classes;
    const double cell = std::clamp(640.0 / n, 0.6, 48.0);
    const bool labels = cell >= 10, counts = cell >= 26;
    size_t longest = 0;
    for (const auto& name : r.class_names) longest = std::max(longest, short_label(name).size());
    const double left = labels ? 190 : 30, top_pad = labels ? 20 + 4.6 * static_cast<double>(longest) : 30;
    const double side = cell * n;
    // Column labels lean right past the last column.
    open_svg(out, left + side + 20 + (labels ? 3.3 * static_cast<double>(longest) : 0.0), top_pad + side + 40,
             "confusion matrix");
    out << "<rect x=\"" << left << "\" y=\"" << top_pad << "\" width=\"" << side << "\" height=\"" << side
        << "\" fill=\"" << heat_color(0) << "\" stroke=\"#bbb\"/>\n";
    for (int t = 0; t < n; ++t) {
        const int64_t row_total = r.metrics.per_class[t].n;
        for (int p = 0; p < n; ++p) {
            const int64_t count = r.metrics.confusion[static_cast<size_t>(t) * n + p];
            if (count == 0) continue;
            const double f = static_cast<double>(count) / static_cast<double>(row_total);
            const double x = left + cell * p, y = top_pad + cell * t;
            out << "<rect x=\"" << x << "\" y=\"" << y << "\" width=\"" << cell << "\" height=\"" << cell
                << "\" fill=\"" << heat_color(f) << "\"><title>true " << escape(r.class_names[t]) << ", predicted "
                << escape(r.class_names[p]) << ": " << count << "</title></rect>";
            if (counts)
                out << "<text x=\"" << x + cell / 2 << "\" y=\"" << y + cell / 2 + 4
                    << "\" text-anchor=\"middle\" fill=\"" << (f > 0.5 ? "#fff" : "#222") << "\">" << count << "</text>";
            out << "\n";
        }
    }
    if (labels)
        for (int c = 0; c < n; ++c) {
            const std::string name = escape(short_label(r.class_names[c]));
            out << "<text x=\"" << left - 6 << "\" y=\"" << top_pad + cell * c + cell / 2 + 4
                << "\" text-anchor=\"end\">" << name << "</text><text transform=\"translate("
                << left + cell * c + cell / 2 + 4 << "," << top_pad - 6 << ") rotate(-45)\">" << name << "</text>\n";
        }
    out << "<text x=\"" << left + side / 2 << "\" y=\"" << top_pad + side + 24
        << "\" text-anchor=\"middle\" class=\"axis\">predicted class</text><text transform=\"translate(" << 12
        << "," << top_pad + side / 2 << ") rotate(-90)\" text-anchor=\"middle\" class=\"axis\">true class</text>\n";
    out << "</svg>\n";
}

}  // namespace

std::string report_html(const EvalReport& r) {
    const auto& m = r.metrics;
    std::ostringstream out;
    out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        << "<title>zeroclip eval: " << escape(r.dataset) << "</title>\n<style>\n"
        << "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;max-width:1120px;"
           "padding:0 16px;color:#222}\n"
        << "h1{font-size:24px;margin-bottom:4px}h2{font-size:18px;margin-top:36px;border-bottom:1px solid #ddd;"
           "padding-bottom:4px}\n"
        << ".muted{color:#666}.cards{display:flex;gap:16px;flex-wrap:wrap;margin:20px 0}\n"
        << ".card{border:1px solid #ddd;border-radius:8px;padding:10px 16px;min-width:120px}\n"
        << ".card b{display:block;font-size:26px}.card span{color:#666;font-size:13px}\n"
        << "table{border-collapse:collapse;font-size:14px}td,th{padding:4px 12px;border-bottom:1px solid #eee;"
           "text-align:right}th{background:#f6f6f6}td:first-child,th:first-child{text-align:left}\n"
        << "svg{display:block;max-width:100%;height:auto}svg text{font-size:11px}"
           "svg text.axis{font-size:13px}\n"
        << "code{font-size:13px}details{margin-top:8px}li{font-size:13px}\n"
        << "</style>\n</head>\n<body>\n";
    out << "<h1>Zero-shot classification</h1>\n<p class=\"muted\">dataset <code>" << escape(r.dataset)
        << "</code> &middot; model <code>" << escape(r.model) << "</code> &middot; " << m.num_classes
        << " classes &middot; " << r.templates.size() << " template" << (r.templates.size() == 1 ? "" : "s")
        << "</p>\n";
    out << "<div class=\"cards\">\n";
    auto card = [&](const std::string& value, const std::string& label) {
        out << "<div class=\"card\"><b>" << value << "</b><span>" << label << "</span></div>\n";
    };
    card(percent(m.acc1), "top-1 accuracy");
    card(percent(m.acc5), m.num_classes < 5 ? "top-5 accuracy (= top-1, under 5 classes)" : "top-5 accuracy");
    card(percent(m.mean_per_class_recall), "mean per-class recall");
    card(std::to_string(m.n), "images scored");
    card(std::to_string(r.skipped.size()), "images skipped");
    card(fmt("%.1f", r.seconds) + " s", fmt("%.1f images/s", r.images_per_s));
    out << "</div>\n";

    out << "<h2>Class distribution</h2>\n";
    class_distribution_svg(out, r);
    out << "<h2>Per-class recall</h2>\n";
    recall_svg(out, r);
    out << "<h2>Confusion matrix</h2>\n<p class=\"muted\">Rows are true classes, columns predictions; "
           "colour is the share of the row.</p>\n";
    confusion_svg(out, r);

    out << "<h2>Per-class results</h2>\n<table>\n<tr><th>class</th><th>images</th><th>predicted</th>"
           "<th>recall</th><th>precision</th></tr>\n";
    for (int c = 0; c < m.num_classes; ++c) {
        const auto& pc = m.per_class[c];
        out << "<tr><td>" << escape(r.class_names[c]) << "</td><td>" << pc.n << "</td><td>" << pc.predicted
            << "</td><td>" << percent(pc.recall) << "</td><td>" << percent(pc.precision) << "</td></tr>\n";
    }
    out << "</table>\n";

    out << "<h2>Prompt templates</h2>\n<details><summary>" << r.templates.size()
        << " template" << (r.templates.size() == 1 ? "" : "s") << "</summary>\n<ul>\n";
    for (const auto& t : r.templates) out << "<li><code>" << escape(t) << "</code></li>\n";
    out << "</ul>\n</details>\n";

    if (!r.skipped.empty()) {
        out << "<h2>Skipped images</h2>\n<ul>\n";
        for (const auto& s : r.skipped) out << "<li>" << escape(s.message) << "</li>\n";
        out << "</ul>\n";
    }
    out << "<p class=\"muted\">Written by zeroclip.</p>\n</body>\n</html>\n";
    return out.str();
}

}  // namespace zeroclip
