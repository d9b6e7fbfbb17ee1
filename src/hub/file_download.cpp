#include "hub/file_download.h"

#include <cctype>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "hub/file_lock.h"
#include "hub/git_blob_sha1.h"
#include "hub/progress_bar.h"
#include "hub/sha256.h"

namespace zeroclip::hub {

namespace {

constexpr int kMaxRedirects = 10;
constexpr int kResumeAttempts = 5;  // tries without new bytes before a download gives up
constexpr int kServerErrorAttempts = 3;  // HEAD requests answered 5xx before giving up

bool is_http_url(const std::string& url) { return url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0; }

bool is_git_sha1(const std::string& text) {
    return text.size() == 40 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// Percent-encoding of a URL path part; `keep_slash` for file paths, not for revisions.
std::string url_encode(const std::string& text, bool keep_slash) {
    static const char* digits = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += digits[c >> 4];
            out += digits[c & 15];
        }
    }
    return out;
}

std::optional<uint64_t> parse_size(const std::string& text) {
    if (text.empty() || text.size() > 19 || text.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
    return std::stoull(text);
}

bool is_sha256(const std::string& text) {
    return text.size() == 64 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

struct FileCloser {
    void operator()(std::FILE* file) const { std::fclose(file); }
};

}  // namespace

std::string normalize_etag(const std::string& etag) {
    std::string value = etag;
    if (value.rfind("W/", 0) == 0) value.erase(0, 2);
    const size_t first = value.find_first_not_of('"');
    if (first == std::string::npos) return "";
    return value.substr(first, value.find_last_not_of('"') - first + 1);
}

RepoDownloader::RepoDownloader(const ModelId& id, const HubOptions& options)
    : id_(id), options_(options), cache_(options.cache_dir, id.repo), revision_(id.revision) {}

std::vector<std::string> RepoDownloader::auth_headers(const std::string& url) const {
    // The token goes to the Hub only, never to the CDN holding LFS blobs (signed URLs).
    if (options_.token.empty() || url_host(url) != url_host(options_.endpoint)) return {};
    return {"Authorization: Bearer " + options_.token};
}

void RepoDownloader::throw_http_error(const HttpResponse& response, const std::string& file) const {
    const std::string code = response.header("x-error-code");
    const std::string status = "HTTP " + std::to_string(response.status);
    const std::string repo = id_.repo;
    if (code == "RepoNotFound" || (response.status == 404 && code.empty() && response.header("x-repo-commit").empty()))
        throw ModelUnavailableError(
            repo, "no such repository on " + options_.endpoint + " (" + status +
                      "); if it is private or gated, set HF_TOKEN to an access token that can read it");
    if (code == "RevisionNotFound")
        throw Error(repo + ": no revision '" + id_.revision + "' in the repository (" + status + ")");
    if (code == "GatedRepo" || response.status == 401 || response.status == 403) {
        if (options_.token.empty())
            throw Error(repo + ": access denied (" + status +
                        "): the repository is gated or private; accept its "
                        "conditions on the Hub and set HF_TOKEN to an access token (or log in with `hf auth login`)");
        throw Error(repo + ": access denied (" + status +
                    "): the repository is gated or private and the token in "
                    "HF_TOKEN (or $HF_HOME/token) is not allowed to read it");
    }
    if (response.status == 404) throw Error(repo + ": no file '" + file + "' in the repository (" + status + ")");
    throw Error(repo + ": " + file + ": " + status + " from " + url_host(options_.endpoint));
}

std::optional<RemoteFile> RepoDownloader::describe(const std::string& file) {
    std::string url =
        options_.endpoint + "/" + id_.repo + "/resolve/" + url_encode(revision_, false) + "/" + url_encode(file, true);
    HttpResponse response;
    for (int hops = 0, server_errors = 0;; ++hops) {
        response = http_.head(url, auth_headers(url));
        // A 5xx is the server's passing trouble: asked again after a pause, like a dropped connection.
        if (response.status >= 500 && ++server_errors < kServerErrorAttempts) {
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
            --hops;
            continue;
        }
        const std::string location = response.header("location");
        // Same-host redirects (a renamed repo) are followed here; others lead to the CDN.
        const bool relative = !location.empty() && location[0] == '/' && location.rfind("//", 0) != 0;
        if (response.status < 300 || response.status >= 400 || !relative || response.redirect_url.empty()) break;
        if (hops == kMaxRedirects) throw Error(id_.repo + ": " + file + ": too many redirects from " + url_host(url));
        url = response.redirect_url;
    }
    if (response.status >= 400) {
        const std::string commit = response.header("x-repo-commit");
        const bool missing_file =
            response.status == 404 && (response.header("x-error-code") == "EntryNotFound" ||
                                       (response.header("x-error-code").empty() && !commit.empty()));
        if (!missing_file) throw_http_error(response, file);
        if (is_safe_name(commit)) {
            cache_.mark_missing(commit, file);
            cache_.write_ref(id_.revision, commit);
            revision_ = commit;
        }
        return std::nullopt;
    }

    const bool redirected = response.status >= 300;
    RemoteFile remote;
    remote.commit = response.header("x-repo-commit");
    remote.etag = normalize_etag(response.header("x-linked-etag").empty() ? response.header("etag")
                                                                          : response.header("x-linked-etag"));
    const auto size =
        parse_size(response.header("x-linked-size").empty() ? (redirected ? "" : response.header("content-length"))
                                                            : response.header("x-linked-size"));
    remote.download_url = redirected ? response.redirect_url : url;
    const std::string where = id_.repo + ": " + file + ": ";
    if (!is_http_url(remote.download_url))
        throw Error(where + url_host(url) + " redirected to '" + remote.download_url +
                    "', which is not an http(s) URL; nothing was downloaded");
    if (remote.commit.empty())
        throw Error(where + "the answer from " + url_host(url) +
                    " has no X-Repo-Commit header: not a Hugging Face Hub? (check HF_ENDPOINT and proxy settings)");
    if (!is_safe_name(remote.commit)) throw Error(where + "malformed X-Repo-Commit '" + remote.commit + "'");
    if (!is_safe_name(remote.etag)) throw Error(where + "missing or malformed ETag '" + remote.etag + "'");
    if (!size) throw Error(where + "the Hub did not give the file's size");
    remote.size = *size;
    return remote;
}

bool RepoDownloader::has(const std::string& file) { return describe(file).has_value(); }

std::optional<std::filesystem::path> RepoDownloader::fetch(const std::string& file) {
    if (!is_safe_repo_file(file)) throw Error(id_.repo + ": unsafe file name '" + file + "'");
    // A commit names immutable content: a file already in its snapshot needs no request.
    if (is_commit_hash(revision_)) {
        const auto pointer = cache_.pointer(revision_, file);
        if (is_present(pointer)) return pointer;
    }
    const auto remote = describe(file);
    if (!remote) return std::nullopt;
    cache_.write_ref(id_.revision, remote->commit);
    revision_ = remote->commit;
    const auto pointer = cache_.pointer(remote->commit, file);
    if (!is_present(pointer)) {
        if (!is_present(cache_.blob(remote->etag))) download_blob(*remote, file);
        cache_.link(remote->commit, file, remote->etag);
    }
    return pointer;
}

void RepoDownloader::download_blob(const RemoteFile& remote, const std::string& file) {
    const auto blob = cache_.blob(remote.etag);
    const std::string where = id_.repo + ": " + file + ": ";
    const FileLock lock(cache_.lock_file(remote.etag), [&] {
        if (options_.progress) std::fprintf(stderr, "%s: waiting for another download of it\n", file.c_str());
    });
    if (is_present(blob)) return;  // another process finished it meanwhile

    // blobs/{etag}.incomplete: kept across failures so that the next try resumes it (safe
    // under the lock); only whole, verified bytes are renamed to blobs/{etag}.
    auto incomplete = blob;
    incomplete += ".incomplete";
    std::error_code ec;
    std::filesystem::create_directories(blob.parent_path(), ec);
    std::unique_ptr<std::FILE, FileCloser> out(std::fopen(incomplete.c_str(), "ab"));
    if (!out) throw Error(incomplete.string() + ": cannot open for writing");
    uint64_t have = std::filesystem::file_size(incomplete, ec);
    if (ec || have > remote.size) {
        std::filesystem::resize_file(incomplete, 0, ec);
        have = 0;
    }

    {
        ProgressBar bar(file, remote.size, options_.progress);
        bar.set_initial(have);
        const auto headers = auth_headers(remote.download_url);
        for (int attempts_left = kResumeAttempts; have < remote.size || remote.size == 0;) {
            const auto result = http_.get(remote.download_url, headers, out.get(), have, remote.size,
                                          [&](uint64_t size) { bar.update(size); });
            if (result.disk_write_failed) throw Error(incomplete.string() + ": cannot write (disk full?)");
            const bool progressed = result.file_size > have;
            have = result.file_size;
            const long status = result.response.status;
            std::string failure = result.failure;
            // A 5xx from the CDN is retried like a dropped connection; other statuses are final.
            if (failure.empty() && status >= 500) failure = "HTTP " + std::to_string(status);
            else if (failure.empty() && status != 200 && status != 206)
                throw Error(where + "HTTP " + std::to_string(status) + " from " + url_host(remote.download_url));
            if (failure.empty()) break;
            if (!result.retryable) throw Error(where + failure + " (from " + url_host(remote.download_url) + ")");
            if (progressed) attempts_left = kResumeAttempts;
            if (--attempts_left == 0) {
                // The server answered but never delivered: its fault, not the network's.
                if (status != 0)
                    throw Error(where + url_host(remote.download_url) + " stopped sending at " + std::to_string(have) +
                                " of the " + std::to_string(remote.size) + " bytes announced (" + failure +
                                "), " + std::to_string(kResumeAttempts) + " times; nothing was cached, try again");
                throw NetworkError(url_host(remote.download_url), failure);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
        }
    }
    out.reset();

    if (have != remote.size) {
        std::filesystem::remove(incomplete, ec);
        throw Error(where + "received " + std::to_string(have) + " bytes, the Hub announced " +
                    std::to_string(remote.size) + "; nothing was kept, try again");
    }
    if (is_sha256(remote.etag)) {
        const std::string actual = sha256_file(incomplete);
        if (actual != remote.etag) {
            std::filesystem::remove(incomplete, ec);
            throw Error(where + "corrupted download: sha256 " + actual + " instead of " + remote.etag +
                        "; nothing was kept, try again");
        }
    }
    // Files kept in git rather than LFS are named by their git blob id: verified the same way.
    if (is_git_sha1(remote.etag)) {
        const std::string actual = git_blob_sha1_file(incomplete);
        if (actual != remote.etag) {
            std::filesystem::remove(incomplete, ec);
            throw Error(where + "corrupted download: git blob sha1 " + actual + " instead of " + remote.etag +
                        " (a wrong Content-Length?); nothing was kept, try again");
        }
    }
    std::filesystem::rename(incomplete, blob, ec);
    if (ec) throw Error(blob.string() + ": cannot write: " + ec.message());
}

}  // namespace zeroclip::hub
