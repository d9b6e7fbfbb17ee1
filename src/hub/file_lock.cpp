#include "hub/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "zeroclip/error.h"

namespace zeroclip::hub {

FileLock::FileLock(const std::filesystem::path& path, const std::function<void()>& on_wait) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw Error(path.string() + ": cannot open lock file: " + std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return;
    if (errno == EWOULDBLOCK && on_wait) on_wait();
    while (::flock(fd_, LOCK_EX) != 0) {
        if (errno == EINTR) continue;
        const int error = errno;
        ::close(fd_);
        throw Error(path.string() + ": cannot lock: " + std::strerror(error));
    }
}

FileLock::~FileLock() {
    // Closing releases the flock; the file stays, as huggingface_hub leaves its .lock files.
    ::close(fd_);
}

}  // namespace zeroclip::hub
