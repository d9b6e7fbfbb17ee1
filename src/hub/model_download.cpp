// hub/model_download.cpp - the files a model needs (its family declares them), fetched into (or
// found in) the cache, and MODEL resolution: a local directory as is, else a hub id.
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "hub/file_download.h"
#include "models/registry.h"
#include "zeroclip/hub.h"
#include "util/regular_file.h"

namespace zeroclip {

namespace {

// The family of a downloaded config.json, which declares the files read besides config.json and
// the weights, and the small optional ones that describe the tokenizer for Python users sharing
// the cache. A config no family claims gets CLIP's list: loading it later says what is wrong.
const ModelFamily& family_of_file(const std::filesystem::path& config) {
    try {
        return family_of_directory(config.parent_path());
    } catch (const Error&) {
        return model_families().front();
    }
}
constexpr const char* kSingleWeights = "model.safetensors";
constexpr const char* kShardIndex = "model.safetensors.index.json";
constexpr std::uintmax_t kMaxIndexBytes = 64u << 20;

// The shard files named by model.safetensors.index.json's weight_map.
std::set<std::string> shard_files(const std::filesystem::path& index) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(index, ec);
    if (ec || size > kMaxIndexBytes) throw Error(index.string() + ": missing or larger than 64 MiB");
    require_regular_file(index);
    std::ifstream in(index, std::ios::binary);
    const auto json = nlohmann::json::parse(in, nullptr, false);
    if (json.is_discarded() || !json.contains("weight_map") || !json["weight_map"].is_object())
        throw Error(index.string() + ": not a safetensors index (no weight_map object)");
    std::set<std::string> files;
    for (const auto& [tensor, file] : json["weight_map"].items()) {
        // Shards sit beside the index: the loader reads no other place, so none is fetched.
        if (!file.is_string() || !hub::is_safe_repo_file(file.get<std::string>()) ||
            file.get<std::string>().find('/') != std::string::npos)
            throw Error(index.string() + ": weight_map[" + tensor + "]: not a file name beside the index");
        files.insert(file.get<std::string>());
    }
    if (files.empty()) throw Error(index.string() + ": weight_map is empty");
    return files;
}

std::filesystem::path download_files(const ModelId& id, const HubOptions& options) {
    hub::RepoDownloader repo(id, options);
    const auto config = repo.fetch("config.json");  // first: a gated or missing repo fails fast
    if (!config) throw Error(id.repo + ": no config.json in the repository: not a transformers model");
    if (!repo.fetch(kSingleWeights)) {
        const auto index = repo.fetch(kShardIndex);
        if (!index) {
            if (repo.has("pytorch_model.bin"))
                throw Error(id.repo +
                            ": only pytorch_model.bin on the Hub, zeroclip reads safetensors; convert it with "
                            "transformers: CLIPModel.from_pretrained('" +
                            id.repo + "').save_pretrained('DIR', safe_serialization=True), then use -m DIR");
            throw Error(id.repo + ": no model.safetensors or model.safetensors.index.json in the repository");
        }
        for (const auto& shard : shard_files(*index))
            if (!repo.fetch(shard))
                throw Error(id.repo + ": shard '" + shard + "' named by " + kShardIndex + " is missing");
    }
    const ModelFamily& family = family_of_file(*config);
    for (const std::string& file : family.files)
        if (!repo.fetch(file))
            throw Error(id.repo + ": no " + file + " in the repository: not a " + family.name + " model?");
    for (const std::string& file : family.optional_files) repo.fetch(file);
    return config->parent_path();
}

}  // namespace

std::optional<std::filesystem::path> find_cached_model(const ModelId& id, const HubOptions& options) {
    const hub::RepoCache cache(options.cache_dir, id.repo);
    const auto commit = cache.commit_of(id.revision);
    if (!commit) return std::nullopt;
    const auto dir = cache.snapshot(*commit);
    if (!hub::is_present(dir / "config.json")) return std::nullopt;  // follows the link: the blob too
    for (const std::string& file : family_of_file(dir / "config.json").files)
        if (!hub::is_present(dir / file)) return std::nullopt;
    if (hub::is_present(dir / kSingleWeights)) return dir;
    if (!hub::is_present(dir / kShardIndex)) return std::nullopt;
    for (const auto& shard : shard_files(dir / kShardIndex))
        if (!hub::is_present(dir / shard)) return std::nullopt;
    return dir;
}

std::filesystem::path download_model(const ModelId& id, const HubOptions& options) {
    if (options.offline) {
        if (auto dir = find_cached_model(id, options)) return *dir;
        throw Error(id.to_string() + ": not in the Hugging Face cache " + options.cache_dir.string() +
                    " and HF_HUB_OFFLINE=1 forbids downloading it; run `zeroclip download " + id.to_string() +
                    "` while online",
                    ErrorKind::NotFound);
    }
    if (hub::is_commit_hash(id.revision))
        if (auto dir = find_cached_model(id, options)) return *dir;
    try {
        return download_files(id, options);
    } catch (const hub::NetworkError& e) {
        if (find_cached_model(id, options))
            throw Error(id.to_string() + ": " + e.what() +
                        "; the model is in the cache: set HF_HUB_OFFLINE=1 to use it");
        throw hub::ModelUnavailableError(
            id.to_string(),
            std::string(e.what()) + "; check the network connection, HF_ENDPOINT or the proxy settings");
    }
}

std::filesystem::path resolve_model(const std::string& spec, const HubOptions& options) {
    const std::filesystem::path dir(spec);
    std::error_code ec;
    if (std::filesystem::is_directory(dir, ec)) return dir;
    if (std::filesystem::exists(dir, ec)) throw Error(spec + ": not a model directory", ErrorKind::InvalidInput);
    const auto id = ModelId::parse(spec);
    if (!id) throw Error(spec + ": model directory not found", ErrorKind::NotFound);
    try {
        return download_model(*id, options);
    } catch (const hub::ModelUnavailableError& e) {
        throw Error(spec + ": model directory not found, and " + e.reason(), ErrorKind::NotFound);
    }
}

}  // namespace zeroclip
