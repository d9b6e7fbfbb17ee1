// Cache notes: one line each, write failures once.
#include "cache/cache_notes.h"

#include <mutex>
#include <set>

namespace zeroclip {

void cache_note(const CacheOptions& options, const std::string& message) {
    if (options.note) options.note("cache: " + message);
}

void cache_write_failed(const CacheOptions& options, const std::string& problem) {
    static std::mutex mutex;
    static std::set<std::filesystem::path> told;  // directories
    {
        std::lock_guard<std::mutex> lock(mutex);
        if (!told.insert(cache_dir_of(options)).second) return;
    }
    cache_note(options, problem + "; running without saving to the cache (only slower; --no-weight-cache "
                                  "or ZEROCLIP_CACHE=DIR to choose)");
}

std::filesystem::path cache_dir_of(const CacheOptions& options) {
    return options.dir.empty() ? default_cache_dir() : options.dir;
}

}  // namespace zeroclip
