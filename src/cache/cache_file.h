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
#include <future>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
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
// at a time, in a staging buffer that write_staged() hands to a writer thread, which appends it
// to the file with write() and computes the checksum as it goes, while the caller fills the
// next stage in a second buffer. Writing creates the file's pages in bulk (faulting in each page
// of a writable file mapping cost several times the CPU on Linux), and no second pass reads
// the file back.
class CacheFileBuilder {
public:
    // Null, with `problem` saying why, when the file cannot be created or its space reserved.
    static std::unique_ptr<CacheFileBuilder> create(const std::filesystem::path& path, const std::string& key,
                                                    const std::string& description, const std::vector<size_t>& sizes,
                                                    std::string& problem);
    ~CacheFileBuilder();  // waits for the writer; removes the temporary file unless committed
    CacheFileBuilder(const CacheFileBuilder&) = delete;
    CacheFileBuilder& operator=(const CacheFileBuilder&) = delete;

    // Buffers for sections [first, first + count), the next ones not yet staged (in order; a
    // std::logic_error otherwise), for the caller to fill completely before write_staged().
    std::vector<std::span<std::byte>> stage(size_t first, size_t count);

    // Queues the staged sections for writing. False, with `problem` saying why (disk error),
    // when a write queued earlier failed: the builder is then unusable.
    bool write_staged(std::string& problem);

    // Once every section is written: stores the checksum, maps the file read-only (its pages are
    // in the page cache) and renames it into place. Null, with `problem`, when a write
    // failed or it cannot be mapped; when only the rename fails, the mapping is returned and
    // `problem` says why.
    std::unique_ptr<MappedCacheFile> commit(std::string& problem);

private:
    CacheFileBuilder() = default;
    struct Placement {  // a section's place in the file
        uint64_t offset;
        uint64_t bytes;
    };
    // A staging buffer: its byte at `lead` goes to the file at `offset`; lead keeps sections at
    // their file offsets' alignment within a page.
    struct Staging {
        std::unique_ptr<std::byte, void (*)(void*)> memory{nullptr, nullptr};
        size_t capacity = 0;
        size_t lead = 0;
        uint64_t offset = 0, bytes = 0;
    };
    void wait_for_writer();
    std::string write_at(uint64_t offset, const std::byte* data, size_t bytes);  // the writer's job

    std::filesystem::path path_, temp_;
    int fd_ = -1;
    uint64_t size_ = 0;
    std::vector<Placement> sections_;
    size_t next_section_ = 0;   // the first section not yet staged
    size_t staged_end_ = 0;     // one past the last section staged
    uint64_t queued_ = 0;       // the file's bytes staged and queued so far (a prefix)
    Staging staging_[2];        // filled by the caller and written by the writer, alternately
    int current_ = 0;           // the one stage() fills
    std::future<std::string> writing_;  // the writer's job: empty, or why it failed
    std::string failure_;               // why a write failed
    struct Checksum;
    std::unique_ptr<Checksum> checksum_;  // touched by the writer only
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

// A verification stamp: `<file>.verified`, written beside a cache file once its checksum has
// been verified, records this boot's id and the file's device, inode, size, mtime and ctime.
// While they all still hold, later loads skip hashing the file: the kernel changes ctime on
// every write, truncation, rename or metadata change (user space cannot set it), and a stamp
// from another boot (a crash may have lost written pages) is not trusted. Layout: 8 bytes
// "ZCVERIF1", the 36-character boot id, then the fields (native endianness).
std::filesystem::path verification_stamp_path(const std::filesystem::path& path);

// Bytes this process has hashed to verify cache files (for tests).
uint64_t cache_bytes_checksummed();

// Cache files are written under a name with this prefix, then renamed into place.
inline constexpr std::string_view kPartialFilePrefix = ".tmp-";
inline bool is_partial_cache_file(const std::filesystem::path& path) {
    return path.filename().string().starts_with(kPartialFilePrefix);
}

// Whether a partial cache file (".tmp-...") is still being written: its writer holds a lock
// on it until it is renamed into place or removed, so a file nobody holds was left by a
// process that was killed or crashed.
bool partial_file_is_being_written(const std::filesystem::path& path);

// Removes the partial files in `dir` that no process is writing and that have not changed for
// a minute (a writer locks its file right after creating it; the minute covers that instant).
// Returns the bytes freed. Called before a new cache file is written.
uint64_t remove_abandoned_partial_files(const std::filesystem::path& dir);

// The header of a cache file, checked for shape only (no checksum): for listing the cache.
struct CacheFileSummary {
    std::string key;
    std::string description;
    uint64_t bytes = 0;
};
std::optional<CacheFileSummary> read_cache_summary(const std::filesystem::path& path);

}  // namespace zeroclip
