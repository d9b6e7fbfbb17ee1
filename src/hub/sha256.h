// hub/sha256.h - SHA-256 (FIPS 180-4), to check LFS downloads against the Hub's X-Linked-Etag.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace zeroclip::hub {

class Sha256 {
public:
    Sha256();
    void update(const void* data, size_t size);
    // The digest as 64 lowercase hex digits; the object is spent afterwards.
    std::string hex_digest();

private:
    void compress(const uint8_t* block);

    std::array<uint32_t, 8> state_;
    std::array<uint8_t, 64> buffer_{};
    size_t buffered_ = 0;
    uint64_t total_bytes_ = 0;
};

// Hex digest of a whole file; throws naming the file on a read error.
std::string sha256_file(const std::filesystem::path& path);

}  // namespace zeroclip::hub
