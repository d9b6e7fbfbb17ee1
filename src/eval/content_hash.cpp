// Content hashes for the embedding cache: of image bytes, and a cheap fingerprint of a model.
#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "eval/eval_util.h"
#include "zeroclip/error.h"
#include "zeroclip/eval.h"
#include "util/regular_file.h"

namespace zeroclip {

namespace {

constexpr uint64_t kMul1 = 0x9E3779B97F4A7C15ull;
constexpr uint64_t kMul2 = 0xC2B2AE3D27D4EB4Full;

uint64_t avalanche(uint64_t x) {
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDull;
    x ^= x >> 33;
    x *= 0xC4CEB9FE1A85EC53ull;
    x ^= x >> 33;
    return x;
}

void append_u64(std::string& out, uint64_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }

void append_field(std::string& out, const std::string& v) {
    append_u64(out, v.size());
    out += v;
}

// Name, size, mtime, JSON header and sampled data windows of one safetensors file.
void append_safetensors_fingerprint(std::string& out, const std::filesystem::path& path) {
    constexpr uint64_t kMaxHeader = 100u << 20;
    constexpr uint64_t kWindows = 64, kWindow = 4096;
    std::error_code ec;
    const uint64_t size = std::filesystem::file_size(path, ec);
    if (ec) throw Error(path.string() + ": cannot stat: " + ec.message());
    const auto mtime = std::filesystem::last_write_time(path, ec);
    if (ec) throw Error(path.string() + ": cannot stat: " + ec.message());
    require_regular_file(path);
    std::ifstream in(path, std::ios::binary);
    unsigned char size_bytes[8];
    if (!in || !in.read(reinterpret_cast<char*>(size_bytes), 8))
        throw Error(path.string() + ": cannot read the safetensors header");
    uint64_t header_size = 0;  // little-endian u64
    for (int i = 7; i >= 0; --i) header_size = header_size << 8 | size_bytes[i];
    if (header_size > kMaxHeader || 8 + header_size > size)
        throw Error(path.string() + ": bad safetensors header size " + std::to_string(header_size));
    std::string header(header_size, '\0');
    if (!in.read(header.data(), static_cast<std::streamsize>(header_size)))
        throw Error(path.string() + ": truncated safetensors header");
    append_field(out, path.filename().string());
    append_u64(out, size);
    append_u64(out, static_cast<uint64_t>(mtime.time_since_epoch().count()));
    append_field(out, header);

    const uint64_t data_begin = 8 + header_size, data_size = size - data_begin;
    const uint64_t window = std::min(kWindow, data_size);
    std::string chunk(window, '\0');
    for (uint64_t i = 0; i < kWindows && window > 0; ++i) {
        const uint64_t offset = data_begin + (data_size - window) * i / (kWindows - 1);
        in.seekg(static_cast<std::streamoff>(offset));
        if (!in.read(chunk.data(), static_cast<std::streamsize>(window)))
            throw Error(path.string() + ": read error at offset " + std::to_string(offset));
        out += chunk;
    }
}

}  // namespace

ContentHash hash_bytes(std::span<const uint8_t> bytes, uint64_t seed) {
    uint64_t a = seed ^ kMul1, b = ~seed ^ kMul2;
    const size_t words = bytes.size() / 8;
    for (size_t i = 0; i < words; ++i) {
        uint64_t w;
        std::memcpy(&w, bytes.data() + 8 * i, 8);
        a = std::rotl(a ^ (w * kMul1), 31) * kMul2;
        b = std::rotl(b + (w * kMul2), 27) * kMul1 + 0x52DCE729u;
    }
    uint64_t tail = 0;
    std::memcpy(&tail, bytes.data() + 8 * words, bytes.size() - 8 * words);
    a = std::rotl(a ^ (tail * kMul1), 31) * kMul2 ^ bytes.size();
    b = std::rotl(b + (tail * kMul2), 27) * kMul1 ^ (bytes.size() * kMul1);
    return {avalanche(a ^ std::rotl(b, 17)), avalanche(b + std::rotl(a, 41))};
}

std::string model_fingerprint(const std::filesystem::path& model_dir) {
    std::vector<std::filesystem::path> weights;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(model_dir, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
        if (it->path().extension() == ".safetensors") weights.push_back(it->path());
    if (ec) throw Error(model_dir.string() + ": cannot list directory: " + ec.message());
    if (weights.empty()) throw Error(model_dir.string() + ": no *.safetensors weights to fingerprint");
    std::sort(weights.begin(), weights.end());

    std::string material = "zeroclip-model-fingerprint-1";
    for (const auto& path : weights) append_safetensors_fingerprint(material, path);
    for (const char* name : {"config.json", "preprocessor_config.json"}) {
        const auto path = model_dir / name;
        append_field(material, name);
        if (std::filesystem::exists(path, ec)) {
            const auto bytes = read_file_bytes(path, 16u << 20);
            append_field(material, std::string(bytes.begin(), bytes.end()));
        }
    }
    const ContentHash h = hash_bytes({reinterpret_cast<const uint8_t*>(material.data()), material.size()});
    char hex[33];
    std::snprintf(hex, sizeof hex, "%016llx%016llx", static_cast<unsigned long long>(h.hi),
                  static_cast<unsigned long long>(h.lo));
    return hex;
}

}  // namespace zeroclip
