// hub/model_id.cpp - "org/name[@revision]", validated like huggingface_hub's repo ids.
#include <cctype>

#include "zeroclip/hub.h"

namespace zeroclip {

namespace {

bool is_word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// One part of a repo id: [\w.-]+ starting and ending with a word character, no "--" or ".."
// (huggingface_hub forbids both, and "--" would be ambiguous in the cache folder name).
bool valid_repo_part(const std::string& part) {
    if (part.empty() || !is_word_char(part.front()) || !is_word_char(part.back())) return false;
    for (char c : part)
        if (!is_word_char(c) && c != '-' && c != '.') return false;
    return part.find("--") == std::string::npos && part.find("..") == std::string::npos;
}

// Branches, tags, commits and "refs/pr/N": becomes a path under refs/, so no "..", no "//".
bool valid_revision(const std::string& revision) {
    if (revision.empty() || revision.size() > 255 || revision.front() == '/' || revision.back() == '/') return false;
    for (char c : revision)
        if (!is_word_char(c) && c != '-' && c != '.' && c != '/') return false;
    // No "." or ".." part either: "a/." would name refs/a itself.
    const std::string parts = "/" + revision + "/";
    return revision.find("..") == std::string::npos && revision.find("//") == std::string::npos &&
           parts.find("/./") == std::string::npos;
}

}  // namespace

std::optional<ModelId> ModelId::parse(const std::string& spec) {
    const size_t at = spec.find('@');
    const std::string repo = spec.substr(0, at);
    const size_t slash = repo.find('/');
    if (repo.size() > 96 || slash == std::string::npos) return std::nullopt;
    if (!valid_repo_part(repo.substr(0, slash)) || !valid_repo_part(repo.substr(slash + 1))) return std::nullopt;
    ModelId id;
    id.repo = repo;
    if (at != std::string::npos) {
        id.revision = spec.substr(at + 1);
        if (!valid_revision(id.revision)) return std::nullopt;
    }
    return id;
}

std::string ModelId::to_string() const { return revision == "main" ? repo : repo + "@" + revision; }

}  // namespace zeroclip
