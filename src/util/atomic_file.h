// Output files that appear whole or not at all: written to a temporary name beside the
// target, renamed into place on commit(), removed if never committed.
#pragma once

#include <filesystem>
#include <fstream>

namespace zeroclip {

class AtomicFile {
public:
    explicit AtomicFile(std::filesystem::path target);
    ~AtomicFile();
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    std::ofstream& stream() { return out_; }
    // Flushes, checks for write errors and renames over the target; throws naming the target.
    void commit();

private:
    std::filesystem::path target_;
    std::filesystem::path temp_;
    std::ofstream out_;
    bool committed_ = false;
};

}  // namespace zeroclip
