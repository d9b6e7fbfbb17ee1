// siglip_family.h - Google's SigLIP (google/siglip-*) in transformers' SiglipModel layout:
// sigmoid scores with a learned bias, an attention-pooling vision head, a SentencePiece tokenizer.
#pragma once

#include <filesystem>
#include <memory>

#include "backend/backend.h"
#include "models/registry.h"
#include "zeroclip/model.h"

namespace zeroclip {

ModelFamily siglip_family();

// SiglipConfig's defaults (a real google/siglip-* config.json leaves most of them out).
ClipConfig siglip_default_config();

// SiglipImageProcessor: resize to exactly size.height x size.width (no aspect kept, no crop),
// rescale 1/255, normalise with mean = std = 0.5; its defaults sized by `image_size` when the
// file or a key is absent.
PreprocessConfig load_siglip_preprocess(const std::filesystem::path& model_dir, int image_size);

// SiglipModel's towers over `backend`, their packed weights kept in `cache` (siglip_model.cpp).
std::unique_ptr<ClipModel> load_siglip_towers(const std::filesystem::path& model_dir, ClipConfig config,
                                              std::unique_ptr<Backend> backend, CacheOptions cache);

}  // namespace zeroclip
