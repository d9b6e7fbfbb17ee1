#include "util/atomic_file.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "util/regular_file.h"
#include "zeroclip/error.h"

namespace zeroclip {

namespace {

// The file a chain of symbolic links ends at (which need not exist yet).
std::filesystem::path follow_links(const std::filesystem::path& path) {
    std::filesystem::path current = path;
    for (int hops = 0; hops < 40; ++hops) {
        std::error_code ec;
        if (!std::filesystem::is_symlink(std::filesystem::symlink_status(current, ec))) return current;
        const std::filesystem::path next = std::filesystem::read_symlink(current, ec);
        if (ec) throw Error(path.string() + ": cannot read symbolic link: " + ec.message());
        current = next.is_absolute() ? next : current.parent_path() / next;
    }
    throw Error(path.string() + ": too many levels of symbolic links");
}

}  // namespace

void remove_stale_temporaries(const std::filesystem::path& target) {
    const std::string prefix = target.filename().string() + ".tmp.";
    const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : ".";
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(dir, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (!name.starts_with(prefix) || name.size() == prefix.size()) continue;
        const std::string pid_text = name.substr(prefix.size());
        if (pid_text.find_first_not_of("0123456789") != std::string::npos || pid_text.size() > 9) continue;
        const pid_t pid = static_cast<pid_t>(std::stol(pid_text));
        if (pid == ::getpid() || pid <= 0) continue;
        if (::kill(pid, 0) == 0 || errno != ESRCH) continue;  // alive, or not ours to judge
        std::error_code ignored;
        std::filesystem::remove(it->path(), ignored);
    }
}

AtomicFile::AtomicFile(std::filesystem::path target) : target_(follow_links(target)) {
    const std::string kind = special_file_kind(target_);
    if (!kind.empty())
        throw Error(target.string() + ": is " + kind + "; refusing to replace it with a regular file");
    remove_stale_temporaries(target_);
    temp_ = target_;
    temp_ += ".tmp." + std::to_string(::getpid());
    out_.open(temp_, std::ios::binary | std::ios::trunc);
    if (!out_) throw Error(target.string() + ": cannot open for writing");
}

AtomicFile::~AtomicFile() {
    if (committed_) return;
    out_.close();
    std::error_code ignored;
    std::filesystem::remove(temp_, ignored);
}

void AtomicFile::finish_writing() {
    if (!out_.is_open()) return;
    out_.flush();
    if (!out_) throw Error(target_.string() + ": write failed");
    out_.close();
    if (out_.fail()) throw Error(target_.string() + ": write failed");
}

void AtomicFile::commit() {
    finish_writing();
    std::error_code ec;
    std::filesystem::rename(temp_, target_, ec);
    if (ec) throw Error(target_.string() + ": cannot write: " + ec.message());
    committed_ = true;
}

}  // namespace zeroclip
