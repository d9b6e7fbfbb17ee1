// packed_tower_cache.h - a tower's packed linear layers, kept in the cache between runs.
//
// One cache file per tower, keyed by the model's fingerprint and the backend's packing key
// (backend, library version, ISA, precision). Its sections are, for each linear layer in the
// tower's order, the backend's packed blocks; a hit hands them back to the backend to use in
// place, from a shared read-only mapping.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "cache/cache_file.h"
#include "models/encoder.h"
#include "zeroclip/cache.h"

namespace zeroclip {

// One linear layer of a tower: its shape and bias, where its float32 weight comes from (a
// tensor, or a layer's stacked q|k|v), and where its prepared weight goes.
struct LinearSlot {
    const float* bias = nullptr;
    int out_features = 0;
    int in_features = 0;
    const LinearTensor* tensor = nullptr;
    const EncoderLayerWeights* qkv_of = nullptr;
    std::unique_ptr<LinearWeights>* target = nullptr;
};

// The slot of a linear layer stored as one tensor.
inline LinearSlot linear_slot(const LinearTensor& t, std::unique_ptr<LinearWeights>& target) {
    return {t.bias, t.out_features, t.in_features, &t, nullptr, &target};
}

// The slots of an encoder's layers (qkv stacked, out_proj, fc1, fc2 per layer), in the cache
// file's order, pointing at `prepared` (resized to match): every family's towers start with them.
std::vector<LinearSlot> encoder_slots(const std::vector<EncoderLayerWeights>& layers,
                                      std::vector<PreparedEncoderLayer>& prepared);

class PackedTowerCache {
public:
    // `model_key` names the model's content; `model_name` is for descriptions only.
    PackedTowerCache(CacheOptions options, std::string model_key, std::string model_name);
    // The cache of a model directory's towers: keyed by this zeroclip's version and the
    // directory's fingerprint (not computed when the cache is off).
    static PackedTowerCache for_model(const std::filesystem::path& model_dir, CacheOptions options);

    bool enabled() const { return options_.enabled; }
    // Enabled, and `backend` packs weights into host memory that can be cached (a non-empty
    // packing key); otherwise open finds nothing and pack prepares every layer in memory.
    bool usable(const Backend& backend) const { return options_.enabled && !backend.packing_key().empty(); }
    const CacheOptions& options() const { return options_; }

    // The key of a tower's packed weights: the model's and the backend's.
    std::string tower_key(const std::string& tower, const Backend& backend) const;

    // The tower's cache file, mapped, when it is whole and valid; null otherwise (a note says
    // why when a file was there but unusable: it is rebuilt).
    std::unique_ptr<MappedCacheFile> open(const std::string& tower, const Backend& backend) const;

    // Fills every slot's target from the file; false (and no target changed) when the file
    // does not hold what this backend would pack for these slots. The file must outlive them.
    bool adopt(const MappedCacheFile& file, Backend& backend, const std::vector<LinearSlot>& slots) const;

    // Packs every slot from its float32 weight. With the cache on, into a new cache file, which
    // is returned mapped (the weights use it in place, as on a hit); when the cache cannot be
    // written (a note says so, once), or is off, into memory, and null is returned.
    std::unique_ptr<MappedCacheFile> pack(const std::string& tower, Backend& backend,
                                          const std::vector<LinearSlot>& slots) const;

    // Notes that a tower's file was unusable and is being rebuilt.
    void note_rebuilt(const std::string& tower, const std::string& why) const;

private:
    // The slots packed, a few blocks at a time, into a new cache file: null (with a note) when
    // it cannot be written; the slots' targets are left alone.
    std::unique_ptr<MappedCacheFile> pack_into_file(const std::string& tower, Backend& backend,
                                                    const std::vector<LinearSlot>& slots) const;
    // A slot's float32 weight ([out, in]); q|k|v stacked into `qkv_storage`.
    static const float* weight_of(const LinearSlot& slot, std::vector<float>& qkv_storage);
    std::filesystem::path path(const std::string& tower, const Backend& backend) const;

    CacheOptions options_;
    std::string model_key_;
    std::string model_name_;
};

}  // namespace zeroclip
