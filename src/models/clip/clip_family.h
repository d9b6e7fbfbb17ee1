// clip_family.h - OpenAI CLIP and OpenCLIP checkpoints in transformers' CLIPModel layout.
#pragma once

#include <filesystem>
#include <memory>

#include "backend/backend.h"
#include "models/registry.h"
#include "zeroclip/model.h"

namespace zeroclip {

ModelFamily clip_family();

// CLIPModel's towers over `backend`, their packed weights kept in `cache` (clip_model.cpp).
std::unique_ptr<ClipModel> load_clip_towers(const std::filesystem::path& model_dir, ClipConfig config,
                                            std::unique_ptr<Backend> backend, CacheOptions cache);

}  // namespace zeroclip
