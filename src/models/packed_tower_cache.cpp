// Packed towers in the cache: section 0 holds each slot's block count (uint32), then come the
// slots' blocks in order.
#include "models/packed_tower_cache.h"

#include <cstring>

#include "cache/cache_notes.h"

namespace zeroclip {

PackedTowerCache::PackedTowerCache(CacheOptions options, std::string model_key, std::string model_name)
    : options_(std::move(options)), model_key_(std::move(model_key)), model_name_(std::move(model_name)) {}

std::string PackedTowerCache::tower_key(const std::string& tower, const Backend& backend) const {
    return model_key_ + "\n" + backend.packing_key() + "\n" + tower + " tower";
}

std::filesystem::path PackedTowerCache::path(const std::string& tower, const Backend& backend) const {
    return cache_dir_of(options_) / cache_file_name("weights", tower_key(tower, backend));
}

std::unique_ptr<MappedCacheFile> PackedTowerCache::open(const std::string& tower, const Backend& backend) const {
    if (!usable(backend)) return nullptr;
    std::string problem;
    auto file = MappedCacheFile::open(path(tower, backend), tower_key(tower, backend), problem);
    if (!file && !problem.empty()) note_rebuilt(tower, problem);
    return file;
}

bool PackedTowerCache::adopt(const MappedCacheFile& file, Backend& backend, const std::vector<LinearSlot>& slots) const {
    if (file.section_count() == 0 || file.section(0).size() != slots.size() * sizeof(uint32_t)) return false;
    std::vector<uint32_t> counts(slots.size());
    std::memcpy(counts.data(), file.section(0).data(), file.section(0).size());
    std::vector<std::unique_ptr<LinearWeights>> adopted;
    size_t next = 1;
    for (size_t i = 0; i < slots.size(); ++i) {
        if (counts[i] > file.section_count() - next) return false;
        std::vector<std::span<const std::byte>> blocks;
        for (uint32_t b = 0; b < counts[i]; ++b) blocks.push_back(file.section(next++));
        auto weights = backend.linear_from_blocks(blocks, slots[i].bias, slots[i].out_features, slots[i].in_features);
        if (!weights) return false;
        adopted.push_back(std::move(weights));
    }
    if (next != file.section_count()) return false;
    for (size_t i = 0; i < slots.size(); ++i) *slots[i].target = std::move(adopted[i]);
    return true;
}

std::unique_ptr<MappedCacheFile> PackedTowerCache::pack(const std::string& tower, Backend& backend,
                                                        const std::vector<LinearSlot>& slots) const {
    std::unique_ptr<CacheFileBuilder> builder;
    std::vector<uint32_t> counts;
    if (usable(backend)) {
        std::vector<size_t> sizes(1, slots.size() * sizeof(uint32_t));
        for (const LinearSlot& slot : slots) {
            const auto blocks = backend.packed_block_sizes(slot.out_features, slot.in_features);
            counts.push_back(static_cast<uint32_t>(blocks.size()));
            sizes.insert(sizes.end(), blocks.begin(), blocks.end());
        }
        const std::string description = tower + " tower of " + model_name_ + "; " + backend.packing_key();
        std::string problem;
        builder = CacheFileBuilder::create(path(tower, backend), tower_key(tower, backend), description, sizes, problem);
        if (!builder) cache_write_failed(options_, problem);
    }
    std::vector<float> qkv_storage;  // reused: the backend packs its own copy
    size_t next = 1;
    for (const LinearSlot& slot : slots) {
        const float* weight = slot.qkv_of ? stacked_qkv(*slot.qkv_of, qkv_storage).weight : slot.tensor->weight;
        if (!builder) {
            *slot.target = backend.prepare_linear(weight, slot.bias, slot.out_features, slot.in_features);
            continue;
        }
        std::vector<std::span<std::byte>> blocks;
        for (uint32_t b = 0; b < counts[&slot - slots.data()]; ++b) blocks.push_back(builder->section(next++));
        *slot.target = backend.prepare_linear_into(weight, slot.bias, slot.out_features, slot.in_features, blocks);
    }
    if (!builder) return nullptr;
    std::memcpy(builder->section(0).data(), counts.data(), counts.size() * sizeof(uint32_t));
    std::string problem;
    auto file = builder->commit(problem);
    if (!problem.empty()) cache_write_failed(options_, problem);
    return file;
}

void PackedTowerCache::note_rebuilt(const std::string& tower, const std::string& why) const {
    cache_note(options_, "the packed " + tower + " weights in " + cache_dir_of(options_).string() + " were " + why +
                             "; rebuilding them");
}

}  // namespace zeroclip
