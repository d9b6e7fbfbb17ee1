// index/embedding_shard.h - the shards that zeroclip.dask.embed writes (python/zeroclip/dask.py):
// shard-NNNNN.npy, float32 [rows, dim] image features, and shard-NNNNN.json, written last, with
//   "paths"       the rows' image paths (relative ones are relative to "cwd"),
//   "files"       [size, mtime_ns] of each row's file, taken before it was read,
//   "failed"      [{"path", "error"}] of the unreadable inputs,
//   "model", "fingerprint", "precision", "dim"   the model that made the vectors,
//   "cwd"         the worker's working directory, "inputs" the partition's inputs.
// Each path ("model" too, which may be a directory) is a string (its UTF-8 bytes) or, when its bytes are not UTF-8 (a file name in
// another encoding, which JSON strings cannot hold), {"bytes_hex": "<its bytes in hex>"}.
// Shards written before "fingerprint" and "files" existed cannot be matched to an index's model
// exactly: reading one is an error that says to rerun the job (which rewrites them).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "zeroclip/index.h"

namespace zeroclip::index {

struct ShardRow {
    std::string path;  // absolute, lexically normal (as an add stores it)
    int64_t size = 0;
    int64_t mtime_ns = 0;
};

struct EmbeddingShard {
    std::filesystem::path json;
    std::filesystem::path npy;
    IndexModel model;  // id as the job was given it
    std::vector<ShardRow> rows;
    std::vector<ImageFailure> failed;
    uint64_t data_offset = 0;  // where the .npy's values begin
};

// The bytes of a path recorded in a shard (a string or {"bytes_hex": ...}); throws InvalidInput
// for anything else.
std::string shard_path_bytes(const nlohmann::json& record);

// The finished shards under `dir` (those with a .json), in partition order. Throws when `dir`
// is not a directory or holds no shard.
std::vector<std::filesystem::path> list_shards(const std::filesystem::path& dir);

// Reads and checks one shard without reading its vectors: the .json's fields, and the .npy's
// header and size (float32, [rows, dim] with one row per path and dim = the .json's, the
// file exactly as long as that). Throws a one-line error naming the faulty file.
EmbeddingShard read_shard(const std::filesystem::path& json);

// The shard's vectors, rows of model.dim; throws naming the .npy when it changed since
// read_shard or holds a value that is not finite.
std::vector<float> read_shard_vectors(const EmbeddingShard& shard);

}  // namespace zeroclip::index
