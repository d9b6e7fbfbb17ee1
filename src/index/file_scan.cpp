// Walking the inputs of an `add`, and content hashes of files.
#include "index/file_scan.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "zeroclip/error.h"

namespace zeroclip::index {

std::string normal_path(const std::filesystem::path& path) {
    std::error_code ec;
    std::filesystem::path absolute = std::filesystem::absolute(path, ec);
    if (ec) absolute = path;
    std::string normal = absolute.lexically_normal().native();
    while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
    return normal;
}

bool is_under(const std::string& path, const std::string& root) {
    if (root == "/") return !path.empty() && path[0] == '/';
    return path.size() >= root.size() && path.compare(0, root.size(), root) == 0 &&
           (path.size() == root.size() || path[root.size()] == '/');
}

FileScan scan_files(const std::vector<std::string>& inputs, std::vector<ImageFailure>& failures) {
    FileScan scan;
    for (const auto& input : inputs) {
        const std::string root = normal_path(input);
        scan.roots.push_back(root);
        std::vector<ImageFailure> listing_failures;
        const auto paths = expand_image_paths({input}, listing_failures);
        for (auto& f : listing_failures) {
            std::error_code ec;
            // A missing input is a root with nothing under it; any other listing failure
            // protects what was indexed beneath the failed path.
            if (std::filesystem::exists(std::filesystem::symlink_status(f.path, ec)))
                scan.unlisted.push_back(normal_path(f.path));
            failures.push_back(std::move(f));
        }
        for (const auto& path : paths) {
            struct stat st {};
            if (::stat(path.c_str(), &st) != 0) {
                failures.push_back({path, path.string() + ": cannot stat: " + std::strerror(errno)});
                continue;
            }
            if (!S_ISREG(st.st_mode)) {
                failures.push_back({path, path.string() + ": not a regular file"});
                continue;
            }
            scan.files.push_back({normal_path(path), static_cast<int64_t>(st.st_size),
                                  static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec});
        }
    }
    return scan;
}

ContentHash hash_file(const std::string& path) {
    // read(2), not mmap: a file truncated while we read it must give an error, not SIGBUS.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error(path + ": cannot open: " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        throw Error(path + ": not a readable file");
    }
    std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int err = n < 0 ? errno : 0;
            ::close(fd);
            throw Error(path + ": cannot read: " + (err ? std::strerror(err) : "file shrank while reading"));
        }
        done += static_cast<size_t>(n);
    }
    ::close(fd);
    return hash_bytes(bytes);
}

}  // namespace zeroclip::index
