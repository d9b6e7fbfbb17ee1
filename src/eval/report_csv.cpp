// predictions.csv and confusion.csv.
#include <algorithm>
#include <cstdio>

#include "zeroclip/eval.h"

namespace zeroclip {

namespace {

// RFC 4180: quote fields with separators, quotes or line breaks; double the quotes.
std::string csv_field(const std::string& text) {
    if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
    std::string out = "\"";
    for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

std::string format_probability(float p) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", static_cast<double>(p));
    return buf;
}

}  // namespace

void write_predictions_csv(const EvalReport& report, std::ostream& out) {
    size_t k = 0;
    for (const auto& image : report.images) k = std::max(k, image.top.size());
    out << "path,label";
    for (size_t j = 1; j <= k; ++j) out << ",top" << j << ",p" << j;
    out << "\n";
    for (const auto& image : report.images) {
        out << csv_field(image.id) << "," << csv_field(report.class_names.at(image.label));
        for (size_t j = 0; j < k; ++j) {
            if (j < image.top.size())
                out << "," << csv_field(report.class_names.at(image.top[j].index)) << ","
                    << format_probability(image.top[j].score);
            else
                out << ",,";
        }
        out << "\n";
    }
}

void write_confusion_csv(const EvalReport& report, std::ostream& out) {
    const auto& m = report.metrics;
    out << "true\\predicted";
    for (const auto& name : report.class_names) out << "," << csv_field(name);
    out << "\n";
    for (int t = 0; t < m.num_classes; ++t) {
        out << csv_field(report.class_names.at(t));
        for (int p = 0; p < m.num_classes; ++p) out << "," << m.confusion[static_cast<size_t>(t) * m.num_classes + p];
        out << "\n";
    }
}

}  // namespace zeroclip
