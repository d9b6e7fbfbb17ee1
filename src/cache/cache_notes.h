// cache_notes.h - telling the user about the cache without repeating oneself.
#pragma once

#include <string>

#include "zeroclip/cache.h"

namespace zeroclip {

// Passes "cache: <message>" to options.note. Failures to write are told once per directory
// and process: a read-only or full cache directory fails every file alike.
void cache_note(const CacheOptions& options, const std::string& message);
void cache_write_failed(const CacheOptions& options, const std::string& problem);

// The directory in use: options.dir, or default_cache_dir().
std::filesystem::path cache_dir_of(const CacheOptions& options);

}  // namespace zeroclip
