// --classnames FILE: folder/label keys to the class names the prompts use.
#include <unordered_map>

#include "eval/eval_util.h"
#include "zeroclip/error.h"
#include "zeroclip/eval.h"

namespace zeroclip {

void apply_classnames(Dataset& dataset, const std::filesystem::path& file) {
    const auto lines = read_text_lines(file);
    const std::string source = file.string();
    bool tsv = false;
    for (const auto& line : lines) tsv = tsv || line.find('\t') != std::string::npos;

    std::vector<std::string> names;
    if (tsv) {
        std::unordered_map<std::string, std::string> mapping;
        for (size_t i = 0; i < lines.size(); ++i) {
            const size_t tab = lines[i].find('\t');
            if (tab == std::string::npos)
                throw Error(source + ":" + std::to_string(i + 1) + ": expected 'key<TAB>name'");
            mapping[trim(lines[i].substr(0, tab))] = trim(lines[i].substr(tab + 1));
        }
        for (const auto& key : dataset.class_keys) {
            const auto it = mapping.find(key);
            if (it == mapping.end()) throw Error(source + ": no name for class '" + key + "'");
            names.push_back(it->second);
        }
    } else {
        if (lines.size() != dataset.class_keys.size())
            throw Error(source + ": " + std::to_string(lines.size()) + " names for " +
                        std::to_string(dataset.class_keys.size()) + " classes");
        for (const auto& line : lines) names.push_back(trim(line));
    }
    for (size_t i = 0; i < names.size(); ++i)
        if (names[i].empty()) throw Error(source + ": empty name for class '" + dataset.class_keys[i] + "'");
    dataset.class_names = std::move(names);
    check_unique_class_names(dataset, source);
}

}  // namespace zeroclip
