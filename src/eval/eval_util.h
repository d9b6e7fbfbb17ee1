// Small file and naming helpers shared by the dataset readers and the evaluation pipeline.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "zeroclip/eval.h"

namespace zeroclip {

// Largest text file (labels, class names, templates, CSV) the readers accept.
inline constexpr size_t kMaxTextFileBytes = size_t{1} << 30;

// The whole file; throws naming it when unreadable or larger than `max_bytes`.
std::vector<uint8_t> read_file_bytes(const std::filesystem::path& path, size_t max_bytes);

// Lines without terminators ("\r\n" too), a UTF-8 BOM dropped, blank lines dropped.
std::vector<std::string> read_text_lines(const std::filesystem::path& path);

// Surrounding spaces and tabs removed.
std::string trim(const std::string& text);

// Sets class_names from class_keys with default_class_name and checks they are unique.
void set_default_class_names(Dataset& dataset, const std::string& source);

// Throws naming `source` when two classes share a name (per-class results are keyed by name).
void check_unique_class_names(const Dataset& dataset, const std::string& source);

}  // namespace zeroclip
