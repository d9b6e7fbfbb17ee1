// hub/cached_models.cpp - the snapshots of a family zeroclip reads (CLIP, SigLIP) in
// huggingface_hub's cache, for `zeroclip models`.
#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "hub/cache_layout.h"
#include "models/registry.h"
#include "zeroclip/hub.h"
#include "util/regular_file.h"

namespace zeroclip {

namespace {

constexpr std::uintmax_t kMaxConfigBytes = 1u << 20;

bool is_clip_snapshot(const std::filesystem::path& dir) {
    const auto config = dir / "config.json";
    std::error_code ec;
    const auto size = std::filesystem::file_size(config, ec);
    if (ec || size > kMaxConfigBytes) return false;
    if (!special_file_kind(config).empty()) return false;
    std::ifstream in(config, std::ios::binary);
    const auto json = nlohmann::json::parse(in, nullptr, false);
    if (!json.is_object() || !json.contains("model_type") || !json["model_type"].is_string()) return false;
    const std::string type = json["model_type"].get<std::string>();
    for (const ModelFamily& family : model_families())
        for (const std::string& t : family.model_types)
            if (t == type) return true;
    return false;
}

std::uintmax_t snapshot_size(const std::filesystem::path& dir) {
    std::uintmax_t total = 0;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        std::error_code size_ec;
        if (it->is_regular_file(size_ec)) total += std::filesystem::file_size(it->path(), size_ec);  // via the link
    }
    return total;
}

// commit -> the refs naming it ("main", "v1.0", "refs/pr/1"...), comma-separated.
std::map<std::string, std::string> refs_by_commit(const std::filesystem::path& repo_folder,
                                                  const hub::RepoCache& cache) {
    std::map<std::string, std::string> names;
    const auto refs = repo_folder / "refs";
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(refs, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        std::error_code file_ec;
        if (!it->is_regular_file(file_ec)) continue;
        const std::string revision = it->path().lexically_relative(refs).generic_string();
        if (const auto commit = cache.commit_of(revision)) {
            auto& entry = names[*commit];
            entry += (entry.empty() ? "" : ",") + revision;
        }
    }
    return names;
}

}  // namespace

std::vector<CachedModel> list_cached_models(const HubOptions& options) {
    std::vector<CachedModel> models;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(options.cache_dir, ec)) {
        const std::string folder = entry.path().filename().string();
        if (folder.rfind("models--", 0) != 0) continue;
        std::string repo = folder.substr(8);
        if (const size_t separator = repo.find("--"); separator != std::string::npos) {
            repo.erase(separator, 1);  // "org--name" -> "org/name"
            repo[separator] = '/';
        }
        const hub::RepoCache cache(options.cache_dir, repo);
        const auto refs = refs_by_commit(entry.path(), cache);
        std::error_code snapshots_ec;
        for (const auto& snapshot : std::filesystem::directory_iterator(entry.path() / "snapshots", snapshots_ec)) {
            if (!snapshot.is_directory(snapshots_ec) || !is_clip_snapshot(snapshot.path())) continue;
            CachedModel model;
            model.repo = repo;
            model.commit = snapshot.path().filename().string();
            const auto ref = refs.find(model.commit);
            model.revision = ref == refs.end() ? model.commit : ref->second;
            model.size_bytes = snapshot_size(snapshot.path());
            model.path = snapshot.path();
            models.push_back(std::move(model));
        }
    }
    std::sort(models.begin(), models.end(), [](const CachedModel& a, const CachedModel& b) {
        return std::tie(a.repo, a.revision) < std::tie(b.repo, b.revision);
    });
    return models;
}

}  // namespace zeroclip
