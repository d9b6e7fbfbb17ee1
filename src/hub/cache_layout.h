// hub/cache_layout.h - one repo's folder in huggingface_hub's cache, laid out exactly as it does:
//
//   {cache}/models--{org}--{name}/blobs/{etag}                   the bytes, one file per content
//   {cache}/models--{org}--{name}/snapshots/{commit}/{file}      relative symlink ../../blobs/{etag}
//   {cache}/models--{org}--{name}/refs/{revision}                the commit of a branch or tag
//   {cache}/models--{org}--{name}/.no_exist/{commit}/{file}      empty: the file is absent at commit
//   {cache}/.locks/models--{org}--{name}/{etag}.lock             serialises downloads of a blob
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace zeroclip::hub {

// 40 lowercase hex digits: a git commit, which needs no refs/ lookup.
bool is_commit_hash(const std::string& text);

// A single path component made of [A-Za-z0-9._-] (etags, commits): safe to use as a file name.
bool is_safe_name(const std::string& text);

// A relative file path inside a repo ("model.safetensors", "shards/part-1.safetensors") that
// cannot leave the snapshot folder.
bool is_safe_repo_file(const std::string& file);

// Whether `path` exists, following links (so a snapshot link counts only with its blob); never
// throws: an unreadable entry counts as absent.
bool is_present(const std::filesystem::path& path);

// ".{pid}.{n}": a suffix no other process or thread uses, for temporary files renamed into place.
std::string unique_suffix();

class RepoCache {
public:
    RepoCache(std::filesystem::path cache_dir, const std::string& repo);

    const std::filesystem::path& folder() const { return folder_; }
    std::filesystem::path blob(const std::string& etag) const { return folder_ / "blobs" / etag; }
    std::filesystem::path snapshot(const std::string& commit) const { return folder_ / "snapshots" / commit; }
    std::filesystem::path pointer(const std::string& commit, const std::string& file) const {
        return snapshot(commit) / file;
    }
    std::filesystem::path lock_file(const std::string& etag) const;

    // The commit a revision names: itself when it is a commit hash, else refs/{revision}.
    std::optional<std::string> commit_of(const std::string& revision) const;
    // Records refs/{revision} = commit (atomically, only when it changed).
    void write_ref(const std::string& revision, const std::string& commit) const;
    // snapshots/{commit}/{file} -> blobs/{etag}, relative, replaced atomically.
    void link(const std::string& commit, const std::string& file, const std::string& etag) const;
    // Remembers that `file` does not exist at `commit`, as huggingface_hub does.
    void mark_missing(const std::string& commit, const std::string& file) const;

private:
    std::filesystem::path cache_dir_;
    std::filesystem::path folder_;
};

// "models--org--name".
std::string repo_folder_name(const std::string& repo);

}  // namespace zeroclip::hub
