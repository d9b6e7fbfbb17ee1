// JSON text that never throws on text from the outside world: invalid UTF-8 (a label, a file
// name, a model path) becomes U+FFFD instead of nlohmann's type_error.316.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace zeroclip {

inline std::string json_text(const nlohmann::json& value, int indent = -1) {
    return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace zeroclip
