// cache_file.h - one file of the cache: a key, a description and byte sections, checksummed.
//
// Layout: a 64-byte header (magic, format, section count, file size, checksum of the whole
// file but the checksum field (XXH3-64 over its 16 MiB chunks' XXH3-64), key and description
// sizes), the key, the description, a
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

class MappedCacheFile;

// A cache file being filled in place: laid out for sections of given sizes, its space reserved
// (a full disk fails here, not later), mapped writable under a temporary name. Whoever fills
// it writes straight into the page cache (packing into it costs no extra copy).
class CacheFileBuilder {
public:
    // Null, with `problem` saying why, when the file cannot be created or its space reserved.
    static std::unique_ptr<CacheFileBuilder> create(const std::filesystem::path& path, const std::string& key,
                                                    const std::string& description, const std::vector<size_t>& sizes,
                                                    std::string& problem);
    ~CacheFileBuilder();  // removes the temporary file unless committed
    CacheFileBuilder(const CacheFileBuilder&) = delete;
    CacheFileBuilder& operator=(const CacheFileBuilder&) = delete;

    std::span<std::byte> section(size_t i) const { return sections_[i]; }

    // Checksums the file and renames it into place. The mapping lives on in the returned file
    // (whatever points into the sections stays valid), even when the rename fails (`problem`).
    std::unique_ptr<MappedCacheFile> commit(std::string& problem);

private:
    CacheFileBuilder() = default;
    std::filesystem::path path_, temp_;
    void* map_ = nullptr;
    size_t size_ = 0;
    std::vector<std::span<std::byte>> sections_;
};

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
    friend class CacheFileBuilder;
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
