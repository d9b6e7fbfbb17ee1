// hub/http_client.h - the few HTTP requests the Hub needs, on libcurl: a HEAD that does not
// follow redirects, and a GET that streams a (possibly resumed) body into a file.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "zeroclip/error.h"

namespace zeroclip::hub {

// No HTTP answer at all (DNS, refused or dropped connection, timeout); names the host.
class NetworkError : public Error {
public:
    NetworkError(const std::string& host, const std::string& reason)
        : Error("cannot reach " + host + ": " + reason), host_(host) {}
    const std::string& host() const { return host_; }

private:
    std::string host_;
};

struct HttpResponse {
    long status = 0;
    std::map<std::string, std::string> headers;  // of the last response, names in lowercase
    std::string redirect_url;                    // absolute target of a 3xx

    std::string header(const std::string& lowercase_name) const {
        const auto it = headers.find(lowercase_name);
        return it == headers.end() ? "" : it->second;
    }
};

// "host[:port]" of a URL, for messages and for comparing origins.
std::string url_host(const std::string& url);

class HttpClient {
public:
    HttpClient();
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    // HEAD, redirects not followed. Throws NetworkError when no response arrives.
    HttpResponse head(const std::string& url, const std::vector<std::string>& headers);

    // GET following redirects; a 200 or 206 body is appended to `file`, which holds `offset`
    // bytes already (asked for with Range when > 0; a 200 instead restarts it from zero). At most
    // `max_bytes` in all are accepted. `on_bytes` sees the file's size as it grows.
    // Failures do not throw: `failure` says what went wrong in transit (so callers can resume),
    // `disk_write_failed` that the file could not take the bytes.
    struct GetResult {
        HttpResponse response;
        uint64_t file_size = 0;
        std::string failure;  // empty when the transfer completed
        bool retryable = true;  // false when trying again cannot help (a redirect to file://)
        bool disk_write_failed = false;
    };
    GetResult get(const std::string& url, const std::vector<std::string>& headers, std::FILE* file, uint64_t offset,
                  uint64_t max_bytes, const std::function<void(uint64_t)>& on_bytes);

private:
    void* curl_;  // CURL*, kept across requests so connections are reused
};

}  // namespace zeroclip::hub
