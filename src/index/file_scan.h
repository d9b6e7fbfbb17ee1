// index/file_scan.h - what an `add` finds on disk: the image files under its inputs with their
// size and mtime (absolute, lexically normal paths), and which stored paths it may declare gone.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "zeroclip/eval.h"
#include "zeroclip/image_batches.h"

namespace zeroclip::index {

struct ScannedFile {
    std::string path;  // absolute, lexically normal, native bytes
    int64_t size = 0;
    int64_t mtime_ns = 0;
};

struct FileScan {
    std::vector<ScannedFile> files;
    // Directories listed (their absolute paths) and files named: a stored path under one of
    // them that the scan did not find is gone...
    std::vector<std::string> roots;
    // ...unless it lies under a path whose listing failed (then it is kept).
    std::vector<std::string> unlisted;
};

// Expands `inputs` (files and directories, recursively) with expand_image_paths and stats
// each file. Failures (missing inputs, unlistable folders, unstatable files) go to `failures`.
// An input that does not exist stays a root: what was indexed under it is gone.
FileScan scan_files(const std::vector<std::string>& inputs, std::vector<ImageFailure>& failures);

struct FileStat {
    int64_t size = 0;
    int64_t mtime_ns = 0;
    std::string error;  // empty when `path` is a regular file (symlinks followed)
};

FileStat stat_file(const std::string& path);

// `path` equals `root` or lies below it.
bool is_under(const std::string& path, const std::string& root);

// The absolute, lexically normal form of `path` (no symlink resolution).
std::string normal_path(const std::filesystem::path& path);

// hash_bytes of a file's content; throws naming the file.
ContentHash hash_file(const std::string& path);

struct FileHash {
    ContentHash hash;
    std::string error;  // empty when hashed
};

// hash_file of each path, on up to `threads` threads (reading is most of it).
std::vector<FileHash> hash_files(const std::vector<std::string>& paths, int threads);

}  // namespace zeroclip::index
