#include "hub/cache_layout.h"

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <fstream>

#include "zeroclip/error.h"
#include "util/regular_file.h"

namespace zeroclip::hub {

bool is_commit_hash(const std::string& text) {
    if (text.size() != 40) return false;
    for (char c : text)
        if (!std::isdigit(static_cast<unsigned char>(c)) && (c < 'a' || c > 'f')) return false;
    return true;
}

bool is_safe_name(const std::string& text) {
    if (text.empty() || text.size() > 128 || text == "." || text == "..") return false;
    for (char c : text)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') return false;
    return true;
}

bool is_safe_repo_file(const std::string& file) {
    if (file.empty() || file.size() > 255) return false;
    size_t start = 0;
    while (true) {
        const size_t end = std::min(file.find('/', start), file.size());
        const std::string part = file.substr(start, end - start);
        if (part.empty() || part == "." || part == "..") return false;
        for (char c : part)
            if (static_cast<unsigned char>(c) < 0x20 || c == '\\') return false;
        if (end == file.size()) return true;
        start = end + 1;
    }
}

bool is_present(const std::filesystem::path& path) {
    std::error_code ec;
    return std::filesystem::exists(path, ec);
}

std::string unique_suffix() {
    static std::atomic<unsigned> counter{0};
    std::string suffix = ".";  // built in steps: GCC 12 warns wrongly (-Wrestrict) on "." + string
    suffix += std::to_string(::getpid());
    suffix += '.';
    suffix += std::to_string(counter++);
    return suffix;
}

std::string repo_folder_name(const std::string& repo) {
    std::string name = "models--" + repo;
    for (size_t slash; (slash = name.find('/')) != std::string::npos;) name.replace(slash, 1, "--");
    return name;
}

RepoCache::RepoCache(std::filesystem::path cache_dir, const std::string& repo)
    : cache_dir_(std::move(cache_dir)), folder_(cache_dir_ / repo_folder_name(repo)) {}

std::filesystem::path RepoCache::lock_file(const std::string& etag) const {
    return cache_dir_ / ".locks" / folder_.filename() / (etag + ".lock");
}

std::optional<std::string> RepoCache::commit_of(const std::string& revision) const {
    if (is_commit_hash(revision)) return revision;
    if (!special_file_kind(folder_ / "refs" / revision).empty()) return std::nullopt;
    std::ifstream in(folder_ / "refs" / revision, std::ios::binary);
    if (!in) return std::nullopt;
    std::string commit(256, '\0');
    in.read(commit.data(), static_cast<std::streamsize>(commit.size()));
    commit.resize(static_cast<size_t>(in.gcount()));
    while (!commit.empty() && std::isspace(static_cast<unsigned char>(commit.back()))) commit.pop_back();
    if (!is_safe_name(commit)) return std::nullopt;
    return commit;
}

void RepoCache::write_ref(const std::string& revision, const std::string& commit) const {
    if (revision == commit || commit_of(revision) == commit) return;
    const auto ref = folder_ / "refs" / revision;
    std::error_code ec;
    std::filesystem::create_directories(ref.parent_path(), ec);
    auto temp = ref;
    temp += unique_suffix() + ".tmp";
    {
        std::ofstream out(temp, std::ios::binary | std::ios::trunc);
        out << commit;  // no newline: huggingface_hub writes the bare commit
        if (!out.flush()) throw Error(ref.string() + ": cannot write");
    }
    std::filesystem::rename(temp, ref, ec);
    if (ec) {
        std::filesystem::remove(temp, ec);
        throw Error(ref.string() + ": cannot write");
    }
}

void RepoCache::link(const std::string& commit, const std::string& file, const std::string& etag) const {
    const auto pointer_path = pointer(commit, file);
    std::error_code ec;
    std::filesystem::create_directories(pointer_path.parent_path(), ec);
    if (ec) throw Error(pointer_path.parent_path().string() + ": cannot create: " + ec.message());
    // Lexical, so the link survives the cache being moved (what huggingface_hub does).
    const auto target = blob(etag).lexically_relative(pointer_path.parent_path());
    auto temp = pointer_path;
    temp += unique_suffix() + ".tmp";
    std::filesystem::create_symlink(target, temp, ec);
    if (!ec) std::filesystem::rename(temp, pointer_path, ec);
    if (ec) {
        std::error_code ignored;
        std::filesystem::remove(temp, ignored);
        throw Error(pointer_path.string() + ": cannot create the link to " + target.string() + ": " + ec.message());
    }
}

void RepoCache::mark_missing(const std::string& commit, const std::string& file) const {
    const auto marker = folder_ / ".no_exist" / commit / file;
    std::error_code ec;
    std::filesystem::create_directories(marker.parent_path(), ec);
    std::ofstream touch(marker, std::ios::binary | std::ios::app);  // best effort, like huggingface_hub
}

}  // namespace zeroclip::hub
