#include "hub/http_client.h"

#include "hub/libcurl.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>

namespace zeroclip::hub {

namespace {

constexpr long kConnectTimeoutSeconds = 10;
constexpr long kHeadTimeoutSeconds = 10;   // huggingface_hub's HF_HUB_ETAG_TIMEOUT
constexpr long kStallTimeoutSeconds = 30;  // a download receiving nothing for this long fails

std::string lowercase(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
    return text;
}

std::string trim(const std::string& text) {
    const size_t first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return "";
    return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

// Collects the headers of the last response (a new status line starts over, so after
// redirects only the final response's headers remain).
size_t on_header(char* data, size_t size, size_t count, void* user) {
    auto* response = static_cast<HttpResponse*>(user);
    const std::string line(data, size * count);
    if (line.rfind("HTTP/", 0) == 0) {
        response->headers.clear();
    } else if (const size_t colon = line.find(':'); colon != std::string::npos) {
        response->headers[lowercase(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
    }
    return size * count;
}

struct BodySink {
    CURL* curl;
    std::FILE* file;
    uint64_t offset;
    uint64_t max_bytes;
    const std::function<void(uint64_t)>* on_bytes;
    uint64_t size = 0;
    bool started = false;
    bool accepted = false;
    bool overflow = false;
    bool write_failed = false;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
    auto* sink = static_cast<BodySink*>(user);
    const size_t bytes = size * count;
    if (!sink->started) {
        sink->started = true;
        long status = 0;
        libcurl().easy_getinfo(sink->curl, CURLINFO_RESPONSE_CODE, &status);
        sink->accepted = status == 200 || status == 206;
        sink->size = sink->offset;
        if (status == 200 && sink->offset > 0) {
            // The server ignored our Range: start the file over.
            if (std::fflush(sink->file) != 0 || ::ftruncate(::fileno(sink->file), 0) != 0) {
                sink->write_failed = true;
                return 0;
            }
            sink->size = 0;
        }
    }
    if (!sink->accepted) return 0;  // an error page: stop, the caller reports the status
    if (sink->size + bytes > sink->max_bytes) {
        sink->overflow = true;
        return 0;
    }
    if (std::fwrite(data, 1, bytes, sink->file) != bytes) {
        sink->write_failed = true;
        return 0;
    }
    sink->size += bytes;
    (*sink->on_bytes)(sink->size);
    return bytes;
}

curl_slist* header_list(const std::vector<std::string>& headers) {
    curl_slist* list = nullptr;
    for (const auto& header : headers) list = libcurl().slist_append(list, header.c_str());
    return list;
}

void set_common_options(CURL* curl, const std::string& url, curl_slist* headers, HttpResponse* response) {
    libcurl().easy_reset(curl);
    libcurl().easy_setopt(curl, CURLOPT_URL, url.c_str());
    libcurl().easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    libcurl().easy_setopt(curl, CURLOPT_USERAGENT, "zeroclip/" ZEROCLIP_VERSION);
    libcurl().easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    libcurl().easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, kConnectTimeoutSeconds);
    libcurl().easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    libcurl().easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    libcurl().easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    libcurl().easy_setopt(curl, CURLOPT_HEADERDATA, response);
}

}  // namespace

std::string url_host(const std::string& url) {
    size_t start = url.find("://");
    start = start == std::string::npos ? 0 : start + 3;
    const size_t end = std::min(url.find_first_of("/?#", start), url.size());
    std::string host = url.substr(start, end - start);
    if (const size_t at = host.rfind('@'); at != std::string::npos) host.erase(0, at + 1);
    return host;
}

HttpClient::HttpClient() {
    curl_ = libcurl().easy_init();
    if (!curl_) throw Error("libcurl: cannot create a transfer handle");
}

HttpClient::~HttpClient() { libcurl().easy_cleanup(static_cast<CURL*>(curl_)); }

HttpResponse HttpClient::head(const std::string& url, const std::vector<std::string>& headers) {
    auto* curl = static_cast<CURL*>(curl_);
    HttpResponse response;
    curl_slist* list = header_list(headers);
    set_common_options(curl, url, list, &response);
    libcurl().easy_setopt(curl, CURLOPT_NOBODY, 1L);
    libcurl().easy_setopt(curl, CURLOPT_TIMEOUT, kHeadTimeoutSeconds);
    const CURLcode code = libcurl().easy_perform(curl);
    libcurl().slist_free_all(list);
    if (code != CURLE_OK) throw NetworkError(url_host(url), libcurl().easy_strerror(code));
    libcurl().easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
    if (char* target = nullptr; libcurl().easy_getinfo(curl, CURLINFO_REDIRECT_URL, &target) == CURLE_OK && target)
        response.redirect_url = target;
    return response;
}

HttpClient::GetResult HttpClient::get(const std::string& url, const std::vector<std::string>& headers, std::FILE* file,
                                      uint64_t offset, uint64_t max_bytes,
                                      const std::function<void(uint64_t)>& on_bytes) {
    auto* curl = static_cast<CURL*>(curl_);
    GetResult result;
    std::vector<std::string> request_headers = headers;
    if (offset > 0) request_headers.push_back("Range: bytes=" + std::to_string(offset) + "-");
    curl_slist* list = header_list(request_headers);
    set_common_options(curl, url, list, &result.response);
    BodySink sink{curl, file, offset, max_bytes, &on_bytes};
    libcurl().easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    libcurl().easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
    libcurl().easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    libcurl().easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, kStallTimeoutSeconds);
    libcurl().easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    libcurl().easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    const CURLcode code = libcurl().easy_perform(curl);
    libcurl().slist_free_all(list);
    libcurl().easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.response.status);
    result.file_size = sink.started ? sink.size : offset;
    result.disk_write_failed = std::fflush(file) != 0 || sink.write_failed;
    if (sink.overflow) result.failure = "the server sent more bytes than announced";
    // An error page is aborted on purpose: its status says what happened, not the abort.
    else if (code == CURLE_UNSUPPORTED_PROTOCOL || code == CURLE_TOO_MANY_REDIRECTS) {
        char* target = nullptr;
        libcurl().easy_getinfo(curl, CURLINFO_REDIRECT_URL, &target);
        result.failure = code == CURLE_TOO_MANY_REDIRECTS ? "too many redirects"
                         : "redirected to " + std::string(target ? target : "a URL") + ", which is not http(s)";
        result.retryable = false;
    } else if (code != CURLE_OK && !(sink.started && !sink.accepted))
        result.failure = libcurl().easy_strerror(code);
    return result;
}

}  // namespace zeroclip::hub
