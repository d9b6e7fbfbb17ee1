// zeroclip/model.h - a model family's image and text towers (CLIP, SigLIP).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "zeroclip/cache.h"
#include "zeroclip/config.h"

namespace zeroclip {

enum class Precision { Fp32, Bf16, Int8 };

// "fp32", "bf16", "int8", and back; parse_precision throws (InvalidInput) naming an unknown one.
std::string precision_name(Precision precision);
Precision parse_precision(const std::string& name);

// Where the towers run. Auto: the first CUDA GPU when one is usable, otherwise the CPU.
enum class Device { Cpu, Cuda, Auto };

// "cpu", "cuda", "auto"; throws (InvalidInput) naming an unknown one.
Device parse_device(const std::string& name);

struct ModelOptions {
    Precision precision = Precision::Fp32;
    int threads = 0;  // 0: all cores
    Device device = Device::Cpu;
    // The packed-weight cache (zeroclip/cache.h); `enabled = false` packs on every load.
    CacheOptions cache{};
};

// How a family turns the cosine similarity of an image and a text into a score: CLIP takes a
// softmax over the labels of logit_scale * cos; SigLIP scores each label on its own with
// sigmoid(logit_scale * cos + logit_bias) (multi-label: the scores need not sum to 1).
enum class ScoreFunction { Softmax, Sigmoid };

struct Scoring {
    ScoreFunction function = ScoreFunction::Softmax;
    float logit_scale = 100.0f;  // exp'd
    float logit_bias = 0.0f;
};

// Row-major float32 matrix.
struct Matrix {
    int rows = 0;
    int cols = 0;
    std::vector<float> data;
    float* row(int r) { return data.data() + static_cast<size_t>(r) * cols; }
    const float* row(int r) const { return data.data() + static_cast<size_t>(r) * cols; }
};

class ClipModel {
public:
    // Loads `config.json` and `model.safetensors` (or a sharded `model.safetensors.index.json`)
    // from a Hugging Face model directory, validating every tensor's presence, dtype and shape.
    // config.json's model_type / architectures pick the family (src/models/registry.cpp).
    static std::unique_ptr<ClipModel> load(const std::filesystem::path& model_dir,
                                           const ModelOptions& options = {});
    virtual ~ClipModel() = default;

    virtual const ClipConfig& config() const = 0;

    // pixel_values: n images, float32 [n, 3, image_size, image_size].
    // Returns [n, projection_dim] = get_image_features (projected, not normalised).
    virtual Matrix encode_images(const float* pixel_values, int n) = 0;

    // Token id sequences (with start/end tokens, each <= max_position_embeddings long).
    // Returns [n, projection_dim] = get_text_features (projected, not normalised).
    virtual Matrix encode_texts(const std::vector<std::vector<int32_t>>& token_ids) = 0;

    // exp(logit_scale), the temperature applied to cosine similarities.
    virtual float logit_scale() const = 0;

    // The bias added to the scaled similarities before a sigmoid (0 for softmax families).
    virtual float logit_bias() const { return 0.0f; }

    // The precision the towers run in: the one asked for, unless the hardware cannot run it
    // natively (then fp32, and precision_note() says why).
    virtual Precision precision() const = 0;
    virtual std::string precision_note() const = 0;

    // The compute kernels in use, e.g. "brg:avx512_core_bf16" (oneDNN's names) (for benchmarks and logs).
    virtual std::string kernel_info() const = 0;

    // The cache this model uses, and a key that names the text tower's numbers (model content,
    // backend, ISA, precision) for results derived from it, such as label embeddings. Null and
    // empty when caching is off or the model does not cache (CUDA).
    virtual const CacheOptions* cache() const { return nullptr; }
    virtual std::string text_tower_key() const { return {}; }
};

}  // namespace zeroclip
