#include "util/directory_walk.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace zeroclip {

DirectoryWalk::DirectoryWalk(std::function<bool(const std::filesystem::path&)> keep) : keep_(std::move(keep)) {}

void DirectoryWalk::mark_ancestors(const std::filesystem::path& root) {
    std::error_code ec;
    std::filesystem::path dir = std::filesystem::canonical(root, ec);
    if (ec) return;
    while (dir.has_parent_path() && dir.parent_path() != dir) {
        dir = dir.parent_path();
        struct stat st;
        if (::stat(dir.c_str(), &st) == 0) ancestors_.emplace(DirId{st.st_dev, st.st_ino}, dir);
    }
}

std::vector<std::filesystem::path> DirectoryWalk::files_under(const std::filesystem::path& root) {
    std::vector<std::filesystem::path> files;
    struct stat st;
    if (::stat(root.c_str(), &st) != 0) {
        problems_.push_back({root, root.string() + ": cannot list directory: " + std::strerror(errno)});
        return files;
    }
    mark_ancestors(root);
    // A root is entered even when already walked: the caller named it.
    walked_.emplace(DirId{st.st_dev, st.st_ino}, root);
    std::vector<std::filesystem::path> pending{root};
    while (!pending.empty()) {
        const std::filesystem::path dir = std::move(pending.back());
        pending.pop_back();
        std::error_code ec;
        std::filesystem::directory_iterator it(dir, ec), end;
        for (; !ec && it != end; it.increment(ec)) {
            const std::filesystem::path& path = it->path();
            if (::stat(path.c_str(), &st) != 0) {
                const int error = errno;
                struct stat link;
                if (::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode))
                    problems_.push_back({path, path.string() + ": dangling symbolic link (skipped)"});
                else
                    problems_.push_back({path, path.string() + ": " + std::strerror(error) + " (skipped)"});
                continue;
            }
            if (S_ISDIR(st.st_mode)) {
                const DirId id{st.st_dev, st.st_ino};
                if (const auto up = ancestors_.find(id); up != ancestors_.end()) {
                    problems_.push_back({path, path.string() + ": symbolic link loop back to " +
                                                   up->second.string() + " (not followed)"});
                } else if (const auto [first, inserted] = walked_.emplace(id, path); !inserted) {
                    problems_.push_back({path, path.string() + ": symbolic link loop or duplicate: directory already "
                                                               "walked as " + first->second.string() + " (not followed)"});
                } else {
                    pending.push_back(path);
                }
            } else if (S_ISREG(st.st_mode) && keep_(path)) {
                files.push_back(path);
            }
        }
        if (ec) problems_.push_back({dir, dir.string() + ": cannot list directory (skipped): " + ec.message()});
    }
    std::sort(files.begin(), files.end());
    return files;
}

}  // namespace zeroclip
