// server/api_error.h - an error answered to an HTTP client in OpenAI's shape:
// {"error": {"message": ..., "type": ..., "code": ...}} with an HTTP status.
#pragma once

#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace zeroclip::server {

class ApiError : public std::runtime_error {
public:
    ApiError(int status, std::string code, const std::string& message)
        : std::runtime_error(message), status_(status), code_(std::move(code)) {}
    int status() const { return status_; }
    const std::string& code() const { return code_; }
    // OpenAI's error types: client mistakes are invalid_request_error.
    std::string type() const {
        if (status_ == 401) return "authentication_error";
        if (status_ == 503 || status_ >= 500) return "server_error";
        return "invalid_request_error";
    }

private:
    int status_;
    std::string code_;
};

inline std::string error_body(int status, const std::string& code, const std::string& message) {
    const ApiError error(status, code, message);
    nlohmann::json body = {{"error", {{"message", message}, {"type", error.type()}, {"code", code}}}};
    return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

inline std::string error_body(const ApiError& error) {
    return error_body(error.status(), error.code(), error.what());
}

}  // namespace zeroclip::server
