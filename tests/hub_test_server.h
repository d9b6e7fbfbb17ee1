// A fake Hugging Face Hub on 127.0.0.1 for the hub tests: speaks the resolve protocol the way
// huggingface.co does (X-Repo-Commit, X-Linked-Etag, X-Linked-Size, ETag, X-Error-Code, 302 to a
// CDN for LFS files, Range requests there) and can misbehave on demand (gated repos, corrupted
// bodies, connections dropped midway, slow transfers, a wrong Content-Length, 5xx answers,
// redirects to file:// or another host). Every request is recorded.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "hub/git_blob_sha1.h"
#include "hub/sha256.h"

namespace zeroclip::test {

inline std::string sha256_hex(const std::string& bytes) {
    hub::Sha256 hash;
    hash.update(bytes.data(), bytes.size());
    return hash.hex_digest();
}

class FakeHub {
public:
    struct File {
        std::string content;
        bool lfs = false;  // served through a 302 to the CDN, identified by its sha256
    };
    struct Repo {
        std::string commit;
        std::map<std::string, File> files;
        std::set<std::string> tags;  // revisions besides "main" and the commit
        std::string token;           // non-empty: gated, this bearer token is required
    };
    struct Request {
        std::string method;
        std::string target;
        std::map<std::string, std::string> headers;  // lowercase names
    };

    FakeHub() {
        listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
        const int yes = 1;
        ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = 0;  // ephemeral
        if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
            ::listen(listener_, 64) != 0)
            throw std::runtime_error("fake hub: cannot listen on 127.0.0.1");
        socklen_t length = sizeof address;
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
        port_ = ntohs(address.sin_port);
        acceptor_ = std::thread([this] { accept_loop(); });
    }

    ~FakeHub() {
        stopping_ = true;
        acceptor_.join();
        ::close(listener_);
        std::vector<std::thread> workers;
        {
            std::lock_guard lock(mutex_);
            workers.swap(workers_);
        }
        for (auto& worker : workers) worker.join();
    }

    std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

    void add_repo(const std::string& id, Repo repo) {
        std::lock_guard lock(mutex_);
        repos_[id] = std::move(repo);
    }
    // Requests for `old_id` get a relative 307 to `new_id`, as after a repo rename.
    void add_rename(const std::string& old_id, const std::string& new_id) {
        std::lock_guard lock(mutex_);
        renames_[old_id] = new_id;
    }
    void corrupt_cdn_bodies(bool on) { corrupt_ = on; }
    // The next `times` CDN bodies stop after `bytes` bytes, the connection closed.
    void drop_cdn_bodies_after(size_t bytes, int times) { drop_after_ = bytes, drops_left_ = times; }
    void slow_cdn_bodies(std::chrono::milliseconds per_chunk) { chunk_delay_ms_ = per_chunk.count(); }
    // Files stored in git (not LFS) are announced `delta` bytes longer (or shorter) than they are,
    // in the HEAD's and the GET's Content-Length; the body sent is the real one.
    void lie_about_git_file_length(long delta) { length_lie_ = delta; }
    // The next `times` CDN GETs are answered with HTTP `status` and an error page.
    void fail_cdn_requests(int status, int times) { fail_status_ = status, fails_left_ = times; }
    // LFS files redirect to `location_prefix` + "/cdn/<sha256>" (another host, or a file:// URL)
    // instead of this server's CDN; "" restores the normal redirect.
    void redirect_lfs_to(const std::string& location_prefix) {
        std::lock_guard lock(mutex_);
        lfs_location_ = location_prefix;
    }

    std::vector<Request> requests() const {
        std::lock_guard lock(mutex_);
        return requests_;
    }
    std::vector<Request> requests_to(const std::string& prefix, const std::string& method = "") const {
        std::vector<Request> matching;
        for (const auto& r : requests())
            if (r.target.rfind(prefix, 0) == 0 && (method.empty() || r.method == method)) matching.push_back(r);
        return matching;
    }
    void clear_requests() {
        std::lock_guard lock(mutex_);
        requests_.clear();
    }

private:
    struct Response {
        int status = 200;
        std::string reason = "OK";
        std::vector<std::pair<std::string, std::string>> headers;
        std::string body;
        bool cdn = false;       // subject to the corrupt / drop / slow knobs
        bool git_file = false;  // subject to the length lie
    };

    void accept_loop() {
        while (!stopping_) {
            pollfd ready{listener_, POLLIN, 0};
            if (::poll(&ready, 1, 20) <= 0) continue;
            const int client = ::accept(listener_, nullptr, nullptr);
            if (client < 0) continue;
            std::lock_guard lock(mutex_);
            workers_.emplace_back([this, client] { serve(client); });
        }
    }

    static std::string decode(const std::string& text) {
        std::string out;
        for (size_t i = 0; i < text.size(); ++i) {
            if (text[i] == '%' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
                std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
                out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
                i += 2;
            } else {
                out += text[i];
            }
        }
        return out;
    }

    void serve(int client) {
        timeval timeout{5, 0};
        ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        std::string head;
        char buffer[4096];
        while (head.find("\r\n\r\n") == std::string::npos && head.size() < 65536) {
            const ssize_t got = ::recv(client, buffer, sizeof buffer, 0);
            if (got <= 0) break;
            head.append(buffer, static_cast<size_t>(got));
        }
        Request request;
        const size_t line_end = head.find("\r\n");
        if (line_end == std::string::npos) return (void)::close(client);
        const std::string line = head.substr(0, line_end);
        const size_t space1 = line.find(' '), space2 = line.rfind(' ');
        request.method = line.substr(0, space1);
        request.target = line.substr(space1 + 1, space2 - space1 - 1);
        for (size_t at = line_end + 2; at < head.size();) {
            const size_t end = head.find("\r\n", at);
            if (end == std::string::npos || end == at) break;
            const std::string header = head.substr(at, end - at);
            const size_t colon = header.find(':');
            if (colon != std::string::npos) {
                std::string name = header.substr(0, colon);
                for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                request.headers[name] = header.substr(header.find_first_not_of(' ', colon + 1));
            }
            at = end + 2;
        }
        {
            std::lock_guard lock(mutex_);
            requests_.push_back(request);
        }
        send_response(client, request, route(request));
        ::close(client);
    }

    static void send_all(int client, const char* data, size_t size) {
        while (size > 0) {
            const ssize_t sent = ::send(client, data, size, MSG_NOSIGNAL);
            if (sent <= 0) return;
            data += sent, size -= static_cast<size_t>(sent);
        }
    }

    void send_response(int client, const Request& request, Response response) {
        std::string body = std::move(response.body);
        size_t body_limit = body.size();
        if (response.cdn && request.method == "GET") {
            if (corrupt_ && !body.empty()) body[body.size() / 2] ^= 0x01;
            if (drops_left_ > 0 && drop_after_ < body.size()) --drops_left_, body_limit = drop_after_;
        }
        size_t announced = body.size();
        if (response.git_file) announced = static_cast<size_t>(static_cast<long>(announced) + length_lie_);
        if (response.git_file && announced < body_limit) body_limit = announced;
        std::string head = "HTTP/1.1 " + std::to_string(response.status) + " " + response.reason + "\r\n";
        for (const auto& [name, value] : response.headers) head += name + ": " + value + "\r\n";
        head += "Content-Length: " + std::to_string(announced) + "\r\nConnection: close\r\n\r\n";
        send_all(client, head.data(), head.size());
        if (request.method == "HEAD") return;
        constexpr size_t kChunk = 16384;
        for (size_t at = 0; at < body_limit; at += kChunk) {
            send_all(client, body.data() + at, std::min(kChunk, body_limit - at));
            if (chunk_delay_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(chunk_delay_ms_.load()));
        }
        if (body_limit < announced) ::shutdown(client, SHUT_RDWR);
    }

    static Response error(int status, const std::string& code, const std::string& commit = "") {
        Response response;
        response.status = status;
        response.reason = status == 401 ? "Unauthorized" : "Not Found";
        response.headers.push_back({"X-Error-Code", code});
        if (!commit.empty()) response.headers.push_back({"X-Repo-Commit", commit});
        response.body = code;
        return response;
    }

    Response route(const Request& request) {
        std::lock_guard lock(mutex_);
        if (request.target.rfind("/cdn/", 0) == 0) {
            if (request.method == "GET" && fails_left_ > 0) {
                --fails_left_;
                Response failure;
                failure.status = fail_status_;
                failure.reason = "Internal Server Error";
                failure.body = "<html>server error</html>";
                return failure;
            }
            return cdn(request);
        }
        const size_t resolve = request.target.find("/resolve/");
        if (resolve == std::string::npos) return error(404, "RepoNotFound");
        const std::string repo_id = request.target.substr(1, resolve - 1);
        const std::string rest = request.target.substr(resolve + 9);
        if (const auto rename = renames_.find(repo_id); rename != renames_.end()) {
            Response moved;
            moved.status = 307;
            moved.reason = "Temporary Redirect";
            moved.headers.push_back({"Location", "/" + rename->second + "/resolve/" + rest});
            return moved;
        }
        const auto found = repos_.find(repo_id);
        if (found == repos_.end()) return error(404, "RepoNotFound");
        const Repo& repo = found->second;
        if (!repo.token.empty()) {
            const auto auth = request.headers.find("authorization");
            if (auth == request.headers.end() || auth->second != "Bearer " + repo.token) return error(401, "GatedRepo");
        }
        const size_t slash = rest.find('/');
        const std::string revision = decode(rest.substr(0, slash));
        const std::string file = decode(rest.substr(slash + 1));
        if (revision != "main" && revision != repo.commit && !repo.tags.count(revision))
            return error(404, "RevisionNotFound");
        const auto entry = repo.files.find(file);
        if (entry == repo.files.end()) return error(404, "EntryNotFound", repo.commit);

        Response response;
        response.headers.push_back({"X-Repo-Commit", repo.commit});
        const std::string sha = sha256_hex(entry->second.content);
        if (entry->second.lfs) {
            response.status = 302;
            response.reason = "Found";
            // Another host name for the same server: the token must not follow to the CDN.
            const std::string cdn_host =
                lfs_location_.empty() ? "http://localhost:" + std::to_string(port_) : lfs_location_;
            response.headers.push_back({"Location", cdn_host + "/cdn/" + sha + "?X-Amz-Signature=fake"});
            response.headers.push_back({"X-Linked-Etag", "\"" + sha + "\""});
            response.headers.push_back({"X-Linked-Size", std::to_string(entry->second.content.size())});
            response.headers.push_back({"ETag", "\"" + sha.substr(0, 40) + "\""});
            response.body = "Found. Redirecting";
        } else {
            // A weak ETag: clients must strip W/ and the quotes (the git blob id).
            response.headers.push_back({"ETag", "W/\"" + hub::git_blob_sha1(entry->second.content) + "\""});
            response.body = entry->second.content;
            response.git_file = true;
        }
        return response;
    }

    Response cdn(const Request& request) {
        const std::string sha = request.target.substr(5, 64);
        for (const auto& [id, repo] : repos_)
            for (const auto& [name, file] : repo.files) {
                if (!file.lfs || sha256_hex(file.content) != sha) continue;
                Response response;
                response.cdn = true;
                response.body = file.content;
                const auto range = request.headers.find("range");
                if (range != request.headers.end() && range->second.rfind("bytes=", 0) == 0) {
                    const size_t from = std::stoul(range->second.substr(6));
                    if (from >= file.content.size()) return error(416, "InvalidRange");
                    response.status = 206;
                    response.reason = "Partial Content";
                    response.headers.push_back({"Content-Range", "bytes " + std::to_string(from) + "-" +
                                                                     std::to_string(file.content.size() - 1) + "/" +
                                                                     std::to_string(file.content.size())});
                    response.body = file.content.substr(from);
                }
                return response;
            }
        return error(404, "NoSuchKey");
    }

    int listener_ = -1;
    int port_ = 0;
    std::atomic<bool> stopping_{false};
    std::thread acceptor_;
    mutable std::mutex mutex_;
    std::vector<std::thread> workers_;
    std::vector<Request> requests_;
    std::map<std::string, Repo> repos_;
    std::map<std::string, std::string> renames_;
    std::atomic<bool> corrupt_{false};
    std::atomic<size_t> drop_after_{0};
    std::atomic<int> drops_left_{0};
    std::atomic<long> chunk_delay_ms_{0};
    std::atomic<long> length_lie_{0};
    std::atomic<int> fail_status_{500};
    std::atomic<int> fails_left_{0};
    std::string lfs_location_;
};

}  // namespace zeroclip::test
