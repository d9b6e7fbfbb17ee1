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

struct NpyHeader {
    std::vector<int64_t> shape;
    uint64_t data_offset = 0;  // where the values begin
    uint64_t count = 0;        // values (the product of shape)
};

// The header of a float32 (<f4, C order) .npy file, without reading its data; throws naming the
// path for another dtype or layout, and when the file is shorter than its shape says.
NpyHeader read_npy_f32_header(const std::filesystem::path& path);

}  // namespace zeroclip
