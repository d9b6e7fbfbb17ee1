// NumPy .npy files (format version 1.0) for float32 arrays: what `preprocess` and `embed` write.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace zeroclip {

// The .npy header for a little-endian, C-ordered float32 array of the given shape.
std::string npy_header_f32(const std::vector<int64_t>& shape);

// Writes header + data atomically (temporary file renamed into place); throws naming the path.
void write_npy_f32(const std::filesystem::path& path, const std::vector<int64_t>& shape,
                   const float* data);

struct NpyArray {
    std::vector<int64_t> shape;
    std::vector<float> data;
};

// Reads a float32 (<f4, C order) .npy file; throws naming the path for anything else.
NpyArray read_npy_f32(const std::filesystem::path& path);

}  // namespace zeroclip
