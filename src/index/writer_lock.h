// index/writer_lock.h - one writer per index: an flock(2) on "<db>.lock", taken without
// waiting, so that a second `zeroclip index` on the same database fails at once with a clear
// message instead of encoding the same images twice. (SQLite's own locks are per transaction.)
#pragma once

#include <filesystem>

namespace zeroclip::index {

class WriterLock {
public:
    // Throws zeroclip::Error naming the database when another process holds the lock.
    explicit WriterLock(const std::filesystem::path& db_path);
    ~WriterLock();
    WriterLock(const WriterLock&) = delete;
    WriterLock& operator=(const WriterLock&) = delete;

private:
    int fd_ = -1;
};

}  // namespace zeroclip::index
