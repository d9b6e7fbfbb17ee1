// Cache files: atomic writing, mapping and validation (see cache_file.h for the layout).
#include "cache/cache_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <xxhash.h>

namespace zeroclip {

namespace {

constexpr char kMagic[8] = {'Z', 'C', 'L', 'I', 'P', 'C', 'F', '1'};
constexpr uint32_t kFormat = 1;
constexpr size_t kHeaderBytes = 64;
constexpr size_t kChecksumOffset = 24;  // the 8 bytes the checksum leaves out
constexpr uint64_t kMaxStringBytes = 1 << 20;

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

// Writes all of `data` or reports errno.
bool write_all(int fd, const void* data, size_t bytes) {
    const auto* p = static_cast<const char*>(data);
    while (bytes > 0) {
        const ssize_t n = ::write(fd, p, bytes);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        bytes -= size_t(n);
    }
    return true;
}

// XXH3-64 of the file but its checksum field.
uint64_t checksum_of(const std::byte* file, uint64_t bytes) {
    XXH3_state_t* state = XXH3_createState();
    XXH3_64bits_reset(state);
    XXH3_64bits_update(state, file, kChecksumOffset);
    XXH3_64bits_update(state, file + kChecksumOffset + 8, bytes - kChecksumOffset - 8);
    const uint64_t hash = XXH3_64bits_digest(state);
    XXH3_freeState(state);
    return hash;
}

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

std::string write_cache_file(const std::filesystem::path& path, const std::string& key,
                             const std::string& description, const std::vector<ByteSpan>& sections) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) return "cannot create " + path.parent_path().string() + ": " + ec.message();

    // Layout first: the table holds every section's offset.
    Header header{};
    std::memcpy(header.magic, kMagic, sizeof kMagic);
    header.format = kFormat;
    header.section_count = static_cast<uint32_t>(sections.size());
    header.key_bytes = key.size();
    header.description_bytes = description.size();
    std::vector<SectionEntry> table(sections.size());
    uint64_t offset = kHeaderBytes + key.size() + description.size() + table.size() * sizeof(SectionEntry);
    for (size_t i = 0; i < sections.size(); ++i) {
        offset = align_for(offset, sections[i].size());
        table[i] = {offset, sections[i].size()};
        offset += sections[i].size();
    }
    header.file_bytes = offset;

    std::string temp = (path.parent_path() / (".tmp-" + path.filename().string() + "-XXXXXX")).string();
    const int fd = ::mkstemp(temp.data());
    if (fd < 0) return "cannot write in " + path.parent_path().string() + ": " + errno_text();

    XXH3_state_t* state = XXH3_createState();
    XXH3_64bits_reset(state);
    uint64_t written = 0;
    bool ok = true;
    const auto put = [&](const void* data, size_t bytes) {
        if (!ok || bytes == 0) return;
        XXH3_64bits_update(state, data, bytes);
        ok = write_all(fd, data, bytes);
        written += bytes;
    };
    static const std::byte zeros[4096] = {};
    const auto pad_to = [&](uint64_t target) {
        while (ok && written < target) put(zeros, std::min<uint64_t>(sizeof zeros, target - written));
    };
    // The checksum field is left out of the hash: written as zero now, filled in at the end.
    XXH3_64bits_update(state, &header, kChecksumOffset);
    XXH3_64bits_update(state, reinterpret_cast<const char*>(&header) + kChecksumOffset + 8,
                       kHeaderBytes - kChecksumOffset - 8);
    ok = write_all(fd, &header, kHeaderBytes);
    written = kHeaderBytes;
    put(key.data(), key.size());
    put(description.data(), description.size());
    put(table.data(), table.size() * sizeof(SectionEntry));
    for (size_t i = 0; i < sections.size(); ++i) {
        pad_to(table[i].offset);
        put(sections[i].data(), sections[i].size());
    }
    header.checksum = XXH3_64bits_digest(state);
    XXH3_freeState(state);
    std::string problem;
    if (!ok) problem = "cannot write " + path.string() + ": " + errno_text();
    else if (::pwrite(fd, &header.checksum, 8, kChecksumOffset) != 8)
        problem = "cannot write " + path.string() + ": " + errno_text();
    // No fsync: a file torn by a crash fails its checksum and is rebuilt.
    if (::close(fd) != 0 && problem.empty()) problem = "cannot write " + path.string() + ": " + errno_text();
    if (problem.empty() && ::rename(temp.c_str(), path.c_str()) != 0)
        problem = "cannot rename into " + path.string() + ": " + errno_text();
    if (!problem.empty()) ::unlink(temp.c_str());
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
    // Populated up front: the checksum reads every page anyway, and one call maps them faster
    // than a fault per page.
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
    if (checksum_of(data, size) != header.checksum) {
        problem = "corrupt (checksum mismatch)";
        return nullptr;
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
