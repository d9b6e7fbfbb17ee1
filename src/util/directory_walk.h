// Recursive directory listing that survives hostile trees: each directory is walked once (by
// device and inode, so a symbolic link back to an ancestor ends instead of multiplying the
// files), an unlistable directory is reported and skipped while the walk goes on, and dangling
// symbolic links are reported rather than dropped in silence.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace zeroclip {

struct WalkProblem {
    std::filesystem::path path;
    std::string message;  // one line, naming the path
};

class DirectoryWalk {
public:
    // `keep` chooses the regular files to list (e.g. by extension).
    explicit DirectoryWalk(std::function<bool(const std::filesystem::path&)> keep);

    // Regular files under `root` (following symbolic links), sorted by path. Directories already
    // walked by this object, and the ancestors of any root, are not entered again.
    std::vector<std::filesystem::path> files_under(const std::filesystem::path& root);

    // Everything skipped so far, in walk order.
    const std::vector<WalkProblem>& problems() const { return problems_; }

private:
    using DirId = std::pair<dev_t, ino_t>;
    void mark_ancestors(const std::filesystem::path& root);

    std::function<bool(const std::filesystem::path&)> keep_;
    std::map<DirId, std::filesystem::path> walked_;     // directory -> the path it was walked as
    std::map<DirId, std::filesystem::path> ancestors_;  // directories above a root
    std::vector<WalkProblem> problems_;
};

}  // namespace zeroclip
