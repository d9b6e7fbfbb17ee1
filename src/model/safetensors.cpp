// safetensors reader: header validation, memory mapping, sharded indexes, F16/BF16 -> F32.
#include "model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "zeroclip/error.h"
#include "util/regular_file.h"

namespace zeroclip {

namespace {

using json = nlohmann::json;

struct DTypeName {
    const char* name;
    DType dtype;
    size_t size;
};

constexpr DTypeName kDTypes[] = {
    {"F64", DType::F64, 8},         {"F32", DType::F32, 4},         {"F16", DType::F16, 2},
    {"BF16", DType::BF16, 2},       {"F8_E4M3", DType::F8_E4M3, 1}, {"F8_E5M2", DType::F8_E5M2, 1},
    {"I64", DType::I64, 8},         {"I32", DType::I32, 4},         {"I16", DType::I16, 2},
    {"I8", DType::I8, 1},           {"U64", DType::U64, 8},         {"U32", DType::U32, 4},
    {"U16", DType::U16, 2},         {"U8", DType::U8, 1},           {"BOOL", DType::Bool, 1},
};

// Names come from untrusted files: keep messages single-line and short.
std::string printable(const std::string& text) {
    std::string out;
    for (char c : text.substr(0, 200)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
    if (text.size() > 200) out += "...";
    return out;
}

std::string shape_string(const std::vector<int64_t>& shape) {
    std::string out = "[";
    for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
    return out + "]";
}

// Reads a non-negative integer no larger than `limit`, or throws `what`.
uint64_t read_u64(const json& value, uint64_t limit, const std::string& what) {
    if (!value.is_number_integer()) throw Error(what + ": expected a non-negative integer");
    if (!value.is_number_unsigned() && value.get<int64_t>() < 0) {
        throw Error(what + ": expected a non-negative integer");
    }
    const uint64_t v = value.get<uint64_t>();
    if (v > limit) throw Error(what + ": " + std::to_string(v) + " is out of range");
    return v;
}

TensorInfo parse_tensor(const json& entry, uint64_t data_size, const std::string& where) {
    if (!entry.is_object()) throw Error(where + ": expected an object");
    TensorInfo info;

    auto dtype = entry.find("dtype");
    if (dtype == entry.end() || !dtype->is_string()) throw Error(where + ": missing string \"dtype\"");
    const std::string& dtype_text = dtype->get_ref<const std::string&>();
    auto known = std::find_if(std::begin(kDTypes), std::end(kDTypes),
                              [&](const DTypeName& d) { return dtype_text == d.name; });
    if (known == std::end(kDTypes)) throw Error(where + ": unknown dtype \"" + printable(dtype_text) + "\"");
    info.dtype = known->dtype;

    auto shape = entry.find("shape");
    if (shape == entry.end() || !shape->is_array()) throw Error(where + ": missing array \"shape\"");
    if (shape->size() > 8) throw Error(where + ": shape has too many dimensions");
    // The byte size is checked against the data region before each product: no overflow.
    uint64_t bytes = known->size;
    bool empty = false;
    bool too_large = false;
    for (const json& dim : *shape) {
        const uint64_t d = read_u64(dim, uint64_t(1) << 40, where + ": shape");
        info.shape.push_back(static_cast<int64_t>(d));
        if (d == 0) empty = true;
        else if (d > data_size / bytes) too_large = true;
        else bytes *= d;
    }
    if (empty) bytes = 0;
    else if (too_large) throw Error(where + ": shape " + shape_string(info.shape) + " exceeds the file");

    auto offsets = entry.find("data_offsets");
    if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2) {
        throw Error(where + ": missing \"data_offsets\" [begin, end]");
    }
    info.begin = read_u64((*offsets)[0], UINT64_MAX, where + ": data_offsets");
    info.end = read_u64((*offsets)[1], UINT64_MAX, where + ": data_offsets");
    if (info.begin > info.end || info.end > data_size) {
        throw Error(where + ": data_offsets [" + std::to_string(info.begin) + ", " +
                    std::to_string(info.end) + "] outside the data region of " +
                    std::to_string(data_size) + " bytes");
    }
    if (info.end - info.begin != bytes) {
        throw Error(where + ": data_offsets span " + std::to_string(info.end - info.begin) +
                    " bytes but " + dtype_text + " " + shape_string(info.shape) + " needs " +
                    std::to_string(bytes));
    }
    return info;
}

float f16_to_f32(uint16_t h) {
    const uint32_t sign = uint32_t(h & 0x8000) << 16;
    const uint32_t exponent = (h >> 10) & 0x1f;
    const uint32_t mantissa = h & 0x3ff;
    if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24, exact in float
        const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
        return sign ? -magnitude : magnitude;
    }
    const uint32_t bits = exponent == 0x1f ? sign | 0x7f800000u | (mantissa << 13)  // inf / nan
                                           : sign | ((exponent + 112) << 23) | (mantissa << 13);
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

std::string read_small_file(const std::filesystem::path& path, size_t limit) {
    require_regular_file(path);
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path.string() + ": cannot open");
    std::string text;
    char buffer[65536];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
        text.append(buffer, static_cast<size_t>(in.gcount()));
        if (text.size() > limit) throw Error(path.string() + ": file too large");
    }
    if (in.bad()) throw Error(path.string() + ": read error");
    return text;
}

}  // namespace

const char* dtype_name(DType dtype) {
    for (const DTypeName& d : kDTypes) {
        if (d.dtype == dtype) return d.name;
    }
    return "?";
}

size_t dtype_size(DType dtype) {
    for (const DTypeName& d : kDTypes) {
        if (d.dtype == dtype) return d.size;
    }
    return 0;
}

int64_t TensorInfo::numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

int64_t FloatTensor::numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

SafetensorsHeader parse_safetensors(std::span<const uint8_t> file, const std::string& name) {
    if (file.size() < 8) {
        throw Error(name + ": truncated safetensors file (" + std::to_string(file.size()) + " bytes)");
    }
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | file[i];
    if (header_len > kMaxSafetensorsHeaderBytes) {
        throw Error(name + ": safetensors header length " + std::to_string(header_len) +
                    " exceeds the 100 MB limit");
    }
    if (header_len > file.size() - 8) {
        throw Error(name + ": truncated safetensors file: header of " + std::to_string(header_len) +
                    " bytes but only " + std::to_string(file.size() - 8) + " follow");
    }
    const char* text = reinterpret_cast<const char*>(file.data() + 8);
    // The format forbids a tensor name twice; nlohmann would keep the last one silently.
    std::set<std::string> names;
    std::string duplicate;
    const json::parser_callback_t check_duplicates = [&](int depth, json::parse_event_t event, json& parsed) {
        if (event == json::parse_event_t::key && depth == 1 && duplicate.empty() &&
            !names.insert(parsed.get<std::string>()).second)
            duplicate = parsed.get<std::string>();
        return true;
    };
    const json header = json::parse(text, text + header_len, check_duplicates, /*allow_exceptions=*/false);
    if (!duplicate.empty()) throw Error(name + ": tensor " + printable(duplicate) + " appears twice in the safetensors header");
    if (header.is_discarded()) throw Error(name + ": safetensors header is not valid JSON");
    if (!header.is_object()) throw Error(name + ": safetensors header is not a JSON object");

    SafetensorsHeader result;
    result.data_start = 8 + header_len;
    const uint64_t data_size = file.size() - result.data_start;
    for (const auto& [key, entry] : header.items()) {
        if (key == "__metadata__") continue;
        result.tensors.emplace(key, parse_tensor(entry, data_size, name + ": tensor " + printable(key)));
    }

    std::vector<const std::pair<const std::string, TensorInfo>*> order;
    for (const auto& item : result.tensors) order.push_back(&item);
    std::sort(order.begin(), order.end(), [](auto* a, auto* b) {
        return std::tie(a->second.begin, a->second.end) < std::tie(b->second.begin, b->second.end);
    });
    for (size_t i = 1; i < order.size(); ++i) {
        if (order[i]->second.begin < order[i - 1]->second.end) {
            throw Error(name + ": tensors " + printable(order[i - 1]->first) + " and " +
                        printable(order[i]->first) + " overlap");
        }
    }
    return result;
}

// A read-only memory mapping of one safetensors file and its parsed header.
class MappedFile {
public:
    explicit MappedFile(const std::filesystem::path& path) : name_(path.string()) {
        // O_NONBLOCK: a FIFO fails the regular-file check below instead of waiting for a writer.
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0) throw Error(name_ + ": cannot open: " + std::strerror(errno));
        struct stat st {};
        if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            ::close(fd);
            throw Error(name_ + ": not a regular file");
        }
        size_ = static_cast<size_t>(st.st_size);
        if (size_ > 0) {
            void* map = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
            if (map == MAP_FAILED) {
                ::close(fd);
                throw Error(name_ + ": cannot map: " + std::strerror(errno));
            }
            data_ = static_cast<const uint8_t*>(map);
        }
        ::close(fd);
        try {
            header_ = parse_safetensors({data_, size_}, name_);
        } catch (...) {
            if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
            throw;
        }
    }
    ~MappedFile() {
        if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
    }
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const std::string& name() const { return name_; }
    const SafetensorsHeader& header() const { return header_; }
    const uint8_t* tensor_data(const TensorInfo& info) const { return data_ + header_.data_start + info.begin; }

private:
    std::string name_;
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
    SafetensorsHeader header_;
};

TensorStore::TensorStore() = default;
TensorStore::TensorStore(TensorStore&&) noexcept = default;
TensorStore& TensorStore::operator=(TensorStore&&) noexcept = default;
TensorStore::~TensorStore() = default;

TensorStore TensorStore::open_file(const std::filesystem::path& path) {
    TensorStore store;
    store.source_ = path.string();
    store.files_.push_back(std::make_unique<MappedFile>(path));
    const MappedFile* file = store.files_.back().get();
    for (const auto& [name, info] : file->header().tensors) store.entries_[name] = {file, &info};
    return store;
}

TensorStore TensorStore::open_directory(const std::filesystem::path& model_dir) {
    const auto single = model_dir / "model.safetensors";
    const auto index_path = model_dir / "model.safetensors.index.json";
    if (std::filesystem::exists(single)) return open_file(single);
    if (!std::filesystem::exists(index_path)) {
        throw Error(model_dir.string() + ": no model.safetensors or model.safetensors.index.json");
    }

    TensorStore store;
    store.source_ = index_path.string();
    const json index = json::parse(read_small_file(index_path, kMaxSafetensorsHeaderBytes), nullptr, false);
    if (index.is_discarded() || !index.is_object()) throw Error(store.source_ + ": not a JSON object");
    auto weight_map = index.find("weight_map");
    if (weight_map == index.end() || !weight_map->is_object()) {
        throw Error(store.source_ + ": missing object \"weight_map\"");
    }
    std::map<std::string, const MappedFile*> shards;
    for (const auto& [tensor, shard] : weight_map->items()) {
        const std::string where = store.source_ + ": weight_map." + printable(tensor);
        if (!shard.is_string()) throw Error(where + ": expected a shard file name");
        const std::string& shard_name = shard.get_ref<const std::string&>();
        // Shards must sit beside the index: no paths, no escaping the model directory.
        if (shard_name.empty() || shard_name == "." || shard_name == ".." ||
            shard_name.find_first_of("/\\") != std::string::npos) {
            throw Error(where + ": invalid shard file name \"" + printable(shard_name) + "\"");
        }
        auto it = shards.find(shard_name);
        if (it == shards.end()) {
            store.files_.push_back(std::make_unique<MappedFile>(model_dir / shard_name));
            it = shards.emplace(shard_name, store.files_.back().get()).first;
        }
        const auto& tensors = it->second->header().tensors;
        auto info = tensors.find(tensor);
        if (info == tensors.end()) {
            throw Error(it->second->name() + ": tensor " + printable(tensor) +
                        " listed in the index is not in this shard");
        }
        store.entries_[tensor] = {it->second, &info->second};
    }
    return store;
}

bool TensorStore::contains(const std::string& tensor) const { return entries_.count(tensor) != 0; }

const TensorInfo& TensorStore::info(const std::string& tensor) const {
    auto it = entries_.find(tensor);
    if (it == entries_.end()) throw Error(source_ + ": tensor " + tensor + " is missing");
    return *it->second.info;
}

void TensorStore::check_f32(const std::string& tensor, const std::vector<int64_t>& expected_shape) const {
    auto it = entries_.find(tensor);
    if (it == entries_.end()) throw Error(source_ + ": tensor " + tensor + " is missing");
    const MappedFile& file = *it->second.file;
    const TensorInfo& info = *it->second.info;
    if (info.dtype != DType::F32 && info.dtype != DType::F16 && info.dtype != DType::BF16) {
        throw Error(file.name() + ": tensor " + tensor + " has dtype " + dtype_name(info.dtype) +
                    " (expected F32, F16 or BF16)");
    }
    if (info.shape != expected_shape) {
        throw Error(file.name() + ": tensor " + tensor + " has shape " + shape_string(info.shape) +
                    ", expected " + shape_string(expected_shape) + " from config.json");
    }
}

FloatTensor TensorStore::load_f32(const std::string& tensor,
                                  const std::vector<int64_t>& expected_shape) const {
    check_f32(tensor, expected_shape);
    const auto it = entries_.find(tensor);
    const MappedFile& file = *it->second.file;
    const TensorInfo& info = *it->second.info;

    FloatTensor out;
    out.shape = info.shape;
    const size_t n = static_cast<size_t>(info.numel());
    const uint8_t* src = file.tensor_data(info);
    switch (info.dtype) {
    case DType::F32:
        if (reinterpret_cast<uintptr_t>(src) % alignof(float) == 0) {
            out.data = reinterpret_cast<const float*>(src);  // zero copy from the mapping
            return out;
        }
        out.owned.resize(n);
        std::memcpy(out.owned.data(), src, n * sizeof(float));
        break;
    case DType::F16:
    case DType::BF16: {
        out.owned.resize(n);
        for (size_t i = 0; i < n; ++i) {
            const uint16_t h = static_cast<uint16_t>(src[2 * i] | (src[2 * i + 1] << 8));
            if (info.dtype == DType::F16) {
                out.owned[i] = f16_to_f32(h);
            } else {
                const uint32_t bits = uint32_t(h) << 16;
                std::memcpy(&out.owned[i], &bits, sizeof(float));
            }
        }
        break;
    }
    default:
        break;  // rejected above
    }
    out.data = out.owned.data();
    return out;
}

}  // namespace zeroclip
