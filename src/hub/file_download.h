// hub/file_download.h - one file of one repo into the cache, the way huggingface_hub's
// hf_hub_download does it: HEAD {endpoint}/{repo}/resolve/{revision}/{file} for the commit,
// etag and size, then the bytes into blobs/{etag} (locked, resumable, sha256-checked for LFS
// files) and a snapshots/{commit}/{file} link to them.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "hub/cache_layout.h"
#include "hub/http_client.h"
#include "zeroclip/hub.h"

namespace zeroclip::hub {

// The model is nowhere to be had: no such repository (or one hidden from us: the Hub answers
// both alike), or the Hub unreachable and nothing cached. MODEL may then be a mistyped path.
class ModelUnavailableError : public Error {
public:
    ModelUnavailableError(const std::string& repo, const std::string& reason)
        : Error(repo + ": " + reason), reason_(reason) {}
    const std::string& reason() const { return reason_; }

private:
    std::string reason_;
};

// A file as the Hub describes it at a revision.
struct RemoteFile {
    std::string commit;
    std::string etag;  // blob name: the sha256 of LFS files, the git blob id of others
    uint64_t size = 0;
    std::string download_url;  // after same-host redirects; a CDN URL for LFS files
};

// ETag header as a file name: W/ prefix and quotes dropped, as huggingface_hub does.
std::string normalize_etag(const std::string& etag);

// Fetches files of one repo. The first answer pins the revision to its commit, so that every
// file comes from the same snapshot even if the branch moves meanwhile.
class RepoDownloader {
public:
    RepoDownloader(const ModelId& id, const HubOptions& options);

    // The file in the snapshot, downloaded if needed; nullopt when the repo has no such file.
    std::optional<std::filesystem::path> fetch(const std::string& file);
    // Whether the repo has the file, without downloading it.
    bool has(const std::string& file);

    const RepoCache& cache() const { return cache_; }

private:
    std::optional<RemoteFile> describe(const std::string& file);
    void download_blob(const RemoteFile& remote, const std::string& file);
    [[noreturn]] void throw_http_error(const HttpResponse& response, const std::string& file) const;
    std::vector<std::string> auth_headers(const std::string& url) const;

    ModelId id_;
    const HubOptions& options_;
    RepoCache cache_;
    HttpClient http_;
    std::string revision_;  // the requested one, then the commit it resolved to
};

}  // namespace zeroclip::hub
