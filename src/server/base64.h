// server/base64.h - standard base64 (RFC 4648, with padding), for data: URLs and OpenAI's
// encoding_format "base64".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zeroclip::server {

std::string base64_encode(const void* data, size_t size);

// Strict: only the standard alphabet, padding only at the end, length a multiple of 4
// (whitespace is not allowed). nullopt for anything else.
std::optional<std::vector<uint8_t>> base64_decode(std::string_view text);

}  // namespace zeroclip::server
