// Reading an image file and dispatching on its content (not its name) to a format decoder.
#include <cstring>
#include <fstream>

#include "image/decoders.h"
#include "image/image_limits.h"
#include "zeroclip/error.h"
#include "util/regular_file.h"

namespace zeroclip {

namespace {

bool starts_with(std::span<const uint8_t> bytes, const char* magic, size_t offset = 0) {
    const size_t n = std::strlen(magic);
    return bytes.size() >= offset + n && std::memcmp(bytes.data() + offset, magic, n) == 0;
}

// Files larger than this are rejected before reading: no supported image legitimately needs it.
constexpr std::uintmax_t kMaxFileBytes = 1ull << 30;

RgbImage decode_by_content(std::span<const uint8_t> bytes, const std::string& name) {
    if (bytes.empty()) throw Error(name + ": empty image file");
    if (starts_with(bytes, "\xFF\xD8\xFF")) return image::decode_jpeg(bytes, name);
    if (starts_with(bytes, "\x89PNG\r\n\x1A\n")) return image::decode_png(bytes, name);
    if (starts_with(bytes, "RIFF") && starts_with(bytes, "WEBP", 8)) return image::decode_webp(bytes, name);
    if (starts_with(bytes, "GIF87a") || starts_with(bytes, "GIF89a")) return image::decode_gif(bytes, name);
    if (starts_with(bytes, "BM")) return image::decode_bmp(bytes, name);
    throw Error(name + ": unknown image format (expected JPEG, PNG, WebP, GIF or BMP)");
}

}  // namespace

RgbImage decode_image(std::span<const uint8_t> bytes, const std::string& name) {
    try {
        return decode_by_content(bytes, name);
    } catch (const image::ImageTooLarge&) {
        throw;  // keeps its type: the server answers 413 for it, not 400
    } catch (const Error& e) {
        // Whatever a decoder rejects is the caller's data, not a fault of the library.
        throw Error(e.what(), ErrorKind::InvalidInput);
    }
}

RgbImage read_image(const std::filesystem::path& path) {
    const std::string name = path.string();
    require_regular_file(path);
    std::error_code ec;
    const std::uintmax_t size = std::filesystem::file_size(path, ec);
    if (ec)
        throw Error(name + ": cannot read image file: " + ec.message(),
                    ec == std::errc::no_such_file_or_directory ? ErrorKind::NotFound : ErrorKind::Failure);
    if (size > kMaxFileBytes)
        throw Error(name + ": image file too large (" + std::to_string(size) + " bytes)", ErrorKind::InvalidInput);
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(name + ": cannot open image file");
    std::vector<uint8_t> bytes(size);
    if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size))) {
        throw Error(name + ": cannot read image file");
    }
    return decode_image(bytes, name);
}

}  // namespace zeroclip
