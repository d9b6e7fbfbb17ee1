// A file name or message on exactly one line: control characters (a newline in a file name)
// become C escapes (\n, \r, \t, \xHH) and a backslash becomes \\, so that line-oriented output
// (--list, the table of classify, error lines) keeps one row per item, unambiguously.
#pragma once

#include <algorithm>
#include <string>

namespace zeroclip {

inline std::string one_line(const std::string& text) {
    if (text.find_first_of("\\") == std::string::npos &&
        std::none_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
        return text;
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else if (c == '\r') out += "\\r";
        else if (c == '\t') out += "\\t";
        else if (u < 0x20 || u == 0x7f) out += std::string("\\x") + digits[u >> 4] + digits[u & 15];
        else out += c;
    }
    return out;
}

}  // namespace zeroclip
