// zeroclip/cache.h - the on-disk cache of packed weights and label embeddings.
//
// The first run of a model packs each tower's weights into the layout its backend, CPU ISA and
// precision want and writes them to one file per tower; later runs map that file and use it in
// place (no reorder, no copy; the pages are shared between processes). `class_weights` keeps the
// label embeddings of each (model, labels, templates) the same way. Every file carries its key
// and a checksum: a corrupt, truncated or foreign file is rebuilt, never trusted, and a cache
// that cannot be written only costs speed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace zeroclip {

// $ZEROCLIP_CACHE, else $XDG_CACHE_HOME/zeroclip, else ~/.cache/zeroclip.
std::filesystem::path default_cache_dir();

struct CacheOptions {
    bool enabled = true;
    std::filesystem::path dir;  // empty: default_cache_dir()
    // Receives one-line notes (a file rebuilt, a directory not writable); null: none.
    std::function<void(const std::string&)> note;
};

// One file of the cache, as `zeroclip cache info` lists it.
struct CacheEntry {
    std::filesystem::path path;
    std::string kind;         // "weights" or "labels"; "invalid" for an unreadable file
    std::string description;  // what it holds, e.g. "vision tower of /models/clip, fp32, avx512_core"
    uint64_t bytes = 0;
};

// The cache's files, largest first (a missing directory has none).
std::vector<CacheEntry> list_cache(const std::filesystem::path& dir);

// Removes every cache file (and leftover temporary files) from `dir`; returns the bytes freed.
uint64_t clear_cache(const std::filesystem::path& dir);

}  // namespace zeroclip
