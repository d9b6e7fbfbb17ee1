// Output files that appear whole or not at all: written to a temporary name beside the
// target, renamed into place on commit(), removed if never committed. Temporaries left by a
// killed process (`<name>.tmp.<pid>` of a pid that no longer runs) are removed on the next
// write of the same target.
#pragma once

#include <filesystem>
#include <fstream>

namespace zeroclip {

class AtomicFile {
public:
    // A target that is a symbolic link has the file it points to replaced (the link stays);
    // a FIFO, device, socket or directory is refused (throws naming it), never replaced.
    explicit AtomicFile(std::filesystem::path target);
    ~AtomicFile();
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    std::ofstream& stream() { return out_; }
    // Flushes, checks for write errors and renames over the target; throws naming the target.
    void commit();
    // Flushes and checks for write errors without renaming: lets several files be written
    // completely before any of them replaces an old one.
    void finish_writing();

private:
    std::filesystem::path target_;
    std::filesystem::path temp_;
    std::ofstream out_;
    bool committed_ = false;
};

// Removes `<target>.tmp.<pid>` files beside `target` whose process is gone.
void remove_stale_temporaries(const std::filesystem::path& target);

}  // namespace zeroclip
