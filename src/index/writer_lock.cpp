#include "index/writer_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "zeroclip/error.h"

namespace zeroclip::index {

WriterLock::WriterLock(const std::filesystem::path& db_path) {
    const std::string lock_path = db_path.string() + ".lock";
    // The lock file is never deleted: removing it would let two writers lock different files.
    fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw Error(lock_path + ": cannot open: " + std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        ::close(fd_);
        fd_ = -1;
        if (err == EWOULDBLOCK)
            throw Error(db_path.string() + ": another zeroclip process is adding to this index; try again when it has finished");
        throw Error(lock_path + ": cannot lock: " + std::strerror(err));
    }
}

WriterLock::~WriterLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
}

}  // namespace zeroclip::index
