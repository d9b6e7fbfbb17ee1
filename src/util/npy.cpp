#include "util/npy.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <regex>

#include "util/atomic_file.h"
#include "zeroclip/error.h"
#include "util/regular_file.h"

namespace zeroclip {

namespace {
constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
}  // namespace

std::string npy_header_f32(const std::vector<int64_t>& shape) {
    std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
    for (size_t i = 0; i < shape.size(); ++i) {
        dict += std::to_string(shape[i]);
        if (shape.size() == 1 || i + 1 < shape.size()) dict += ",";
        if (i + 1 < shape.size()) dict += " ";
    }
    dict += "), }";
    // Magic (6) + version (2) + length (2) + dict + padding + '\n' is a multiple of 64.
    const size_t unpadded = kMagicLen + 4 + dict.size() + 1;
    dict.append((64 - unpadded % 64) % 64, ' ');
    dict += '\n';
    std::string header(kMagic, kMagicLen);
    header += '\x01';
    header += '\x00';
    header += static_cast<char>(dict.size() & 0xff);
    header += static_cast<char>((dict.size() >> 8) & 0xff);
    return header + dict;
}

void write_npy_f32(const std::filesystem::path& path, const std::vector<int64_t>& shape,
                   const float* data) {
    size_t count = 1;
    for (int64_t d : shape) count *= static_cast<size_t>(d);
    AtomicFile file(path);
    const std::string header = npy_header_f32(shape);
    file.stream().write(header.data(), static_cast<std::streamsize>(header.size()));
    file.stream().write(reinterpret_cast<const char*>(data),
                        static_cast<std::streamsize>(count * sizeof(float)));
    file.commit();
}

namespace {

NpyHeader parse_header(std::istream& in, const std::filesystem::path& path) {
    char prefix[10];
    if (!in.read(prefix, 10) || std::memcmp(prefix, kMagic, kMagicLen) != 0)
        throw Error(path.string() + ": not a .npy file");
    size_t header_len = static_cast<uint8_t>(prefix[8]) | (static_cast<uint8_t>(prefix[9]) << 8);
    uint64_t offset = 10;
    if (prefix[6] != 1) {  // versions 2 and 3 have a 4-byte header length
        char more[2];
        if (!in.read(more, 2)) throw Error(path.string() + ": truncated .npy header");
        header_len |= (static_cast<size_t>(static_cast<uint8_t>(more[0])) << 16) |
                      (static_cast<size_t>(static_cast<uint8_t>(more[1])) << 24);
        offset = 12;
    }
    if (header_len > (1u << 20)) throw Error(path.string() + ": .npy header too large");
    std::string dict(header_len, '\0');
    if (!in.read(dict.data(), static_cast<std::streamsize>(header_len)))
        throw Error(path.string() + ": truncated .npy header");
    if (dict.find("'descr': '<f4'") == std::string::npos ||
        dict.find("'fortran_order': False") == std::string::npos)
        throw Error(path.string() + ": only little-endian float32 C-order .npy is supported");
    std::smatch m;
    if (!std::regex_search(dict, m, std::regex("'shape': \\(([0-9, ]*)\\)")))
        throw Error(path.string() + ": .npy header has no shape");
    NpyHeader header;
    header.data_offset = offset + header_len;
    size_t count = 1;  // bounds the product of the non-zero dimensions
    uint64_t values = 1;
    int64_t dim = -1;
    for (const char c : m[1].str() + ",") {
        if (c >= '0' && c <= '9') {
            dim = (dim < 0 ? 0 : dim) * 10 + (c - '0');
            if (dim > (int64_t{1} << 40)) throw Error(path.string() + ": .npy shape too large");
        } else if (c == ',' && dim >= 0) {
            header.shape.push_back(dim);
            // Checked before multiplying: a product past 2^64 would wrap to a small count.
            if (static_cast<size_t>(std::max<int64_t>(dim, 1)) > (size_t{1} << 34) / count)
                throw Error(path.string() + ": .npy shape too large");
            count *= static_cast<size_t>(std::max<int64_t>(dim, 1));
            values *= static_cast<uint64_t>(dim);
            dim = -1;
        }
    }
    header.count = values;
    return header;
}

}  // namespace

NpyArray read_npy_f32(const std::filesystem::path& path) {
    require_regular_file(path);
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path.string() + ": cannot open");
    NpyHeader header = parse_header(in, path);
    NpyArray array;
    array.shape = std::move(header.shape);
    array.data.resize(header.count);
    if (!in.read(reinterpret_cast<char*>(array.data.data()),
                 static_cast<std::streamsize>(header.count * sizeof(float))))
        throw Error(path.string() + ": truncated .npy data");
    return array;
}

NpyHeader read_npy_f32_header(const std::filesystem::path& path) {
    require_regular_file(path);
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path.string() + ": cannot open");
    NpyHeader header = parse_header(in, path);
    std::error_code ec;
    const uint64_t size = std::filesystem::file_size(path, ec);
    if (ec) throw Error(path.string() + ": cannot stat: " + ec.message());
    const uint64_t data_bytes = size - std::min<uint64_t>(size, header.data_offset);
    if (data_bytes < header.count * sizeof(float))
        throw Error(path.string() + ": truncated .npy data (" + std::to_string(data_bytes) + " bytes, the shape needs " +
                    std::to_string(header.count * sizeof(float)) + ")");
    return header;
}

}  // namespace zeroclip
