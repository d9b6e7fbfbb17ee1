// Reading only regular files: opening a FIFO waits for a writer forever, and a directory or a
// device opens fine but has no meaningful size.
#pragma once

#include <filesystem>
#include <string>

namespace zeroclip {

// Throws zeroclip::Error "<path>: is a FIFO, not a regular file" (or a directory, a device, a
// socket) when `path` exists and is not a regular file, following symbolic links. A missing
// path is left to the caller's own error.
void require_regular_file(const std::filesystem::path& path);

// "a FIFO", "a directory", ... for an existing path that is not a regular file; "" otherwise.
std::string special_file_kind(const std::filesystem::path& path);

}  // namespace zeroclip
