// safetensors.h - reading Hugging Face safetensors files (single or sharded), memory mapped.
//
// Format: u64 little-endian header length N, N bytes of JSON header
// {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}},
// then the data region that the offsets index.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace zeroclip {

// Every dtype of the safetensors spec: all can be skipped, only F32/F16/BF16 can be loaded.
enum class DType { F64, F32, F16, BF16, F8_E4M3, F8_E5M2, I64, I32, I16, I8, U64, U32, U16, U8, Bool };

const char* dtype_name(DType dtype);
size_t dtype_size(DType dtype);

inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100u << 20;

struct TensorInfo {
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    uint64_t begin = 0;  // byte offsets into the data region
    uint64_t end = 0;
    int64_t numel() const;
};

// The parsed header of one file: tensor descriptions and where the data region starts.
struct SafetensorsHeader {
    uint64_t data_start = 0;
    std::map<std::string, TensorInfo> tensors;
};

// Parses and validates the header of a whole safetensors file held in `file`: bounded header
// length, JSON object, known dtypes, shapes, offsets inside the data region, non-overlapping and
// sized shape x dtype. `name` is used in error messages. Throws zeroclip::Error.
SafetensorsHeader parse_safetensors(std::span<const uint8_t> file, const std::string& name);

// A float32 view of a tensor: pointing into the mapped file (zero copy) or into `owned`.
struct FloatTensor {
    std::vector<int64_t> shape;
    const float* data = nullptr;
    std::vector<float> owned;
    int64_t numel() const;
};

class MappedFile;

// The tensors of a model: `model.safetensors`, or the shards listed by
// `model.safetensors.index.json`. Keeps the files mapped while alive.
class TensorStore {
public:
    static TensorStore open_directory(const std::filesystem::path& model_dir);
    static TensorStore open_file(const std::filesystem::path& path);

    TensorStore(TensorStore&&) noexcept;
    TensorStore& operator=(TensorStore&&) noexcept;
    ~TensorStore();

    bool contains(const std::string& tensor) const;
    const TensorInfo& info(const std::string& tensor) const;  // throws when missing

    // Loads a tensor as float32 (F16/BF16 converted); throws naming the tensor when it is
    // missing, of another dtype or not of `expected_shape`.
    FloatTensor load_f32(const std::string& tensor, const std::vector<int64_t>& expected_shape) const;
    // The checks of load_f32 without reading the tensor's data.
    void check_f32(const std::string& tensor, const std::vector<int64_t>& expected_shape) const;

    // File the tensors came from, for error messages.
    const std::string& source() const { return source_; }

private:
    TensorStore();
    struct Entry {
        const MappedFile* file;
        const TensorInfo* info;
    };
    std::string source_;
    std::vector<std::unique_ptr<MappedFile>> files_;
    std::map<std::string, Entry> entries_;
};

}  // namespace zeroclip
