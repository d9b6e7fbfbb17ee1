// Loading models: safetensors parsing, config.json parsing and weight validation, including
// malformed files, each of which must throw a zeroclip::Error naming the culprit.
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "model/safetensors.h"
#include "test_support.h"
#include "zeroclip/config.h"
#include "zeroclip/error.h"
#include "zeroclip/model.h"

namespace zeroclip {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// Expects `fn` to throw a zeroclip::Error whose message contains `culprit`.
void expect_error(const std::function<void()>& fn, const std::string& culprit) {
    try {
        fn();
        ADD_FAILURE() << "no error; expected one naming " << culprit;
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(culprit), std::string::npos)
            << "message \"" << e.what() << "\" does not name " << culprit;
        EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "multi-line message";
    }
}

std::vector<uint8_t> file_bytes(const std::string& header, size_t data_bytes) {
    std::vector<uint8_t> bytes(8 + header.size() + data_bytes, 0);
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(uint64_t(header.size()) >> (8 * i));
    std::memcpy(bytes.data() + 8, header.data(), header.size());
    return bytes;
}

void write_file(const fs::path& path, const void* data, size_t size) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
}

void write_text(const fs::path& path, const std::string& text) { write_file(path, text.data(), text.size()); }

// A scratch directory removed at the end of the test.
class TempDir {
public:
    TempDir() {
        path_ = fs::temp_directory_path() /
                ("zeroclip-model-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
        fs::remove_all(path_);
        fs::create_directories(path_);
    }
    ~TempDir() { fs::remove_all(path_); }
    const fs::path& path() const { return path_; }

private:
    static inline int counter_ = 0;
    fs::path path_;
};

// ---- safetensors headers ----------------------------------------------------------------------

TEST(Safetensors, ParsesHeaderAndIgnoresMetadata) {
    const auto bytes = file_bytes(
        R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
        R"("b":{"dtype":"I64","shape":[1],"data_offsets":[24,32]},"s":{"dtype":"BF16","shape":[],"data_offsets":[32,34]}})",
        34);
    const SafetensorsHeader header = parse_safetensors(bytes, "x.safetensors");
    ASSERT_EQ(header.tensors.size(), 3u);
    EXPECT_EQ(header.tensors.at("a").shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(header.tensors.at("b").dtype, DType::I64);
    EXPECT_EQ(header.tensors.at("s").numel(), 1);
    EXPECT_EQ(header.data_start, bytes.size() - 34);
}

TEST(Safetensors, RejectsMalformedFiles) {
    const std::string name = "bad.safetensors";
    auto parse = [&](const std::vector<uint8_t>& bytes) { return [&, bytes] { parse_safetensors(bytes, name); }; };
    const auto tensor = [](const std::string& fields) { return R"({"t":{)" + fields + "}}"; };

    expect_error(parse({1, 2, 3}), name);                           // no header length
    std::vector<uint8_t> absurd(16, 0);
    absurd[5] = 1;                                                    // 2^40 bytes
    expect_error(parse(absurd), "header length");
    auto truncated = file_bytes(tensor(R"("dtype":"F32","shape":[1],"data_offsets":[0,4])"), 4);
    truncated.resize(20);
    expect_error(parse(truncated), "truncated");
    expect_error(parse(file_bytes("{\"t\": [", 0)), "not valid JSON");
    expect_error(parse(file_bytes("[1, 2]", 0)), "not a JSON object");
    expect_error(parse(file_bytes(tensor(R"("dtype":"F7","shape":[1],"data_offsets":[0,4])"), 4)), "tensor t: unknown dtype");
    expect_error(parse(file_bytes(tensor(R"("shape":[1],"data_offsets":[0,4])"), 4)), "tensor t");
    expect_error(parse(file_bytes(tensor(R"("dtype":"F32","shape":[-1],"data_offsets":[0,4])"), 4)), "tensor t");
    expect_error(parse(file_bytes(tensor(R"("dtype":"F32","shape":[1],"data_offsets":[0])"), 4)), "tensor t");
    expect_error(parse(file_bytes(tensor(R"("dtype":"F32","shape":[1],"data_offsets":[4,8])"), 4)), "outside");
    expect_error(parse(file_bytes(tensor(R"("dtype":"F32","shape":[2],"data_offsets":[0,4])"), 8)), "needs 8");
    expect_error(parse(file_bytes(tensor(R"("dtype":"F32","shape":[1],"data_offsets":[4,0])"), 8)), "tensor t");
    expect_error(parse(file_bytes(tensor(R"("dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,4])"), 4)),
                 "tensor t");
    expect_error(parse(file_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                  R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12)),
                 "overlap");
    expect_error(parse(file_bytes(R"({"a":"F32"})", 0)), "tensor a");
    // Issue 14.11: a name twice (the format forbids it; the last one used to win silently).
    expect_error(parse(file_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                  R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8)),
                 "tensor a appears twice");
    // The same key inside two tensors' entries is no duplicate name.
    EXPECT_NO_THROW(parse(file_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                     R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8))());
}

TEST(Safetensors, ConvertsHalfPrecisionAndCopiesUnalignedData) {
    TempDir dir;
    // F16: 1, -2, smallest subnormal, -0, inf; BF16: 1.5, -3; F32 at an odd data offset.
    const uint16_t f16[] = {0x3c00, 0xc000, 0x0001, 0x8000, 0x7c00};
    const uint16_t bf16[] = {0x3fc0, 0xc040};
    const float f32[] = {0.25f, -7.5f};
    std::string header = R"({"h":{"dtype":"F16","shape":[5],"data_offsets":[0,10]},)"
                         R"("b":{"dtype":"BF16","shape":[2],"data_offsets":[10,14]},)"
                         R"("f":{"dtype":"F32","shape":[2],"data_offsets":[14,22]}})";
    header += std::string((8 - (8 + header.size()) % 8) % 8 + 1, ' ');  // data start is odd
    auto bytes = file_bytes(header, 22);
    uint8_t* data = bytes.data() + 8 + header.size();
    std::memcpy(data, f16, 10);
    std::memcpy(data + 10, bf16, 4);
    std::memcpy(data + 14, f32, 8);
    write_file(dir.path() / "t.safetensors", bytes.data(), bytes.size());

    const TensorStore store = TensorStore::open_file(dir.path() / "t.safetensors");
    const FloatTensor h = store.load_f32("h", {5});
    EXPECT_EQ(h.data[0], 1.0f);
    EXPECT_EQ(h.data[1], -2.0f);
    EXPECT_EQ(h.data[2], std::ldexp(1.0f, -24));
    EXPECT_TRUE(h.data[3] == 0.0f && std::signbit(h.data[3]));
    EXPECT_TRUE(std::isinf(h.data[4]));
    const FloatTensor b = store.load_f32("b", {2});
    EXPECT_EQ(b.data[0], 1.5f);
    EXPECT_EQ(b.data[1], -3.0f);
    const FloatTensor f = store.load_f32("f", {2});
    EXPECT_EQ(f.data[0], 0.25f);
    EXPECT_EQ(f.data[1], -7.5f);
    expect_error([&] { store.load_f32("f", {1, 2}); }, "tensor f has shape [2], expected [1, 2]");
    expect_error([&] { store.load_f32("missing", {1}); }, "tensor missing");
}

// ---- config.json ---------------------------------------------------------------------------

TEST(Config, AppliesTransformersDefaults) {
    const ClipConfig c = ClipConfig::from_json_text("{}", "config.json");
    EXPECT_EQ(c.text.vocab_size, 49408);
    EXPECT_EQ(c.text.hidden_size, 512);
    EXPECT_EQ(c.text.num_attention_heads, 8);
    EXPECT_EQ(c.text.eos_token_id, 49407);
    EXPECT_EQ(c.vision.hidden_size, 768);
    EXPECT_EQ(c.vision.patch_size, 32);
    EXPECT_EQ(c.vision.hidden_act, Activation::QuickGelu);
    EXPECT_EQ(c.projection_dim, 512);
    EXPECT_FLOAT_EQ(c.logit_scale_init_value, 2.6592f);

    const ClipConfig legacy = ClipConfig::from_json_text(
        R"({"text_config":{"hidden_size":64,"num_attention_heads":4},"text_config_dict":{"hidden_act":"gelu_new"},)"
        R"("vision_config":{"hidden_act":"gelu_pytorch_tanh","layer_norm_eps":1e-6},"projection_dim":256})",
        "config.json");
    EXPECT_EQ(legacy.text.hidden_size, 512);  // the _dict, defaults filled in, replaces text_config
    EXPECT_EQ(legacy.text.hidden_act, Activation::GeluTanh);
    EXPECT_EQ(legacy.vision.hidden_act, Activation::GeluTanh);
    EXPECT_FLOAT_EQ(legacy.vision.layer_norm_eps, 1e-6f);
    EXPECT_EQ(legacy.projection_dim, 256);
}

TEST(Config, RejectsBrokenConfigs) {
    auto parse = [](const std::string& text) { return [text] { ClipConfig::from_json_text(text, "my/config.json"); }; };
    expect_error(parse("{\"text_config\": {"), "my/config.json: not valid JSON");
    expect_error(parse("[]"), "my/config.json");
    expect_error(parse(R"({"text_config": 3})"), "text_config");
    expect_error(parse(R"({"text_config": {"hidden_size": "512"}})"), "text_config.hidden_size");
    expect_error(parse(R"({"text_config": {"hidden_size": 0}})"), "text_config.hidden_size");
    expect_error(parse(R"({"text_config": {"hidden_size": 1e30}})"), "text_config.hidden_size");
    expect_error(parse(R"({"text_config": {"hidden_size": 100}})"), "text_config.num_attention_heads");
    expect_error(parse(R"({"text_config": {"hidden_act": "relu"}})"), "text_config.hidden_act");
    expect_error(parse(R"({"text_config": {"hidden_act": 1}})"), "text_config.hidden_act");
    expect_error(parse(R"({"text_config": {"layer_norm_eps": -1}})"), "text_config.layer_norm_eps");
    expect_error(parse(R"({"text_config_dict": {"vocab_size": -5}})"), "text_config_dict.vocab_size");
    expect_error(parse(R"({"vision_config": {"image_size": 100}})"), "vision_config.patch_size");
    expect_error(parse(R"({"vision_config": {"num_channels": 4}})"), "vision_config.num_channels");
    expect_error(parse(R"({"vision_config": {"layer_norm_eps": null}})"), "vision_config.layer_norm_eps");
    expect_error(parse(R"({"projection_dim": 1.5})"), "projection_dim");
    expect_error(parse(R"({"logit_scale_init_value": "x"})"), "logit_scale_init_value");
    expect_error([] { ClipConfig::from_file("/nonexistent/config.json"); }, "/nonexistent/config.json");
}

// ---- whole model directories ----------------------------------------------------------------

// A copy of a fixture model whose files a test can spoil.
class BrokenModel : public ::testing::Test {
protected:
    void SetUp() override {
        for (const auto& entry : fs::directory_iterator(test::fixtures_dir() / "models" / "clip-f32-quickgelu")) {
            fs::copy(entry.path(), dir_.path() / entry.path().filename());
        }
    }

    fs::path weights() const { return dir_.path() / "model.safetensors"; }

    // Rewrites model.safetensors after `edit` changes a header entry (found by name) or drops it.
    void rewrite(const std::function<void(json& header)>& edit) {
        std::ifstream in(weights(), std::ios::binary);
        std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        const SafetensorsHeader parsed = parse_safetensors(bytes, "fixture");
        uint64_t length = 0;
        for (int i = 7; i >= 0; --i) length = (length << 8) | bytes[i];
        json header = json::parse(bytes.begin() + 8, bytes.begin() + 8 + length);
        edit(header);
        std::vector<uint8_t> out = file_bytes(header.dump(), 0);
        out.insert(out.end(), bytes.begin() + parsed.data_start, bytes.end());
        write_file(weights(), out.data(), out.size());
    }

    TempDir dir_;
};

TEST_F(BrokenModel, LoadsWhenIntact) { EXPECT_NO_THROW(ClipModel::load(dir_.path())); }

TEST_F(BrokenModel, MissingTensor) {
    rewrite([](json& h) { h.erase("text_projection.weight"); });
    expect_error([&] { ClipModel::load(dir_.path()); }, "tensor text_projection.weight is missing");
}

TEST_F(BrokenModel, WrongShape) {
    rewrite([](json& h) {
        auto& t = h["vision_model.embeddings.class_embedding"];
        t["shape"] = {2, t["shape"][0].get<int>() / 2};
    });
    expect_error([&] { ClipModel::load(dir_.path()); }, "tensor vision_model.embeddings.class_embedding has shape");
}

TEST_F(BrokenModel, UnsupportedDtype) {
    rewrite([](json& h) { h["text_projection.weight"]["dtype"] = "I32"; });
    expect_error([&] { ClipModel::load(dir_.path()); }, "tensor text_projection.weight has dtype I32");
}

TEST_F(BrokenModel, TruncatedWeights) {
    fs::resize_file(weights(), fs::file_size(weights()) / 2);
    expect_error([&] { ClipModel::load(dir_.path()); }, weights().string());
    fs::resize_file(weights(), 5);
    expect_error([&] { ClipModel::load(dir_.path()); }, "truncated");
}

TEST_F(BrokenModel, ConfigDisagreesWithWeights) {
    write_text(dir_.path() / "config.json",
               R"({"projection_dim": 8, "text_config": {"hidden_size": 32, "num_attention_heads": 4}})");
    expect_error([&] { ClipModel::load(dir_.path()); }, "tensor text_model.embeddings.token_embedding.weight has shape");
}

TEST_F(BrokenModel, BrokenConfig) {
    write_text(dir_.path() / "config.json", "{\"text_config\": ");
    expect_error([&] { ClipModel::load(dir_.path()); }, (dir_.path() / "config.json").string());
    fs::remove(dir_.path() / "config.json");
    expect_error([&] { ClipModel::load(dir_.path()); }, "config.json");
}

TEST_F(BrokenModel, BadShardIndex) {
    fs::rename(weights(), dir_.path() / "shard.safetensors");
    const fs::path index = dir_.path() / "model.safetensors.index.json";
    write_text(index, R"({"weight_map": {"logit_scale": "../shard.safetensors"}})");
    expect_error([&] { ClipModel::load(dir_.path()); }, "invalid shard file name");
    write_text(index, R"({"weight_map": {"logit_scale": "absent.safetensors"}})");
    expect_error([&] { ClipModel::load(dir_.path()); }, "absent.safetensors");
    write_text(index, R"({"weight_map": {"no.such.tensor": "shard.safetensors"}})");
    expect_error([&] { ClipModel::load(dir_.path()); }, "no.such.tensor");
    write_text(index, R"({"weight_map": {"logit_scale": "shard.safetensors"}})");
    expect_error([&] { ClipModel::load(dir_.path()); }, "is missing");  // the other tensors
    write_text(index, R"({"weight_map": []})");
    expect_error([&] { ClipModel::load(dir_.path()); }, "weight_map");
    fs::remove(index);
    expect_error([&] { ClipModel::load(dir_.path()); }, "no model.safetensors");
}

}  // namespace
}  // namespace zeroclip
