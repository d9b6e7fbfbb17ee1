// zeroclip/error.h - the one exception type the library throws.
//
// Every failure the library reports is a zeroclip::Error whose what() is a single line that
// names the culprit (file, tensor, flag...), so the CLI can print it verbatim.
#pragma once

#include <stdexcept>
#include <string>

namespace zeroclip {

// What went wrong, for callers that map errors onto their own types (the Python module raises
// ValueError, FileNotFoundError or RuntimeError from it).
enum class ErrorKind {
    Failure,       // anything else: an unusable model file, an I/O error, a bug
    InvalidInput,  // the caller's input is malformed: not an image, a wrong shape, an empty list
    NotFound,      // a file or directory the caller named does not exist
};

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message, ErrorKind kind = ErrorKind::Failure)
        : std::runtime_error(message), kind_(kind) {}

    ErrorKind kind() const { return kind_; }

private:
    ErrorKind kind_;
};

}  // namespace zeroclip
