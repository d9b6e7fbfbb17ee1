// Cache files: atomic writing, mapping and validation (see cache_file.h for the layout).
#include "cache/cache_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <fstream>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

#include <xxhash.h>

namespace zeroclip {

namespace {

constexpr char kMagic[8] = {'Z', 'C', 'L', 'I', 'P', 'C', 'F', '1'};
constexpr uint32_t kFormat = 2;
constexpr size_t kHeaderBytes = 64;
constexpr size_t kChecksumOffset = 24;  // the 8 bytes the checksum leaves out
constexpr uint64_t kMaxStringBytes = 1 << 20;
constexpr uint64_t kChecksumChunk = 16u << 20;
// Cache files are written in aligned pieces of this size, and the page cache gives each piece a
// folio of its size. Measured on the development VM (ViT-L/14, first run then cached runs):
// 2 MiB or larger pieces give huge-page folios, which later runs map by the 2 MiB (0.1 s less
// CPU each), but creating them cost the first run 2 s more CPU than anonymous memory did (free
// 2 MiB blocks go back to the hypervisor, and touching them again is slow); 64 KiB folios reuse
// the pages freed as the float32 weights are released: the first run costs what it did before
// the cache.
constexpr size_t kWritePiece = 64u << 10;
constexpr size_t kBootIdBytes = 36;  // a UUID's text

struct Header {
    char magic[8];
    uint32_t format;
    uint32_t section_count;
    uint64_t file_bytes;
    uint64_t checksum;
    uint64_t key_bytes;
    uint64_t description_bytes;
    uint64_t reserved[2];
};
static_assert(sizeof(Header) == kHeaderBytes);

struct SectionEntry {
    uint64_t offset;
    uint64_t bytes;
};

// Large sections start on a page (packed weights used in place), small ones on a cache line.
uint64_t align_for(uint64_t offset, uint64_t bytes) {
    const uint64_t alignment = bytes >= 4096 ? 4096 : 64;
    return (offset + alignment - 1) / alignment * alignment;
}

std::string errno_text() { return std::strerror(errno); }

std::atomic<uint64_t> bytes_checksummed{0};  // by this process's loads, for tests

// XXH3-64 over the XXH3-64 digests of the file's 16 MiB chunks (the checksum field left out),
// so that the cores share the work: a load verifies the whole file unless its stamp vouches for it.
uint64_t checksum_of(const std::byte* file, uint64_t bytes) {
    constexpr uint64_t kChunk = kChecksumChunk;
    const int64_t chunks = int64_t((bytes + kChunk - 1) / kChunk);
    std::vector<uint64_t> digests(static_cast<size_t>(chunks));
#pragma omp parallel for schedule(dynamic) if (chunks > 1)
    for (int64_t c = 0; c < chunks; ++c) {
        const uint64_t begin = uint64_t(c) * kChunk, end = std::min(bytes, begin + kChunk);
        if (c > 0) {
            digests[size_t(c)] = XXH3_64bits(file + begin, end - begin);
            continue;
        }
        XXH3_state_t* state = XXH3_createState();
        XXH3_64bits_reset(state);
        XXH3_64bits_update(state, file, kChecksumOffset);
        XXH3_64bits_update(state, file + kChecksumOffset + 8, end - kChecksumOffset - 8);
        digests[0] = XXH3_64bits_digest(state);
        XXH3_freeState(state);
    }
    bytes_checksummed += bytes;
    return XXH3_64bits(digests.data(), digests.size() * sizeof(uint64_t));
}

// Reads one byte of each page, the cores sharing the work. Measured on a 2-core VM whose
// hypervisor shadows the guest's page tables (ViT-L/14, 1.2 GB): the first access of each page
// by a new process costs an exit to the hypervisor even after MAP_POPULATE; taking those
// inside the model's matmuls made their first pass 0.4 s slower; taking them here first saved
// ~0.1 s of wall time per run. (A load that verifies the checksum touches every page anyway.)
void touch_every_page(const std::byte* data, uint64_t bytes) {
    constexpr int64_t kPage = 4096;
    const int64_t pages = int64_t((bytes + kPage - 1) / kPage);
    uint64_t sum = 0;
#pragma omp parallel for reduction(+ : sum) if (pages > 1024)
    for (int64_t p = 0; p < pages; ++p) sum += uint64_t(data[p * kPage]);
    asm volatile("" : : "r"(sum));  // the reads must happen
}

// This boot of the machine ("" where the kernel does not say: stamps are then never trusted).
const std::string& boot_id() {
    static const std::string id = [] {
        std::ifstream in("/proc/sys/kernel/random/boot_id");
        std::string line;
        std::getline(in, line);
        return line.size() == kBootIdBytes ? line : std::string();
    }();
    return id;
}

// The verification stamp of a cache file (see verification_stamp_path in cache_file.h).
struct StampRecord {
    char magic[8];
    char boot[kBootIdBytes];
    uint32_t pad;
    uint64_t device, inode, bytes, checksum;
    int64_t mtime_sec, mtime_nsec, ctime_sec, ctime_nsec;
};
constexpr char kStampMagic[8] = {'Z', 'C', 'V', 'E', 'R', 'I', 'F', '1'};

StampRecord stamp_of(const struct stat& st, uint64_t checksum) {
    StampRecord r{};
    std::memcpy(r.magic, kStampMagic, sizeof kStampMagic);
    std::memcpy(r.boot, boot_id().data(), kBootIdBytes);
    r.device = st.st_dev;
    r.inode = st.st_ino;
    r.bytes = uint64_t(st.st_size);
    r.checksum = checksum;
    r.mtime_sec = st.st_mtim.tv_sec;
    r.mtime_nsec = st.st_mtim.tv_nsec;
    r.ctime_sec = st.st_ctim.tv_sec;
    r.ctime_nsec = st.st_ctim.tv_nsec;
    return r;
}

bool before(const struct timespec& a, const struct timespec& b) {
    return a.tv_sec != b.tv_sec ? a.tv_sec < b.tv_sec : a.tv_nsec < b.tv_nsec;
}

// Whether the stamp beside `path` vouches for the file `st` describes, with this checksum.
bool stamp_vouches(const std::filesystem::path& path, const struct stat& st, uint64_t checksum) {
    if (boot_id().empty()) return false;
    const int fd = ::open(verification_stamp_path(path).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    StampRecord found{};
    struct stat stamp_st {};
    const bool read = ::fstat(fd, &stamp_st) == 0 && stamp_st.st_size == off_t(sizeof found) &&
                      ::pread(fd, &found, sizeof found, 0) == ssize_t(sizeof found);
    ::close(fd);
    const StampRecord now = stamp_of(st, checksum);
    // A file changed within the clock tick its stamp recorded keeps its ctime: a stamp is
    // trusted only when written in a later tick than the file's last change (as git treats
    // its index's "racily clean" entries).
    return read && std::memcmp(&found, &now, sizeof now) == 0 && before(st.st_ctim, stamp_st.st_mtim);
}

// Records that the file `st` describes has been verified (nothing when the directory is
// read-only: every load then verifies).
void write_verification_stamp(const std::filesystem::path& path, const struct stat& st, uint64_t checksum) {
    if (boot_id().empty()) return;
    const StampRecord record = stamp_of(st, checksum);
    std::string temp =
        (path.parent_path() / (std::string(kPartialFilePrefix) + path.filename().string() + "-stamp-XXXXXX")).string();
    const int fd = ::mkostemp(temp.data(), O_CLOEXEC);
    if (fd < 0) return;
    ::fchmod(fd, 0644);
    const bool written = ::write(fd, &record, sizeof record) == ssize_t(sizeof record);
    ::close(fd);
    if (!written || ::rename(temp.c_str(), verification_stamp_path(path).c_str()) != 0) ::unlink(temp.c_str());
}

}  // namespace

bool partial_file_is_being_written(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return false;
    const bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    ::close(fd);
    return held;
}

uint64_t remove_abandoned_partial_files(const std::filesystem::path& dir) {
    uint64_t freed = 0;
    std::error_code ec;
    const auto now = std::filesystem::file_time_type::clock::now();
    for (const auto& item : std::filesystem::directory_iterator(dir, ec)) {
        if (!is_partial_cache_file(item.path()) || !item.is_regular_file(ec)) continue;
        const auto changed = item.last_write_time(ec);
        if (ec || now - changed < std::chrono::minutes(1)) continue;
        if (partial_file_is_being_written(item.path())) continue;
        const uint64_t bytes = item.file_size(ec);
        if (!ec && std::filesystem::remove(item.path(), ec)) freed += bytes;
    }
    return freed;
}

std::filesystem::path verification_stamp_path(const std::filesystem::path& path) {
    return std::filesystem::path(path.string() + ".verified");
}

uint64_t cache_bytes_checksummed() { return bytes_checksummed.load(); }

// checksum_of computed as the file is written, in order: the digest of each 16 MiB chunk as it
// completes, then the digest of the digests.
struct CacheFileBuilder::Checksum {
    Checksum() : state(XXH3_createState()) { XXH3_64bits_reset(state); }
    ~Checksum() { XXH3_freeState(state); }
    Checksum(const Checksum&) = delete;
    Checksum& operator=(const Checksum&) = delete;

    void feed(const std::byte* data, uint64_t bytes) {
        while (bytes > 0) {
            const uint64_t chunk_end = (position / kChecksumChunk + 1) * kChecksumChunk;
            uint64_t take = std::min(bytes, chunk_end - position);
            if (position < kChecksumOffset + 8 && position + take > kChecksumOffset) {
                // The checksum field itself is left out.
                if (position < kChecksumOffset) {
                    take = kChecksumOffset - position;
                    XXH3_64bits_update(state, data, take);
                } else {
                    take = std::min(take, kChecksumOffset + 8 - position);
                }
            } else {
                XXH3_64bits_update(state, data, take);
            }
            data += take;
            bytes -= take;
            position += take;
            if (position == chunk_end) {
                digests.push_back(XXH3_64bits_digest(state));
                XXH3_64bits_reset(state);
            }
        }
    }

    uint64_t finish() {
        if (position % kChecksumChunk != 0) digests.push_back(XXH3_64bits_digest(state));
        return XXH3_64bits(digests.data(), digests.size() * sizeof(uint64_t));
    }

    XXH3_state_t* state;
    uint64_t position = 0;
    std::vector<uint64_t> digests;
};

namespace {

// The header and the string/table region of a mapped or read file; `problem` says what is wrong.
bool parse_header(const std::byte* data, uint64_t size, Header& header, std::string& problem) {
    if (size < kHeaderBytes) {
        problem = "truncated";
        return false;
    }
    std::memcpy(&header, data, sizeof header);
    if (std::memcmp(header.magic, kMagic, sizeof kMagic) != 0) {
        problem = "not a zeroclip cache file";
        return false;
    }
    if (header.format != kFormat) {
        problem = "written by another version (cache format " + std::to_string(header.format) + ")";
        return false;
    }
    if (header.file_bytes != size) {
        problem = header.file_bytes > size ? "truncated" : "corrupt (trailing bytes)";
        return false;
    }
    if (header.key_bytes > kMaxStringBytes || header.description_bytes > kMaxStringBytes ||
        header.section_count > (1u << 20) ||
        kHeaderBytes + header.key_bytes + header.description_bytes + header.section_count * sizeof(SectionEntry) > size) {
        problem = "corrupt (bad header)";
        return false;
    }
    return true;
}

}  // namespace

std::string cache_file_name(const std::string& kind, const std::string& key) {
    const XXH128_hash_t hash = XXH3_128bits(key.data(), key.size());
    char hex[33];
    std::snprintf(hex, sizeof hex, "%016llx%016llx", static_cast<unsigned long long>(hash.high64),
                  static_cast<unsigned long long>(hash.low64));
    return kind + "-" + hex + ".zcc";
}

std::unique_ptr<CacheFileBuilder> CacheFileBuilder::create(const std::filesystem::path& path, const std::string& key,
                                                           const std::string& description,
                                                           const std::vector<size_t>& sizes, std::string& problem) {
    problem.clear();
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) {
        problem = "cannot create " + path.parent_path().string() + ": " + ec.message();
        return nullptr;
    }
    // What killed writers left behind (a ViT-L/14 tower is 1.2 GB) goes before more is written.
    remove_abandoned_partial_files(path.parent_path());
    // Layout first: the table holds every section's offset.
    Header header{};
    std::memcpy(header.magic, kMagic, sizeof kMagic);
    header.format = kFormat;
    header.section_count = static_cast<uint32_t>(sizes.size());
    header.key_bytes = key.size();
    header.description_bytes = description.size();
    std::vector<SectionEntry> table(sizes.size());
    const uint64_t head_bytes = kHeaderBytes + key.size() + description.size() + table.size() * sizeof(SectionEntry);
    uint64_t offset = head_bytes;
    for (size_t i = 0; i < sizes.size(); ++i) {
        offset = align_for(offset, sizes[i]);
        table[i] = {offset, sizes[i]};
        offset += sizes[i];
    }
    header.file_bytes = offset;

    std::unique_ptr<CacheFileBuilder> builder(new CacheFileBuilder);
    builder->path_ = path;
    builder->size_ = header.file_bytes;
    for (const SectionEntry& e : table) builder->sections_.push_back({e.offset, e.bytes});
    std::string temp =
        (path.parent_path() / (std::string(kPartialFilePrefix) + path.filename().string() + "-XXXXXX")).string();
    builder->fd_ = ::mkostemp(temp.data(), O_CLOEXEC);
    if (builder->fd_ < 0) {
        problem = "cannot write in " + path.parent_path().string() + ": " + errno_text();
        return nullptr;
    }
    builder->temp_ = temp;
    // Held until the file is renamed or removed: tells other processes it is not abandoned.
    ::flock(builder->fd_, LOCK_EX | LOCK_NB);
    ::fchmod(builder->fd_, 0644);  // like any other file the user creates (mkstemp makes it private)
    // Reserved up front: a full disk fails before any packing. (Writing into reserved space also
    // costs the kernel less than allocating blocks as it goes.)
    if (const int err = ::posix_fallocate(builder->fd_, 0, off_t(header.file_bytes)); err != 0) {
        problem = "cannot write in " + path.parent_path().string() + ": " + std::strerror(err);
        return nullptr;
    }
    builder->checksum_ = std::make_unique<Checksum>();
    builder->stage(0, 0);  // the header, key, description and table: the bytes before section 0
    const Staging& head = builder->staging_[builder->current_];
    std::byte* at = head.memory.get() + head.lead;
    std::memcpy(at, &header, sizeof header);
    std::memcpy(at + kHeaderBytes, key.data(), key.size());
    std::memcpy(at + kHeaderBytes + key.size(), description.data(), description.size());
    std::memcpy(at + kHeaderBytes + key.size() + description.size(), table.data(), table.size() * sizeof(SectionEntry));
    if (!builder->write_staged(problem)) return nullptr;
    return builder;
}

CacheFileBuilder::~CacheFileBuilder() {
    wait_for_writer();
    if (fd_ >= 0) ::close(fd_);
    if (!temp_.empty()) ::unlink(temp_.c_str());
}

void CacheFileBuilder::wait_for_writer() {
    if (!writing_.valid()) return;
    std::string problem = writing_.get();
    if (failure_.empty()) failure_ = std::move(problem);
}

std::string CacheFileBuilder::write_at(uint64_t offset, const std::byte* data, size_t bytes) {
    checksum_->feed(data, bytes);
    while (bytes > 0) {
        const size_t piece = kWritePiece - offset % kWritePiece;
        const ssize_t n = ::pwrite(fd_, data, std::min<size_t>(bytes, piece), off_t(offset));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return "cannot write " + temp_.string() + ": " + (n < 0 ? errno_text() : "no progress");
        data += n;
        bytes -= size_t(n);
        offset += uint64_t(n);
    }
    return "";
}

std::vector<std::span<std::byte>> CacheFileBuilder::stage(size_t first, size_t count) {
    if (first != next_section_ || count > sections_.size() - first)
        throw std::logic_error("cache file sections are written once each, in order");
    staged_end_ = first + count;
    // From the end of what is queued; the first stage also holds the header, key and table.
    uint64_t end = queued_;
    if (count > 0) end = sections_[staged_end_ - 1].offset + sections_[staged_end_ - 1].bytes;
    else if (queued_ == 0) end = sections_.empty() ? size_ : sections_[0].offset;
    Staging& staging = staging_[current_];
    constexpr size_t kPage = 4096;
    staging.offset = queued_;
    staging.bytes = end - queued_;
    staging.lead = queued_ % kPage;
    const size_t needed = staging.lead + staging.bytes;
    if (needed > staging.capacity) {
        const size_t capacity = (needed + kPage - 1) / kPage * kPage;
        staging.memory = {static_cast<std::byte*>(std::aligned_alloc(kPage, capacity)), std::free};
        if (!staging.memory) throw std::bad_alloc();
        staging.capacity = capacity;
    }
    std::byte* base = staging.memory.get() + staging.lead;
    std::vector<std::span<std::byte>> spans;
    uint64_t at = queued_;
    for (size_t i = first; i < staged_end_; ++i) {
        std::memset(base + (at - queued_), 0, sections_[i].offset - at);  // alignment padding
        spans.emplace_back(base + (sections_[i].offset - queued_), sections_[i].bytes);
        at = sections_[i].offset + sections_[i].bytes;
    }
    std::memset(base + (at - queued_), 0, end - at);
    return spans;
}

bool CacheFileBuilder::write_staged(std::string& problem) {
    wait_for_writer();  // it wrote the other buffer meanwhile
    problem = failure_;
    if (!failure_.empty()) return false;
    const Staging& staging = staging_[current_];
    const auto write = [this, &staging] {
        return write_at(staging.offset, staging.memory.get() + staging.lead, staging.bytes);
    };
    try {
        writing_ = std::async(std::launch::async, write);
    } catch (const std::system_error&) {  // no thread to be had: written here
        failure_ = write();
        problem = failure_;
        if (!failure_.empty()) return false;
    }
    queued_ = staging.offset + staging.bytes;
    next_section_ = staged_end_;
    current_ ^= 1;
    return true;
}

std::unique_ptr<MappedCacheFile> CacheFileBuilder::commit(std::string& problem) {
    wait_for_writer();
    problem = failure_;
    if (!failure_.empty()) return nullptr;
    if (next_section_ != sections_.size() || queued_ != size_)
        throw std::logic_error("cache file: committed before every section was written");
    const uint64_t checksum = checksum_->finish();
    if (::pwrite(fd_, &checksum, sizeof checksum, kChecksumOffset) != ssize_t(sizeof checksum)) {
        problem = "cannot write " + temp_.string() + ": " + errno_text();
        return nullptr;
    }
    // Not populated: the pages are in the page cache, and the faults that map them (16 pages
    // each) cost no more than populating did, which also mapped pages the run never reads.
    void* map = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd_, 0);
    if (map == MAP_FAILED) {
        problem = "cannot map " + temp_.string() + ": " + errno_text();
        return nullptr;
    }
    ::close(std::exchange(fd_, -1));
    // No fsync: a file torn by a crash fails its checksum and is rebuilt.
    if (::rename(temp_.c_str(), path_.c_str()) != 0) problem = "cannot rename into " + path_.string() + ": " + errno_text();
    else temp_.clear();
    std::unique_ptr<MappedCacheFile> file(new MappedCacheFile);
    file->map_ = map;
    file->size_ = size_;
    const auto* data = static_cast<const std::byte*>(map);
    for (const Placement& s : sections_) file->sections_.emplace_back(data + s.offset, s.bytes);
    return file;
}

std::string write_cache_file(const std::filesystem::path& path, const std::string& key,
                             const std::string& description, const std::vector<ByteSpan>& sections) {
    std::vector<size_t> sizes;
    for (const ByteSpan& s : sections) sizes.push_back(s.size());
    std::string problem;
    auto builder = CacheFileBuilder::create(path, key, description, sizes, problem);
    if (!builder) return problem;
    const auto staged = builder->stage(0, sections.size());
    for (size_t i = 0; i < sections.size(); ++i)
        if (!sections[i].empty()) std::memcpy(staged[i].data(), sections[i].data(), sections[i].size());
    if (builder->write_staged(problem)) builder->commit(problem);
    return problem;
}

std::unique_ptr<MappedCacheFile> MappedCacheFile::open(const std::filesystem::path& path, const std::string& key,
                                                       std::string& problem) {
    problem.clear();
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT && errno != ENOTDIR) problem = "unreadable (" + errno_text() + ")";
        return nullptr;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        problem = "not a regular file";
        return nullptr;
    }
    const auto size = static_cast<uint64_t>(st.st_size);
    if (size < kHeaderBytes) {
        ::close(fd);
        problem = "truncated";
        return nullptr;
    }
    // A file verified earlier in this boot and unchanged since (its stamp says so) is not
    // hashed again.
    Header claimed{};
    const bool vouched = ::pread(fd, &claimed, sizeof claimed, 0) == ssize_t(sizeof claimed) &&
                         stamp_vouches(path, st, claimed.checksum);
    // Populated up front: the checksum or the model reads every page anyway, and one call maps
    // them faster than a fault per page.
    void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
    ::close(fd);
    if (map == MAP_FAILED) {
        problem = "unreadable (" + errno_text() + ")";
        return nullptr;
    }
    std::unique_ptr<MappedCacheFile> file(new MappedCacheFile);
    file->map_ = map;
    file->size_ = size;
    const auto* data = static_cast<const std::byte*>(map);

    Header header{};
    if (!parse_header(data, size, header, problem)) return nullptr;
    const char* text = reinterpret_cast<const char*>(data + kHeaderBytes);
    if (std::string_view(text, header.key_bytes) != key) {
        problem = "foreign (written for another model or settings)";
        return nullptr;
    }
    if (vouched) touch_every_page(data, size);
    if (!vouched || header.checksum != claimed.checksum) {
        if (checksum_of(data, size) != header.checksum) {
            problem = "corrupt (checksum mismatch)";
            return nullptr;
        }
        write_verification_stamp(path, st, header.checksum);
    }
    const uint64_t table_offset = kHeaderBytes + header.key_bytes + header.description_bytes;
    for (uint32_t i = 0; i < header.section_count; ++i) {
        SectionEntry entry;
        std::memcpy(&entry, data + table_offset + i * sizeof(SectionEntry), sizeof entry);
        if (entry.offset > size || entry.bytes > size - entry.offset) {
            problem = "corrupt (bad section table)";
            return nullptr;
        }
        file->sections_.emplace_back(data + entry.offset, entry.bytes);
    }
    return file;
}

MappedCacheFile::~MappedCacheFile() {
    if (map_) ::munmap(map_, size_);
}

std::optional<CacheFileSummary> read_cache_summary(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    std::optional<CacheFileSummary> summary;
    struct stat st {};
    std::byte raw[kHeaderBytes];
    Header header{};
    std::string problem;
    // parse_header reads only the first kHeaderBytes of `data`; the size is the file's.
    if (::fstat(fd, &st) == 0 && ::pread(fd, raw, kHeaderBytes, 0) == ssize_t(kHeaderBytes) &&
        parse_header(raw, uint64_t(st.st_size), header, problem)) {
        std::string strings(header.key_bytes + header.description_bytes, '\0');
        if (::pread(fd, strings.data(), strings.size(), kHeaderBytes) == ssize_t(strings.size()))
            summary = CacheFileSummary{strings.substr(0, header.key_bytes), strings.substr(header.key_bytes),
                                       header.file_bytes};
    }
    ::close(fd);
    return summary;
}

}  // namespace zeroclip
