// csv:FILE - "path,label" lines (an optional "path,label" header, RFC 4180 quoting); relative
// paths resolve from the CSV's folder.
#include <algorithm>
#include <map>

#include "eval/eval_util.h"
#include "zeroclip/error.h"
#include "zeroclip/eval.h"

namespace zeroclip {

namespace {

// Splits one CSV line into fields; throws naming file and line on a broken quote.
std::vector<std::string> split_csv_line(const std::string& line, const std::string& where) {
    std::vector<std::string> fields(1);
    bool quoted = false;
    for (size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quoted) {
            if (c != '"') fields.back() += c;
            else if (i + 1 < line.size() && line[i + 1] == '"') fields.back() += '"', ++i;
            else quoted = false;
        } else if (c == '"' && trim(fields.back()).empty()) {
            fields.back().clear();
            quoted = true;
        } else if (c == ',') {
            fields.emplace_back();
        } else {
            fields.back() += c;
        }
    }
    if (quoted) throw Error(where + ": unterminated quote");
    for (auto& f : fields) f = trim(f);
    return fields;
}

bool is_unsigned_integer(const std::string& s) {
    return !s.empty() && s.size() < 10 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

Dataset read_csv_dataset(const std::filesystem::path& file) {
    const auto lines = read_text_lines(file);
    const std::filesystem::path base = file.parent_path();
    std::vector<std::pair<std::filesystem::path, std::string>> rows;
    for (size_t i = 0; i < lines.size(); ++i) {
        const std::string where = file.string() + ":" + std::to_string(i + 1);
        const auto fields = split_csv_line(lines[i], where);
        if (i == 0 && fields.size() == 2 && fields[0] == "path" && fields[1] == "label") continue;
        if (fields.size() != 2 || fields[0].empty() || fields[1].empty())
            throw Error(where + ": expected 'path,label'");
        if (rows.size() >= kMaxDatasetSamples)
            throw Error(file.string() + ": more than " + std::to_string(kMaxDatasetSamples) + " rows");
        const std::filesystem::path path(fields[0]);
        rows.emplace_back(path.is_absolute() ? path : base / path, fields[1]);
    }
    if (rows.empty()) throw Error(file.string() + ": no rows");

    std::vector<std::string> keys;
    for (const auto& row : rows) keys.push_back(row.second);
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    if (std::all_of(keys.begin(), keys.end(), is_unsigned_integer))
        std::sort(keys.begin(), keys.end(), [](const std::string& a, const std::string& b) {
            const unsigned long x = std::stoul(a), y = std::stoul(b);
            return x != y ? x < y : a < b;
        });
    if (keys.size() > kMaxDatasetClasses)
        throw Error(file.string() + ": too many distinct labels (" + std::to_string(keys.size()) + ")");

    Dataset dataset;
    dataset.class_keys = keys;
    std::map<std::string, int> label_of;
    for (size_t k = 0; k < keys.size(); ++k) label_of[keys[k]] = static_cast<int>(k);
    for (auto& [path, label] : rows) dataset.samples.push_back({path.string(), path, -1, label_of[label]});
    set_default_class_names(dataset, file.string());
    return dataset;
}

}  // namespace zeroclip
