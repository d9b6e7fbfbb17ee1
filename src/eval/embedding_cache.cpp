// The image-embedding cache file: "ZCLIPEMB", u32 version, u32 dim, u64 count, then count
// records of (u64 hash lo, u64 hash hi, dim float32, u64 checksum of the preceding bytes), all
// little-endian. A record whose checksum or values are wrong is ignored (recomputed); saving
// merges with whatever other runs saved meanwhile, under a lock, so concurrent runs lose nothing.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <unordered_set>

#include "eval/eval_util.h"
#include "hub/file_lock.h"
#include "util/atomic_file.h"
#include "zeroclip/error.h"
#include "zeroclip/eval.h"

namespace zeroclip {

namespace {

constexpr char kMagic[8] = {'Z', 'C', 'L', 'I', 'P', 'E', 'M', 'B'};
constexpr uint32_t kVersion = 2;
constexpr size_t kHeaderBytes = 24;
constexpr size_t kMaxCacheBytes = size_t{64} << 30;
// Embeddings are un-normalised projections; anything this large is damage, not a model output.
constexpr float kMaxMagnitude = 1e6f;

template <typename T>
T load(const uint8_t* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

template <typename T>
void store(std::ostream& out, const T& v) {
    out.write(reinterpret_cast<const char*>(&v), sizeof v);
}

size_t record_bytes(int dim) { return 16 + 4 * static_cast<size_t>(dim) + 8; }

uint64_t record_checksum(const uint8_t* record, int dim) {
    return hash_bytes({record, 16 + 4 * static_cast<size_t>(dim)}, 0x7a63616368650002).lo;
}

bool plausible(const float* row, int dim) {
    for (int i = 0; i < dim; ++i)
        if (!std::isfinite(row[i]) || std::fabs(row[i]) > kMaxMagnitude) return false;
    return true;
}

struct CacheFile {
    std::vector<ContentHash> hashes;
    std::vector<float> rows;
    size_t damaged = 0;      // records ignored
    bool old_format = false; // a version-1 file (no checksums): ignored, rewritten on save
};

// Reads `path` (absent: empty). Throws for a file that is not a cache of this dimension.
CacheFile read_cache_file(const std::filesystem::path& path, int dim) {
    CacheFile file;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return file;
    const auto bytes = read_file_bytes(path, kMaxCacheBytes);
    if (bytes.size() < kHeaderBytes || std::memcmp(bytes.data(), kMagic, 8) != 0)
        throw Error(path.string() + ": not a zeroclip embedding cache (delete it to rebuild)");
    const uint32_t version = load<uint32_t>(bytes.data() + 8);
    const uint32_t file_dim = load<uint32_t>(bytes.data() + 12);
    const uint64_t count = load<uint64_t>(bytes.data() + 16);
    if (file_dim != static_cast<uint32_t>(dim) || (version != kVersion && version != 1))
        throw Error(path.string() + ": cache version " + std::to_string(version) + ", dimension " +
                    std::to_string(file_dim) + " do not match (expected " + std::to_string(kVersion) +
                    ", " + std::to_string(dim) + "; delete it to rebuild)");
    if (version == 1) {
        file.old_format = true;
        return file;
    }
    const size_t record = record_bytes(dim);
    if ((bytes.size() - kHeaderBytes) % record != 0 || (bytes.size() - kHeaderBytes) / record != count)
        throw Error(path.string() + ": truncated or damaged cache (delete it to rebuild)");
    file.hashes.reserve(count);
    file.rows.reserve(count * static_cast<size_t>(dim));
    for (size_t i = 0; i < count; ++i) {
        const uint8_t* rec = bytes.data() + kHeaderBytes + i * record;
        std::vector<float> row(static_cast<size_t>(dim));
        std::memcpy(row.data(), rec + 16, 4 * static_cast<size_t>(dim));
        if (load<uint64_t>(rec + record - 8) != record_checksum(rec, dim) || !plausible(row.data(), dim)) {
            ++file.damaged;
            continue;
        }
        file.hashes.push_back({load<uint64_t>(rec), load<uint64_t>(rec + 8)});
        file.rows.insert(file.rows.end(), row.begin(), row.end());
    }
    return file;
}

}  // namespace

EmbeddingCache::EmbeddingCache(const std::filesystem::path& dir, const std::string& key, int dim)
    : path_(dir / (key + ".zcache")), dim_(dim) {
    if (key.empty() || !std::all_of(key.begin(), key.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
        }))
        throw Error("embedding cache key '" + key + "' is not a plain file name");
    if (dim < 1 || dim > 65536) throw Error("embedding cache: bad dimension " + std::to_string(dim));
    CacheFile file = read_cache_file(path_, dim);
    if (file.old_format) note_ = path_.string() + ": older cache format; its entries are recomputed";
    else if (file.damaged > 0)
        note_ = path_.string() + ": " + std::to_string(file.damaged) +
                " damaged entries (bad checksum or values) ignored; they are recomputed";
    loaded_hashes_ = std::move(file.hashes);
    loaded_ = std::move(file.rows);
    for (size_t i = 0; i < loaded_hashes_.size(); ++i) index_.emplace(loaded_hashes_[i], i);
}

const float* EmbeddingCache::find(const ContentHash& hash) const {
    const auto it = index_.find(hash);
    return it == index_.end() ? nullptr : loaded_.data() + it->second * dim_;
}

void EmbeddingCache::add(const ContentHash& hash, const float* embedding) {
    added_hashes_.push_back(hash);
    added_.insert(added_.end(), embedding, embedding + dim_);
}

void EmbeddingCache::save() const {
    if (added_hashes_.empty()) return;
    std::error_code ec;
    std::filesystem::create_directories(path_.parent_path(), ec);
    if (ec) throw Error(path_.parent_path().string() + ": cannot create directory: " + ec.message());
    std::filesystem::path lock_path = path_;
    lock_path += ".lock";
    const hub::FileLock lock(lock_path, {});
    // Entries other runs saved since this one loaded the file come first; a damaged or foreign
    // file at the path is replaced.
    CacheFile saved;
    try {
        saved = read_cache_file(path_, dim_);
    } catch (const Error&) {
    }
    std::unordered_set<ContentHash, HashKey> written;
    std::vector<std::pair<const ContentHash*, const float*>> entries;
    auto collect = [&](const std::vector<ContentHash>& hashes, const std::vector<float>& rows) {
        for (size_t i = 0; i < hashes.size(); ++i)
            if (written.insert(hashes[i]).second) entries.emplace_back(&hashes[i], rows.data() + i * dim_);
    };
    collect(saved.hashes, saved.rows);
    collect(loaded_hashes_, loaded_);
    collect(added_hashes_, added_);

    AtomicFile file(path_);
    auto& out = file.stream();
    out.write(kMagic, 8);
    store(out, kVersion);
    store(out, static_cast<uint32_t>(dim_));
    store(out, static_cast<uint64_t>(entries.size()));
    std::vector<uint8_t> record(record_bytes(dim_));
    for (const auto& [hash, row] : entries) {
        std::memcpy(record.data(), &hash->lo, 8);
        std::memcpy(record.data() + 8, &hash->hi, 8);
        std::memcpy(record.data() + 16, row, 4 * static_cast<size_t>(dim_));
        const uint64_t checksum = record_checksum(record.data(), dim_);
        std::memcpy(record.data() + record.size() - 8, &checksum, 8);
        out.write(reinterpret_cast<const char*>(record.data()), static_cast<std::streamsize>(record.size()));
    }
    file.commit();
}

}  // namespace zeroclip
