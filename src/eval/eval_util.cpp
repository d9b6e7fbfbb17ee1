// Small file and naming helpers shared by the dataset readers and the evaluation pipeline.
#include "eval/eval_util.h"

#include <fstream>
#include <unordered_map>

#include "zeroclip/error.h"
#include "util/regular_file.h"

namespace zeroclip {

std::vector<uint8_t> read_file_bytes(const std::filesystem::path& path, size_t max_bytes) {
    require_regular_file(path);
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path.string() + ": cannot open");
    in.seekg(0, std::ios::end);
    const std::streamoff size = in.tellg();
    if (size < 0) throw Error(path.string() + ": cannot read (not a regular file?)");
    if (static_cast<uint64_t>(size) > max_bytes)
        throw Error(path.string() + ": file too large (" + std::to_string(size) + " bytes)");
    in.seekg(0, std::ios::beg);
    std::vector<uint8_t> bytes(static_cast<size_t>(size));
    if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size))
        throw Error(path.string() + ": read error");
    return bytes;
}

std::string trim(const std::string& text) {
    const size_t first = text.find_first_not_of(" \t");
    if (first == std::string::npos) return {};
    const size_t last = text.find_last_not_of(" \t");
    return text.substr(first, last - first + 1);
}

std::vector<std::string> read_text_lines(const std::filesystem::path& path) {
    const auto bytes = read_file_bytes(path, kMaxTextFileBytes);
    std::string text(bytes.begin(), bytes.end());
    if (text.starts_with("\xEF\xBB\xBF")) text.erase(0, 3);
    std::vector<std::string> lines;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(start, end - start);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (!trim(line).empty()) lines.push_back(std::move(line));
        start = end + 1;
    }
    return lines;
}

void set_default_class_names(Dataset& dataset, const std::string& source) {
    dataset.class_names.clear();
    for (const auto& key : dataset.class_keys) dataset.class_names.push_back(default_class_name(key));
    check_unique_class_names(dataset, source);
}

void check_unique_class_names(const Dataset& dataset, const std::string& source) {
    std::unordered_map<std::string, size_t> seen;
    for (size_t i = 0; i < dataset.class_names.size(); ++i) {
        const auto [it, inserted] = seen.emplace(dataset.class_names[i], i);
        if (!inserted)
            throw Error(source + ": classes '" + dataset.class_keys[it->second] + "' and '" +
                        dataset.class_keys[i] + "' have the same name '" + dataset.class_names[i] + "'");
    }
}

}  // namespace zeroclip
