// hub/hash_file.h - feeding a whole file to a streaming hash (SHA-256, git's blob SHA-1).
#pragma once

#include <filesystem>
#include <fstream>
#include <vector>

#include "zeroclip/error.h"

namespace zeroclip::hub {

// Feeds the rest of `in` (opened from `path`) to `hash.update` in 1 MiB chunks.
template <typename Hash>
void feed_stream(std::ifstream& in, Hash& hash, const std::filesystem::path& path) {
    std::vector<char> chunk(1 << 20);
    while (in) {
        in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        hash.update(chunk.data(), static_cast<size_t>(in.gcount()));
    }
    if (in.bad()) throw Error(path.string() + ": read error");
}

}  // namespace zeroclip::hub
