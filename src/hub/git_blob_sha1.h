// hub/git_blob_sha1.h - the git blob id of a file, sha1("blob <size>\0" + bytes): the ETag the
// Hub gives files stored in git rather than LFS (config.json, vocab.json, ...), so that those
// downloads are verified too before they enter the cache.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace zeroclip::hub {

// SHA-1 (FIPS 180-4). Used only to check integrity against git's ids, not for security.
class Sha1 {
public:
    Sha1();
    void update(const void* data, size_t size);
    // The digest as 40 lowercase hex digits; the object is spent afterwards.
    std::string hex_digest();

private:
    void compress(const uint8_t* block);

    std::array<uint32_t, 5> state_;
    std::array<uint8_t, 64> buffer_{};
    size_t buffered_ = 0;
    uint64_t total_bytes_ = 0;
};

std::string git_blob_sha1(const std::string& bytes);
// Of a whole file; throws naming the file on a read error.
std::string git_blob_sha1_file(const std::filesystem::path& path);

}  // namespace zeroclip::hub
