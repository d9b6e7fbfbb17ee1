// zeroclip/error.h - the one exception type the library throws.
//
// Every failure the library reports is a zeroclip::Error whose what() is a single line that
// names the culprit (file, tensor, flag...), so the CLI can print it verbatim.
#pragma once

#include <stdexcept>
#include <string>

namespace zeroclip {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace zeroclip
