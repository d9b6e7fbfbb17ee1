// The image-embedding cache file: "ZCLIPEMB", u32 version, u32 dim, u64 count, then count
// records of (u64 hash lo, u64 hash hi, dim float32), all little-endian.
#include <algorithm>
#include <cctype>
#include <cstring>

#include "eval/eval_util.h"
#include "util/atomic_file.h"
#include "zeroclip/error.h"
#include "zeroclip/eval.h"

namespace zeroclip {

namespace {

constexpr char kMagic[8] = {'Z', 'C', 'L', 'I', 'P', 'E', 'M', 'B'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderBytes = 24;
constexpr size_t kMaxCacheBytes = size_t{64} << 30;

template <typename T>
T load(const uint8_t* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

template <typename T>
void store(std::ofstream& out, const T& v) {
    out.write(reinterpret_cast<const char*>(&v), sizeof v);
}

}  // namespace

EmbeddingCache::EmbeddingCache(const std::filesystem::path& dir, const std::string& key, int dim)
    : path_(dir / (key + ".zcache")), dim_(dim) {
    if (key.empty() || !std::all_of(key.begin(), key.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
        }))
        throw Error("embedding cache key '" + key + "' is not a plain file name");
    if (dim < 1 || dim > 65536) throw Error("embedding cache: bad dimension " + std::to_string(dim));
    std::error_code ec;
    if (!std::filesystem::exists(path_, ec)) return;

    const auto bytes = read_file_bytes(path_, kMaxCacheBytes);
    const size_t record = 16 + 4 * static_cast<size_t>(dim);
    if (bytes.size() < kHeaderBytes || std::memcmp(bytes.data(), kMagic, 8) != 0)
        throw Error(path_.string() + ": not a zeroclip embedding cache (delete it to rebuild)");
    const uint32_t version = load<uint32_t>(bytes.data() + 8);
    const uint32_t file_dim = load<uint32_t>(bytes.data() + 12);
    const uint64_t count = load<uint64_t>(bytes.data() + 16);
    if (version != kVersion || file_dim != static_cast<uint32_t>(dim))
        throw Error(path_.string() + ": cache version " + std::to_string(version) + ", dimension " +
                    std::to_string(file_dim) + " do not match (expected " + std::to_string(kVersion) +
                    ", " + std::to_string(dim) + "; delete it to rebuild)");
    if ((bytes.size() - kHeaderBytes) % record != 0 || (bytes.size() - kHeaderBytes) / record != count)
        throw Error(path_.string() + ": truncated or damaged cache (delete it to rebuild)");

    loaded_hashes_.resize(count);
    loaded_.resize(count * static_cast<size_t>(dim));
    for (size_t i = 0; i < count; ++i) {
        const uint8_t* rec = bytes.data() + kHeaderBytes + i * record;
        loaded_hashes_[i] = {load<uint64_t>(rec), load<uint64_t>(rec + 8)};
        std::memcpy(loaded_.data() + i * dim, rec + 16, 4 * static_cast<size_t>(dim));
        index_.emplace(loaded_hashes_[i], i);
    }
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
    AtomicFile file(path_);
    auto& out = file.stream();
    out.write(kMagic, 8);
    store(out, kVersion);
    store(out, static_cast<uint32_t>(dim_));
    store(out, static_cast<uint64_t>(loaded_hashes_.size() + added_hashes_.size()));
    auto write_all = [&](const std::vector<ContentHash>& hashes, const std::vector<float>& rows) {
        for (size_t i = 0; i < hashes.size(); ++i) {
            store(out, hashes[i].lo);
            store(out, hashes[i].hi);
            out.write(reinterpret_cast<const char*>(rows.data() + i * dim_), 4 * static_cast<std::streamsize>(dim_));
        }
    };
    write_all(loaded_hashes_, loaded_);
    write_all(added_hashes_, added_);
    file.commit();
}

}  // namespace zeroclip
