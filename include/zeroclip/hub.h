// zeroclip/hub.h - models by name from the Hugging Face Hub, in huggingface_hub's own cache.
//
//   auto dir = zeroclip::resolve_model("openai/clip-vit-base-patch32");   // downloads once
//   auto clip = zeroclip::Clip::open(dir);
//
// The cache is the one Python's huggingface_hub writes ($HF_HUB_CACHE, else $HF_HOME/hub, else
// ~/.cache/huggingface/hub): models--{org}--{name}/blobs/{etag}, snapshots/{commit}/{file} as
// relative symlinks into blobs/, refs/{revision} holding the commit. A model downloaded by either
// side is found by the other.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace zeroclip {

// Where and how to reach the Hub. from_environment() reads the variables huggingface_hub reads.
struct HubOptions {
    std::string endpoint = "https://huggingface.co";  // HF_ENDPOINT
    std::filesystem::path cache_dir;                  // HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub
    std::string token;                                // HF_TOKEN, else the file $HF_HOME/token; empty: none
    bool offline = false;                             // HF_HUB_OFFLINE=1: never touch the network
    bool progress = false;                            // progress bars on stderr (default: stderr is a terminal)

    static HubOptions from_environment();
};

// A Hub model id, "org/name" with an optional "@revision" (branch, tag or commit; default main).
struct ModelId {
    std::string repo;
    std::string revision = "main";

    // Nullopt when `spec` is not of that form (then it can only be a local directory).
    static std::optional<ModelId> parse(const std::string& spec);
    std::string to_string() const;  // "org/name", plus "@revision" when not main
};

// The local directory of a model: `spec` itself when it is a directory (never touching the
// network), else the cached snapshot of hub id `spec`, downloading what is missing. Throws
// zeroclip::Error with a one-line reason (not found, gated, offline and not cached...).
std::filesystem::path resolve_model(const std::string& spec, const HubOptions& options);

// Downloads (or checks) the files a CLIP model needs into the cache; returns the snapshot
// directory. Offline, returns the cached snapshot or throws.
std::filesystem::path download_model(const ModelId& id, const HubOptions& options);

// The cached snapshot of `id` when it holds every file a CLIP model needs; no network.
std::optional<std::filesystem::path> find_cached_model(const ModelId& id, const HubOptions& options);

struct CachedModel {
    std::string repo;      // org/name
    std::string revision;  // the ref naming this snapshot (main, a tag...), else the commit
    std::string commit;
    std::uintmax_t size_bytes = 0;  // the files of the snapshot
    std::filesystem::path path;     // the snapshot directory
};

// The CLIP snapshots in the cache (config.json with model_type "clip"), sorted by repo.
std::vector<CachedModel> list_cached_models(const HubOptions& options);

}  // namespace zeroclip
