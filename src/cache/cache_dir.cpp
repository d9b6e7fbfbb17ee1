// The cache directory: where it is, what it holds, clearing it.
#include <cstdlib>
#include <system_error>

#include <algorithm>

#include "cache/cache_file.h"
#include "zeroclip/cache.h"

namespace zeroclip {

std::filesystem::path default_cache_dir() {
    if (const char* dir = std::getenv("ZEROCLIP_CACHE"); dir && *dir) return dir;
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::filesystem::path(xdg) / "zeroclip";
    if (const char* home = std::getenv("HOME"); home && *home)
        return std::filesystem::path(home) / ".cache" / "zeroclip";
    return std::filesystem::temp_directory_path() / "zeroclip-cache";
}

namespace {

bool is_cache_file(const std::filesystem::path& path) {
    return path.extension() == ".zcc" || is_partial_cache_file(path);
}

}  // namespace

std::vector<CacheEntry> list_cache(const std::filesystem::path& dir) {
    std::vector<CacheEntry> entries;
    std::error_code ec;
    for (const auto& item : std::filesystem::directory_iterator(dir, ec)) {
        if (!item.is_regular_file(ec) || !is_cache_file(item.path())) continue;
        CacheEntry entry;
        entry.path = item.path();
        entry.bytes = item.file_size(ec);
        const std::string name = item.path().filename().string();
        if (is_partial_cache_file(item.path())) {
            entry.kind = "partial";
            entry.description = partial_file_is_being_written(item.path())
                                    ? "being written by another process"
                                    : "left by an interrupted process: removed by the next cache write, or cache clear";
        } else if (const auto summary = read_cache_summary(item.path())) {
            entry.kind = name.substr(0, name.find('-'));
            entry.description = summary->description;
        } else {
            entry.kind = "invalid";
            entry.description = "unreadable or truncated: rebuilt when next needed";
        }
        entries.push_back(std::move(entry));
    }
    std::sort(entries.begin(), entries.end(), [](const CacheEntry& a, const CacheEntry& b) {
        return a.bytes != b.bytes ? a.bytes > b.bytes : a.path < b.path;
    });
    return entries;
}

uint64_t clear_cache(const std::filesystem::path& dir) {
    uint64_t freed = 0;
    for (const CacheEntry& entry : list_cache(dir)) {
        std::error_code ec;
        if (std::filesystem::remove(entry.path, ec)) freed += entry.bytes;
    }
    // The files' verification stamps (tiny, not listed).
    std::error_code ec;
    std::vector<std::filesystem::path> stamps;
    for (const auto& item : std::filesystem::directory_iterator(dir, ec))
        if (item.path().extension() == ".verified") stamps.push_back(item.path());
    for (const auto& stamp : stamps) std::filesystem::remove(stamp, ec);
    return freed;
}

}  // namespace zeroclip
