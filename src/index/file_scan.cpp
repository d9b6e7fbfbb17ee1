// Walking the inputs of an `add`, and content hashes of files.
#include "index/file_scan.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

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

FileStat stat_file(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return {0, 0, path + ": cannot stat: " + std::strerror(errno)};
    if (!S_ISREG(st.st_mode)) return {0, 0, path + ": not a regular file"};
    return {static_cast<int64_t>(st.st_size), static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec, {}};
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
            const FileStat st = stat_file(path);
            if (!st.error.empty()) failures.push_back({path, st.error});
            else scan.files.push_back({normal_path(path), st.size, st.mtime_ns});
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

std::vector<FileHash> hash_files(const std::vector<std::string>& paths, int threads) {
    std::vector<FileHash> out(paths.size());
    std::atomic<size_t> next{0};
    auto worker = [&] {
        for (size_t i; (i = next.fetch_add(1)) < paths.size();) {
            try {
                out[i].hash = hash_file(paths[i]);
            } catch (const std::exception& e) {
                out[i].error = e.what();
            }
        }
    };
    std::vector<std::jthread> pool;
    for (int t = 1; t < threads && paths.size() > 8; ++t) pool.emplace_back(worker);
    worker();
    return out;
}

}  // namespace zeroclip::index
