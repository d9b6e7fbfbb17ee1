#include "util/atomic_file.h"

#include <unistd.h>

#include "zeroclip/error.h"

namespace zeroclip {

AtomicFile::AtomicFile(std::filesystem::path target) : target_(std::move(target)) {
    temp_ = target_;
    temp_ += ".tmp." + std::to_string(::getpid());
    out_.open(temp_, std::ios::binary | std::ios::trunc);
    if (!out_) throw Error(target_.string() + ": cannot open for writing");
}

AtomicFile::~AtomicFile() {
    if (committed_) return;
    out_.close();
    std::error_code ignored;
    std::filesystem::remove(temp_, ignored);
}

void AtomicFile::commit() {
    out_.flush();
    if (!out_) throw Error(target_.string() + ": write failed");
    out_.close();
    std::error_code ec;
    std::filesystem::rename(temp_, target_, ec);
    if (ec) throw Error(target_.string() + ": cannot write: " + ec.message());
    committed_ = true;
}

}  // namespace zeroclip
