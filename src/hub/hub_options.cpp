// hub/hub_options.cpp - the Hub settings from the environment variables huggingface_hub reads,
// with the same precedence, so both sides share one cache and one token.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>

#include "zeroclip/hub.h"
#include "util/regular_file.h"

namespace zeroclip {

namespace {

std::string env(const char* name) {
    const char* value = std::getenv(name);
    return value ? value : "";
}

// huggingface_hub's truth values: 1, ON, YES, TRUE in any case.
bool env_true(const char* name) {
    std::string value = env(name);
    std::transform(value.begin(), value.end(), value.begin(), [](unsigned char c) { return std::toupper(c); });
    return value == "1" || value == "ON" || value == "YES" || value == "TRUE";
}

std::filesystem::path expand_user(const std::string& path) {
    if (path == "~" || path.rfind("~/", 0) == 0) return env("HOME") + path.substr(1);
    return path;
}

// Tokens pasted into files or variables often carry a newline; an empty one means none.
std::string clean_token(std::string token) {
    std::erase(token, '\r');
    std::erase(token, '\n');
    const size_t first = token.find_first_not_of(" \t");
    if (first == std::string::npos) return "";
    return token.substr(first, token.find_last_not_of(" \t") - first + 1);
}

std::string read_token_file(const std::filesystem::path& path) {
    if (!special_file_kind(path).empty()) return "";
    std::ifstream in(path, std::ios::binary);
    if (!in) return "";
    std::string token(4096, '\0');  // tokens are ~40 characters; never read a huge file
    in.read(token.data(), static_cast<std::streamsize>(token.size()));
    token.resize(static_cast<size_t>(in.gcount()));
    return clean_token(token);
}

}  // namespace

HubOptions HubOptions::from_environment() {
    HubOptions options;
    if (std::string endpoint = env("HF_ENDPOINT"); !endpoint.empty()) {
        while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
        options.endpoint = endpoint;
    }

    std::filesystem::path hf_home;
    if (std::string home = env("HF_HOME"); !home.empty())
        hf_home = expand_user(home);
    else if (std::string xdg = env("XDG_CACHE_HOME"); !xdg.empty())
        hf_home = expand_user(xdg) / "huggingface";
    else
        hf_home = expand_user("~/.cache/huggingface");
    if (std::string cache = env("HF_HUB_CACHE"); !cache.empty())
        options.cache_dir = expand_user(cache);
    else if (std::string legacy = env("HUGGINGFACE_HUB_CACHE"); !legacy.empty())
        options.cache_dir = expand_user(legacy);
    else
        options.cache_dir = hf_home / "hub";

    options.token = clean_token(env("HF_TOKEN"));
    if (options.token.empty()) options.token = clean_token(env("HUGGING_FACE_HUB_TOKEN"));
    if (options.token.empty()) {
        const std::string token_path = env("HF_TOKEN_PATH");
        options.token = read_token_file(token_path.empty() ? hf_home / "token" : expand_user(token_path));
    }

    options.offline = env_true("HF_HUB_OFFLINE") || env_true("TRANSFORMERS_OFFLINE");
    options.progress = ::isatty(STDERR_FILENO) && !env_true("HF_HUB_DISABLE_PROGRESS_BARS");
    return options;
}

}  // namespace zeroclip
