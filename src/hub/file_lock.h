// hub/file_lock.h - an exclusive flock(2) on a lock file, held for the object's lifetime, so that
// processes (and threads) downloading the same blob take turns instead of corrupting it.
#pragma once

#include <filesystem>
#include <functional>

namespace zeroclip::hub {

class FileLock {
public:
    // Blocks until the lock is ours; `on_wait` runs once first when another holder makes us wait.
    FileLock(const std::filesystem::path& path, const std::function<void()>& on_wait);
    ~FileLock();
    FileLock(const FileLock&) = delete;
    FileLock& operator=(const FileLock&) = delete;

private:
    int fd_ = -1;
};

}  // namespace zeroclip::hub
