// cache_file.h - one file of the cache: a key, a description and byte sections, checksummed.
//
// Layout: a 64-byte header (magic, format, section count, file size, XXH3-64 checksum of the
// whole file but the checksum field, key and description sizes), the key, the description, a
// table of (offset, size) per section, then the sections, each aligned for use in place (4 KiB
// for large ones, so packed weights start on a page). Files are written under a unique
// temporary name and renamed into place: readers see a whole file or none, and concurrent
// writers of the same key each leave a complete file (the last rename wins).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace zeroclip {

using ByteSpan = std::span<const std::byte>;

// The cache file name of a key: a prefix naming its kind and a hash of the key.
std::string cache_file_name(const std::string& kind, const std::string& key);

// Writes `sections` to `path` atomically. Returns an empty string on success, otherwise why
// not (read-only directory, disk full...); never throws for I/O failures.
std::string write_cache_file(const std::filesystem::path& path, const std::string& key,
                             const std::string& description, const std::vector<ByteSpan>& sections);

// A cache file mapped read-only (MAP_SHARED: its pages are shared by every process using it).
class MappedCacheFile {
public:
    // The file at `path` if it is whole, carries `key` and its checksum matches. Otherwise null,
    // with `problem` saying why when the file exists but is not usable (empty when absent).
    static std::unique_ptr<MappedCacheFile> open(const std::filesystem::path& path, const std::string& key,
                                                 std::string& problem);
    ~MappedCacheFile();
    MappedCacheFile(const MappedCacheFile&) = delete;
    MappedCacheFile& operator=(const MappedCacheFile&) = delete;

    size_t section_count() const { return sections_.size(); }
    ByteSpan section(size_t i) const { return sections_[i]; }

private:
    MappedCacheFile() = default;
    void* map_ = nullptr;
    size_t size_ = 0;
    std::vector<ByteSpan> sections_;
};

// The header of a cache file, checked for shape only (no checksum): for listing the cache.
struct CacheFileSummary {
    std::string key;
    std::string description;
    uint64_t bytes = 0;
};
std::optional<CacheFileSummary> read_cache_summary(const std::filesystem::path& path);

}  // namespace zeroclip
