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

// A cache file being written: laid out for sections of given sizes, its space reserved (a full
// disk fails here, not later), under a temporary name. The sections are filled in order, a few
// at a time, in a reused staging buffer that write_staged() appends to the file with one
// write() while computing the checksum: the kernel then creates the file's pages in bulk
// (faulting in each page of a writable file mapping cost several times the CPU on Linux), and no
// second pass reads the file back.
class CacheFileBuilder {
public:
    // Null, with `problem` saying why, when the file cannot be created or its space reserved.
    static std::unique_ptr<CacheFileBuilder> create(const std::filesystem::path& path, const std::string& key,
                                                    const std::string& description, const std::vector<size_t>& sizes,
                                                    std::string& problem);
    ~CacheFileBuilder();  // removes the temporary file unless committed
    CacheFileBuilder(const CacheFileBuilder&) = delete;
    CacheFileBuilder& operator=(const CacheFileBuilder&) = delete;

    // Buffers for sections [first, first + count), the next ones not yet written (in order; a
    // std::logic_error otherwise), for the caller to fill completely. Valid until the next call.
    std::vector<std::span<std::byte>> stage(size_t first, size_t count);

    // Appends the staged sections to the file. False, with `problem` saying why (disk error),
    // when the write failed: the builder is then unusable.
    bool write_staged(std::string& problem);

    // Once every section is written: stores the checksum, maps the file read-only (its pages are
    // already in the page cache) and renames it into place. Null, with `problem`, when it cannot
    // be mapped; when only the rename fails, the mapping is returned and `problem` says why.
    std::unique_ptr<MappedCacheFile> commit(std::string& problem);

private:
    CacheFileBuilder() = default;
    struct Placement {  // a section's place in the file
        uint64_t offset;
        uint64_t bytes;
    };
    bool write_at(uint64_t offset, const std::byte* data, size_t bytes, std::string& problem);

    std::filesystem::path path_, temp_;
    int fd_ = -1;
    uint64_t size_ = 0;
    std::vector<Placement> sections_;
    size_t next_section_ = 0;   // the first section not yet written
    uint64_t written_ = 0;      // the file's bytes written so far (a prefix)
    size_t staged_end_ = 0;     // one past the last staged section
    // The staging buffer: its byte at `lead_` is the file's byte at `written_`, and lead_ keeps
    // staged sections at their file offsets' alignment within a page.
    std::unique_ptr<std::byte, void (*)(void*)> staging_{nullptr, nullptr};
    size_t staging_capacity_ = 0;
    size_t lead_ = 0;
    struct Checksum;
    std::unique_ptr<Checksum> checksum_;
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
