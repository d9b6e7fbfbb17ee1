// libFuzzer target: the directory walker (DirectoryWalk, behind expand_image_paths and
// imagefolder datasets) on trees built from the input:
// folders, image and other files, FIFOs, symbolic links to ancestors, siblings, themselves and
// nowhere. The walk must end, list each image path once, in sorted order, and only regular
// files with an image extension.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "util/directory_walk.h"

namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const fs::path root = fs::temp_directory_path() / ("zeroclip_fuzz_walk_" + std::to_string(::getpid()));
    std::error_code ec;
    fs::remove_all(root, ec);
    fs::create_directories(root / "t", ec);
    std::vector<fs::path> dirs = {root / "t"};
    // Each pair of bytes is one step: what to make, in which folder made so far, and a name/target.
    static const char* kNames[] = {"a", "b.png", "c.JPG", "d.txt", "e.gif", "f"};
    for (size_t i = 0; i + 1 < size && i < 64; i += 2) {
        const fs::path& parent = dirs[data[i] % dirs.size()];
        const uint8_t op = data[i + 1];
        const fs::path path = parent / (std::string(kNames[op % 6]) + std::to_string(i));
        switch ((op >> 3) % 6) {
            case 0: fs::create_directory(path, ec), dirs.push_back(path); break;
            case 1: std::ofstream(path) << "x"; break;
            case 2: ::mkfifo(path.c_str(), 0644); break;
            case 3: fs::create_directory_symlink(fs::relative(dirs[(op >> 5) % dirs.size()], parent, ec), path, ec); break;
            case 4: fs::create_symlink("../../nowhere", path, ec); break;
            case 5: fs::create_directory_symlink("..", path, ec); break;
        }
    }
    const auto is_image = [](const fs::path& path) { return path.extension() == ".png" || path.extension() == ".JPG"; };
    zeroclip::DirectoryWalk walk(is_image);
    const auto paths = walk.files_under(root / "t");
    const auto& failures = walk.problems();
    if (!std::is_sorted(paths.begin(), paths.end())) __builtin_trap();
    if (std::set<fs::path>(paths.begin(), paths.end()).size() != paths.size()) __builtin_trap();
    for (const auto& path : paths)
        if (!fs::is_regular_file(path, ec) || !is_image(path)) __builtin_trap();
    for (const auto& failure : failures)
        if (failure.message.empty()) __builtin_trap();
    fs::remove_all(root, ec);
    return 0;
}
