// Packed towers in the cache: section 0 holds each slot's block count (uint32), then come the
// slots' blocks in order.
#include "models/packed_tower_cache.h"

#include <cstring>

#include "cache/cache_notes.h"
#include "zeroclip/eval.h"  // model_fingerprint

namespace zeroclip {

PackedTowerCache::PackedTowerCache(CacheOptions options, std::string model_key, std::string model_name)
    : options_(std::move(options)), model_key_(std::move(model_key)), model_name_(std::move(model_name)) {}

PackedTowerCache PackedTowerCache::for_model(const std::filesystem::path& model_dir, CacheOptions options) {
    std::string model_key;
    if (options.enabled)
        model_key = std::string("zeroclip ") + ZEROCLIP_VERSION + "\nmodel " + model_fingerprint(model_dir);
    return PackedTowerCache(std::move(options), std::move(model_key), std::filesystem::absolute(model_dir).string());
}

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
    if (usable(backend)) {
        if (auto file = pack_into_file(tower, backend, slots)) {
            if (adopt(*file, backend, slots)) return file;
            cache_write_failed(options_, "the packed " + tower + " weights just written do not read back");
        }
    }
    std::vector<float> qkv_storage;  // reused: the backend packs its own copy
    for (const LinearSlot& slot : slots)
        *slot.target = backend.prepare_linear(weight_of(slot, qkv_storage), slot.bias, slot.out_features,
                                              slot.in_features);
    return nullptr;
}

std::unique_ptr<MappedCacheFile> PackedTowerCache::pack_into_file(const std::string& tower, Backend& backend,
                                                                  const std::vector<LinearSlot>& slots) const {
    std::vector<size_t> sizes(1, slots.size() * sizeof(uint32_t));
    std::vector<uint32_t> counts;
    for (const LinearSlot& slot : slots) {
        const auto blocks = backend.packed_block_sizes(slot.out_features, slot.in_features);
        counts.push_back(static_cast<uint32_t>(blocks.size()));
        sizes.insert(sizes.end(), blocks.begin(), blocks.end());
    }
    const std::string description = tower + " tower of " + model_name_ + "; " + backend.packing_key();
    std::string problem;
    auto builder = CacheFileBuilder::create(path(tower, backend), tower_key(tower, backend), description, sizes, problem);
    if (!builder) {
        cache_write_failed(options_, problem);
        return nullptr;
    }
    std::memcpy(builder->stage(0, 1)[0].data(), counts.data(), counts.size() * sizeof(uint32_t));
    bool written = builder->write_staged(problem);
    std::vector<float> qkv_storage;
    size_t next = 1;
    for (size_t i = 0; i < slots.size() && written; ++i) {
        const LinearSlot& slot = slots[i];
        backend.pack_into(weight_of(slot, qkv_storage), slot.out_features, slot.in_features,
                          builder->stage(next, counts[i]));
        next += counts[i];
        written = builder->write_staged(problem);
    }
    auto file = written ? builder->commit(problem) : nullptr;
    if (!problem.empty()) cache_write_failed(options_, problem);
    return file;
}

const float* PackedTowerCache::weight_of(const LinearSlot& slot, std::vector<float>& qkv_storage) {
    return slot.qkv_of ? stacked_qkv(*slot.qkv_of, qkv_storage).weight : slot.tensor->weight;
}

void PackedTowerCache::note_rebuilt(const std::string& tower, const std::string& why) const {
    cache_note(options_, "the packed " + tower + " weights in " + cache_dir_of(options_).string() + " were " + why +
                             "; rebuilding them");
}

std::vector<LinearSlot> encoder_slots(const std::vector<EncoderLayerWeights>& layers,
                                      std::vector<PreparedEncoderLayer>& prepared) {
    prepared.resize(layers.size());
    std::vector<LinearSlot> slots;
    for (size_t i = 0; i < layers.size(); ++i) {
        const EncoderLayerWeights& w = layers[i];
        PreparedEncoderLayer& layer = prepared[i];
        slots.push_back({w.qkv_bias.data(), 3 * w.q_proj.out_features, w.q_proj.in_features, nullptr, &w, &layer.qkv});
        slots.push_back(linear_slot(w.out_proj, layer.out_proj));
        slots.push_back(linear_slot(w.fc1, layer.fc1));
        slots.push_back(linear_slot(w.fc2, layer.fc2));
    }
    return slots;
}

}  // namespace zeroclip
