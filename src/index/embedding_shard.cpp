// Reading and checking the shards of zeroclip.dask.embed before any of them is imported.
#include "index/embedding_shard.h"

#include <algorithm>
#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "eval/eval_util.h"
#include "index/file_scan.h"
#include "util/npy.h"
#include "zeroclip/error.h"

namespace zeroclip::index {

namespace {

constexpr size_t kMaxShardJsonBytes = size_t{1} << 30;

// The partition number of "shard-NNNNN.json", or -1 for any other name.
long shard_number(const std::string& name) {
    constexpr std::string_view prefix = "shard-", suffix = ".json";
    if (name.size() <= prefix.size() + suffix.size() || name.rfind(prefix, 0) != 0 ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
        return -1;
    const std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
    if (digits.size() > 9 || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return -1;
    return std::stol(digits);
}

std::string shape_text(const std::vector<int64_t>& shape) {
    std::string text = "(";
    for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
    return text + ")";
}

}  // namespace

std::string shard_path_bytes(const nlohmann::json& record) {
    if (record.is_string()) return record.get<std::string>();
    if (!record.is_object() || record.size() != 1 || !record.contains("bytes_hex") || !record["bytes_hex"].is_string())
        throw Error("a path is neither a string nor {\"bytes_hex\": \"...\"}", ErrorKind::InvalidInput);
    const auto& hex = record["bytes_hex"].get_ref<const std::string&>();
    const auto digit = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; };
    const bool hex_digits = std::all_of(hex.begin(), hex.end(), [&](char c) { return digit(c) >= 0; });
    if (hex.empty() || hex.size() % 2 != 0 || !hex_digits)
        throw Error("\"bytes_hex\" is not the lowercase hex digits of a path: \"" + hex.substr(0, 64) + "\"",
                    ErrorKind::InvalidInput);
    std::string bytes;
    for (size_t i = 0; i < hex.size(); i += 2) bytes.push_back(static_cast<char>(digit(hex[i]) * 16 + digit(hex[i + 1])));
    if (bytes.find('\0') != std::string::npos)
        throw Error("\"bytes_hex\" holds a NUL byte, which no path can", ErrorKind::InvalidInput);
    return bytes;
}

std::vector<std::filesystem::path> list_shards(const std::filesystem::path& dir) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
        throw Error(dir.string() + ": not a directory of shards", ErrorKind::NotFound);
    std::vector<std::pair<long, std::filesystem::path>> found;
    for (auto it = std::filesystem::directory_iterator(dir, ec); !ec && it != std::filesystem::directory_iterator();
         it.increment(ec)) {
        const long n = shard_number(it->path().filename().string());
        if (n >= 0) found.emplace_back(n, it->path());
    }
    if (ec) throw Error(dir.string() + ": cannot list: " + ec.message());
    if (found.empty())
        throw Error(dir.string() + ": no shards (shard-NNNNN.json) to import", ErrorKind::InvalidInput);
    std::sort(found.begin(), found.end());
    std::vector<std::filesystem::path> out;
    for (auto& [n, path] : found) out.push_back(std::move(path));
    return out;
}

EmbeddingShard read_shard(const std::filesystem::path& json_path) {
    const std::string where = json_path.string() + ": ";
    const auto bytes = read_file_bytes(json_path, kMaxShardJsonBytes);
    nlohmann::json meta;
    try {
        meta = nlohmann::json::parse(bytes.begin(), bytes.end());
    } catch (const nlohmann::json::exception& e) {
        throw Error(where + "not a shard's JSON (" + e.what() + ")", ErrorKind::InvalidInput);
    }
    if (!meta.is_object() || !meta.contains("paths"))
        throw Error(where + "not a zeroclip.dask shard (no \"paths\")", ErrorKind::InvalidInput);
    if (!meta.contains("fingerprint") || !meta.contains("files"))
        throw Error(where + "written by an older zeroclip.dask, without the model fingerprint; rerun "
                            "zeroclip.dask.embed with the same arguments to rewrite it",
                    ErrorKind::InvalidInput);

    const auto path_at = [&](const nlohmann::json& record) {
        try {
            return shard_path_bytes(record);
        } catch (const Error& e) {
            throw Error(where + e.what(), e.kind());
        }
    };
    EmbeddingShard shard;
    shard.json = json_path;
    shard.npy = json_path;
    shard.npy.replace_extension(".npy");
    try {
        shard.model.id = path_at(meta.at("model"));  // a hub id or a model directory
        shard.model.fingerprint = meta.at("fingerprint").get<std::string>();
        shard.model.precision = meta.at("precision").get<std::string>();
        shard.model.dim = meta.at("dim").get<int>();
        const std::filesystem::path cwd = path_at(meta.at("cwd"));
        if (!cwd.is_absolute()) throw Error(where + "\"cwd\" is not an absolute path", ErrorKind::InvalidInput);
        const auto& paths = meta.at("paths");
        const auto& files = meta.at("files");
        if (!paths.is_array() || !files.is_array() || files.size() != paths.size())
            throw Error(where + std::to_string(paths.size()) + " paths but " + std::to_string(files.size()) +
                        " file records", ErrorKind::InvalidInput);
        shard.rows.reserve(paths.size());
        for (size_t i = 0; i < paths.size(); ++i) {
            const auto& file = files[i];
            if (!file.is_array() || file.size() != 2)
                throw Error(where + "file record " + std::to_string(i) + " is not [size, mtime_ns]",
                            ErrorKind::InvalidInput);
            const std::filesystem::path path = path_at(paths[i]);
            shard.rows.push_back({normal_path(path.is_absolute() ? path : cwd / path), file[0].get<int64_t>(),
                                  file[1].get<int64_t>()});
        }
        for (const auto& f : meta.value("failed", nlohmann::json::array()))
            shard.failed.push_back({path_at(f.at("path")), f.at("error").get<std::string>()});
    } catch (const nlohmann::json::exception& e) {
        throw Error(where + "malformed shard record (" + e.what() + ")", ErrorKind::InvalidInput);
    }

    NpyHeader header;
    try {
        header = read_npy_f32_header(shard.npy);
    } catch (const Error& e) {
        throw Error(e.what(), ErrorKind::InvalidInput);
    }
    const std::string npy = shard.npy.string() + ": ";
    if (header.shape.size() != 2 || header.shape[1] != shard.model.dim)
        throw Error(npy + "vectors of shape " + shape_text(header.shape) + ", expected (rows, " +
                        std::to_string(shard.model.dim) + ")",
                    ErrorKind::InvalidInput);
    if (static_cast<size_t>(header.shape[0]) != shard.rows.size())
        throw Error(npy + std::to_string(header.shape[0]) + " rows, but " + json_path.filename().string() + " lists " +
                    std::to_string(shard.rows.size()) + " paths", ErrorKind::InvalidInput);
    std::error_code ec;
    const uint64_t size = std::filesystem::file_size(shard.npy, ec);
    if (ec || size != header.data_offset + header.count * sizeof(float))
        throw Error(npy + "damaged (" + std::to_string(size) + " bytes, its shape needs " +
                    std::to_string(header.data_offset + header.count * sizeof(float)) + ")", ErrorKind::InvalidInput);
    shard.data_offset = header.data_offset;
    return shard;
}

std::vector<float> read_shard_vectors(const EmbeddingShard& shard) {
    std::vector<float> values(shard.rows.size() * static_cast<size_t>(shard.model.dim));
    std::ifstream in(shard.npy, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(shard.data_offset));
    const auto wanted = static_cast<std::streamsize>(values.size() * sizeof(float));
    if (!in || !in.read(reinterpret_cast<char*>(values.data()), wanted) || in.peek() != std::char_traits<char>::eof())
        throw Error(shard.npy.string() + ": changed while being imported (rerun the import)");
    for (size_t i = 0; i < values.size(); ++i)
        if (!std::isfinite(values[i]))
            throw Error(shard.npy.string() + ": row " + std::to_string(i / shard.model.dim) +
                            " holds a value that is not finite", ErrorKind::InvalidInput);
    return values;
}

}  // namespace zeroclip::index
