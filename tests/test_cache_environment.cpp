// Every test process gets its own empty cache directory: the suite never reads or writes the
// user's cache (~/.cache/zeroclip or $ZEROCLIP_CACHE), and the CLI processes the tests start
// inherit the variable. Removed when the process exits.
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace {

std::string& cache_dir() {
    static std::string dir;
    return dir;
}

const bool kIsolatedCache = [] {
    std::string pattern = (std::filesystem::temp_directory_path() / "zeroclip-test-cache-XXXXXX").string();
    if (::mkdtemp(pattern.data())) {
        cache_dir() = pattern;
        ::setenv("ZEROCLIP_CACHE", pattern.c_str(), 1);
        std::atexit([] {
            std::error_code ec;
            std::filesystem::remove_all(cache_dir(), ec);
        });
    }
    return true;
}();

}  // namespace
