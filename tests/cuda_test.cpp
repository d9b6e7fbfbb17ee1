// The CUDA backend: host-side logic everywhere; the towers on the GPU where one is usable
// (skipped otherwise), against the transformers goldens and against the CPU model.
#include <cmath>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backend/cuda/bf16.h"
#include "backend/backend.h"
#include "backend/cuda/cuda_launch.h"
#include "test_support.h"
#include "util/npy.h"
#include "zeroclip/error.h"
#include "zeroclip/image.h"
#include "zeroclip/model.h"
#include "zeroclip/preprocess.h"

namespace zeroclip {
namespace {

namespace fs = std::filesystem;

float bits_to_float(uint32_t bits) {
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

TEST(CudaHost, Bf16RoundsToNearestEven) {
    EXPECT_EQ(float_to_bf16(1.0f), 0x3f80);
    EXPECT_EQ(float_to_bf16(-2.0f), 0xc000);
    EXPECT_EQ(float_to_bf16(-0.0f), 0x8000);
    EXPECT_EQ(float_to_bf16(bits_to_float(0x3f808000)), 0x3f80);  // tie, even below
    EXPECT_EQ(float_to_bf16(bits_to_float(0x3f818000)), 0x3f82);  // tie, even above
    EXPECT_EQ(float_to_bf16(bits_to_float(0x3f808001)), 0x3f81);  // above the tie
    EXPECT_EQ(float_to_bf16(bits_to_float(0x7f7fffff)), 0x7f80);  // FLT_MAX rounds to infinity
    EXPECT_EQ(float_to_bf16(INFINITY), 0x7f80);
    EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(bits_to_float(0x7f800001)))));  // NaN payload kept NaN
    EXPECT_EQ(float_to_bf16(bits_to_float(0x00000001)), 0x0000);  // smallest denormal rounds to zero
    for (float v : {0.5f, 3.0f, -1.5f, 65280.0f}) EXPECT_EQ(bf16_to_float(float_to_bf16(v)), v);

    const std::vector<float> src = {1.0f, 0.1f, -7.25f};
    std::vector<uint16_t> dst(src.size());
    floats_to_bf16(src.data(), src.size(), dst.data());
    for (size_t i = 0; i < src.size(); ++i) {
        EXPECT_EQ(dst[i], float_to_bf16(src[i]));
        EXPECT_NEAR(bf16_to_float(dst[i]), src[i], std::fabs(src[i]) / 128);
    }
}

TEST(CudaHost, AttentionLaunchShape) {
    // ViT-L/14 at batch 256: 257 positions, 16 heads of 64.
    const LaunchShape vit_l = attention_launch(256, 257, 16, 64);
    EXPECT_EQ(vit_l.grid.x, 33u * 256u);  // ceil(257 / 8) query blocks per image
    EXPECT_EQ(vit_l.grid.y, 16u);
    EXPECT_EQ(vit_l.block.x, 32u * kAttentionQueries);
    EXPECT_EQ(vit_l.shared_bytes, sizeof(float) * (32 * 65 + 32 * 64 + 8 * 64));
    EXPECT_LE(attention_launch(1, 77, 1, kAttentionMaxHeadDim).shared_bytes, size_t(48) << 10);  // no opt-in needed

    // Odd shapes: a one-token text batch as large as a chunk, odd head sizes.
    EXPECT_EQ(attention_launch(131072, 1, 8, 64).grid.x, 131072u);
    EXPECT_EQ(attention_launch(3, 5, 3, 7).grid.x, 3u);

    for (int bad : {0, kAttentionMaxHeadDim + 1}) {
        try {
            attention_launch(1, 257, 12, bad);
            ADD_FAILURE() << "head_dim " << bad << " accepted";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("head_dim " + std::to_string(bad)), std::string::npos) << e.what();
        }
    }
    EXPECT_THROW(attention_launch(0, 257, 12, 64), Error);
    EXPECT_THROW(attention_launch(1, 257, 70000, 64), Error);
}

TEST(CudaHost, RowAndElementwiseLaunchShapes) {
    EXPECT_EQ(rows_launch(1).grid.x, 1u);
    EXPECT_EQ(rows_launch(65792).grid.x, 65792u / kRowsPerBlock);
    EXPECT_EQ(rows_launch(65793).grid.x, 65792u / kRowsPerBlock + 1);
    EXPECT_EQ(rows_launch(1).block.x, 32u * kRowsPerBlock);
    EXPECT_THROW(rows_launch(0), Error);

    EXPECT_EQ(elementwise_launch(0).grid.x, 1u);
    EXPECT_EQ(elementwise_launch(257).grid.x, 2u);
    EXPECT_EQ(elementwise_launch(size_t(1) << 40).grid.x, 65536u);  // grid-stride beyond
}

TEST(CudaHost, DeviceSelection) {
    const DeviceProbe none = DeviceProbe::none("CUDA driver version is insufficient for CUDA runtime version");
    const DeviceProbe two = DeviceProbe::found(2);
    EXPECT_EQ(select_device(Device::Cpu, Precision::Fp32, none), Device::Cpu);
    EXPECT_EQ(select_device(Device::Cpu, Precision::Fp32, two), Device::Cpu);
    EXPECT_EQ(select_device(Device::Auto, Precision::Fp32, none), Device::Cpu);
    EXPECT_EQ(select_device(Device::Auto, Precision::Bf16, two), Device::Cuda);
    EXPECT_EQ(select_device(Device::Auto, Precision::Int8, two), Device::Cpu);  // no int8 on the GPU
    EXPECT_EQ(select_device(Device::Cuda, Precision::Fp32, two), Device::Cuda);
    try {
        select_device(Device::Cuda, Precision::Fp32, none);
        ADD_FAILURE() << "cuda selected without a GPU";
    } catch (const Error& e) {
        const std::string message = e.what();
        EXPECT_EQ(message.find('\n'), std::string::npos);
        EXPECT_NE(message.find("no usable CUDA GPU"), std::string::npos) << message;
        EXPECT_NE(message.find(none.error), std::string::npos) << message;
    }
}

TEST(CudaHost, ProbeReportsWhyThereIsNoGpu) {
    const DeviceProbe probe = probe_cuda();  // must not crash without a driver
    EXPECT_GE(probe.device_count, 0);
    EXPECT_EQ(cuda_device_available(), probe.device_count > 0);
    if (probe.device_count == 0) {
        EXPECT_FALSE(probe.error.empty());
        EXPECT_EQ(probe.error.find('\n'), std::string::npos);
    }
    std::printf("[ cuda ] %d device(s)%s%s\n", probe.device_count, probe.error.empty() ? "" : ": ",
                probe.error.c_str());
}

fs::path fixture_model(const std::string& name) { return test::fixtures_dir() / "models" / name; }

TEST(CudaHost, LoadingWithoutGpuIsAOneLineError) {
    if (cuda_device_available()) GTEST_SKIP() << "a CUDA GPU is present";
    for (Precision precision : {Precision::Fp32, Precision::Bf16}) {
        ModelOptions options;
        options.precision = precision;
        try {
            options.device = Device::Cuda;
            ClipModel::load(fixture_model("clip-f32-quickgelu"), options);
            ADD_FAILURE() << "loaded without a GPU";
        } catch (const Error& e) {
            EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
            EXPECT_EQ(std::string(e.what()).rfind("device cuda: ", 0), 0u) << e.what();
        }
    }
    ModelOptions int8;
    int8.precision = Precision::Int8;
    int8.device = Device::Cuda;
    EXPECT_THROW(ClipModel::load(fixture_model("clip-f32-quickgelu"), int8), Error);
    // The one place that settles precisions: CUDA runs fp32 and bf16, never int8.
    const DeviceProbe hopper = DeviceProbe::found(1, "NVIDIA H100", 90);
    const DeviceProbe volta = DeviceProbe::found(1, "Tesla V100", 70);
    std::string note;
    EXPECT_EQ(effective_precision(Device::Cuda, Precision::Bf16, hopper, note), Precision::Bf16);
    EXPECT_TRUE(note.empty());
    EXPECT_EQ(effective_precision(Device::Cuda, Precision::Fp32, volta, note), Precision::Fp32);
    EXPECT_THROW(effective_precision(Device::Cuda, Precision::Int8, hopper, note), Error);
    try {
        effective_precision(Device::Cuda, Precision::Bf16, volta, note);
        ADD_FAILURE() << "bf16 accepted on compute capability 7.0";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("Tesla V100 is 7.0"), std::string::npos) << e.what();
    }
}

TEST(CudaHost, CliDeviceOption) {
    const fs::path dir = fs::temp_directory_path() / ("zeroclip_cuda_cli_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const std::string model = fixture_model("clip-f32-quickgelu").string();
    const std::string out = (dir / "t.npy").string();

    auto r = test::run_cli({"embed", "-m", model, "-o", out, "--device", "tpu", "--text", "a cat"}, dir / "err");
    EXPECT_NE(r.status, 0);
    r = test::run_cli({"embed", "-m", model, "-o", out, "--device", "cpu", "--text", "a cat"}, dir / "err");
    EXPECT_EQ(r.status, 0) << r.err;
    r = test::run_cli({"embed", "-m", model, "-o", out, "--device", "auto", "--text", "a cat"}, dir / "err");
    EXPECT_EQ(r.status, 0) << r.err;  // the CPU without a GPU
    if (!cuda_device_available()) {
        r = test::run_cli({"embed", "-m", model, "-o", out, "--device", "cuda", "--text", "a cat"}, dir / "err");
        EXPECT_NE(r.status, 0);
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
        EXPECT_NE(r.err.find("device cuda"), std::string::npos) << r.err;
    }
    fs::remove_all(dir);
}

// ---- On the GPU (skipped without one) ----

#define ZEROCLIP_REQUIRE_GPU() \
    if (!cuda_device_available()) GTEST_SKIP() << "no CUDA GPU: " << probe_cuda().error

using test::Agreement;

Agreement compare(const Matrix& actual, const Matrix& expected) {
    return test::compare_rows(actual, test::rows_of(expected));
}

nlohmann::json read_json(const fs::path& path) {
    std::ifstream in(path);
    return nlohmann::json::parse(in);
}

ModelOptions gpu_options(Precision precision) {
    ModelOptions options;
    options.precision = precision;
    options.device = Device::Cuda;
    return options;
}

// The conformance suite of tests/model_conformance_test.cpp, fp32 (TF32 off) on the GPU.
class CudaConformance : public ::testing::TestWithParam<std::string> {};

TEST_P(CudaConformance, Fp32MatchesTransformers) {
    ZEROCLIP_REQUIRE_GPU();
    ZEROCLIP_REQUIRE_SHARED(shared);
    const auto golden = read_json(shared / "conformance" / ("golden-" + GetParam() + ".json"));
    const fs::path dir = shared / "conformance" / "models" / GetParam();
    auto model = ClipModel::load(dir, gpu_options(Precision::Fp32));

    const auto ids = golden["input_ids"].get<std::vector<std::vector<int32_t>>>();
    const Matrix text_embeds = model->encode_texts(ids);
    const Agreement text = test::compare_rows(text_embeds, test::rows_of(golden["text_embeds"]));
    EXPECT_GE(text.min_cosine, 0.99999);
    EXPECT_LE(text.max_rel_error, 1e-4);
    for (size_t i = 0; i < ids.size(); ++i) {  // padding must not change results
        const Matrix single = model->encode_texts({ids[i]});
        for (int c = 0; c < single.cols; ++c) {
            EXPECT_NEAR(single.row(0)[c], text_embeds.row(int(i))[c], 1e-5 * (1 + std::fabs(text_embeds.row(int(i))[c])));
        }
    }

    const int size = model->config().vision.image_size;
    const auto preprocess = PreprocessConfig::from_directory(dir, size);
    const auto images = golden["images"].get<std::vector<std::string>>();
    const size_t image_floats = size_t(3) * size * size;
    std::vector<float> pixels(images.size() * image_floats);
    for (size_t i = 0; i < images.size(); ++i) {
        const RgbImage crop = resize_and_crop(read_image(shared / "conformance" / "images" / images[i]), preprocess);
        to_pixel_values(crop, preprocess, pixels.data() + i * image_floats);
    }
    const Matrix image_embeds = model->encode_images(pixels.data(), static_cast<int>(images.size()));
    const Agreement image = test::compare_rows(image_embeds, test::rows_of(golden["image_embeds"]));
    EXPECT_GE(image.min_cosine, 0.99999);
    EXPECT_LE(image.max_rel_error, 1e-4);

    const double max_logit_error = test::max_logit_error(image_embeds, text_embeds, model->logit_scale(),
                                                         test::rows_of(golden["logits_per_image"]));
    EXPECT_LE(max_logit_error, 1e-3);
    std::printf("[ %s on %s ] text: cos %.9f rel %.3g; image: cos %.9f rel %.3g; logits %.3g\n", GetParam().c_str(),
                model->kernel_info().c_str(), text.min_cosine, text.max_rel_error, image.min_cosine,
                image.max_rel_error, max_logit_error);
}

INSTANTIATE_TEST_SUITE_P(Models, CudaConformance, ::testing::Values("tiny", "tiny-bf16", "tiny-gelu-f16"));

// The committed fixture models (every activation, sharded f16, legacy eos): fp32 on the GPU
// agrees with the CPU to the conformance tolerances, bf16 to cosine 0.999.
class CudaFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(CudaFixture, AgreesWithTheCpu) {
    ZEROCLIP_REQUIRE_GPU();
    const fs::path dir = fixture_model(GetParam());
    auto cpu = ClipModel::load(dir);
    const auto expected = read_json(dir / "expected.json");
    const auto ids = expected["input_ids"].get<std::vector<std::vector<int32_t>>>();
    const NpyArray pixels = read_npy_f32(dir / "pixel_values.npy");
    const int n = static_cast<int>(pixels.shape[0]);
    const Matrix cpu_text = cpu->encode_texts(ids), cpu_image = cpu->encode_images(pixels.data.data(), n);

    for (Precision precision : {Precision::Fp32, Precision::Bf16}) {
        auto gpu = ClipModel::load(dir, gpu_options(precision));
        const Agreement text = compare(gpu->encode_texts(ids), cpu_text);
        const Agreement image = compare(gpu->encode_images(pixels.data.data(), n), cpu_image);
        const bool fp32 = precision == Precision::Fp32;
        EXPECT_GE(text.min_cosine, fp32 ? 0.99999 : 0.999);
        EXPECT_GE(image.min_cosine, fp32 ? 0.99999 : 0.999);
        if (fp32) {
            EXPECT_LE(text.max_rel_error, 1e-4);
            EXPECT_LE(image.max_rel_error, 1e-4);
        }
        EXPECT_FLOAT_EQ(gpu->logit_scale(), cpu->logit_scale());
        std::printf("[ %s %s ] text cos %.7f, image cos %.7f\n", GetParam().c_str(), fp32 ? "fp32" : "bf16",
                    text.min_cosine, image.min_cosine);
    }
}

INSTANTIATE_TEST_SUITE_P(Models, CudaFixture,
                         ::testing::Values("clip-f32-quickgelu", "clip-f16-gelu-sharded", "clip-bf16-tanh-eos2"));

// SigLIP's towers are the same code over the same interface: on the GPU (attention pooling, no
// class token, texts padded to max_length) they agree with the fixture's reference embeddings.
TEST(CudaModel, SiglipFixtureMatchesItsReference) {
    ZEROCLIP_REQUIRE_GPU();
    const fs::path dir = fixture_model("siglip-f32");
    const auto expected = read_json(dir / "expected.json");
    const auto ids = expected["input_ids"].get<std::vector<std::vector<int32_t>>>();
    const auto pixels = expected["pixel_values"].get<std::vector<float>>();
    const int n = expected["pixel_shape"][0].get<int>();
    for (Precision precision : {Precision::Fp32, Precision::Bf16}) {
        auto gpu = ClipModel::load(dir, gpu_options(precision));
        const Agreement text = test::compare_rows(gpu->encode_texts(ids), test::rows_of(expected["text_embeds"]));
        const Agreement image =
            test::compare_rows(gpu->encode_images(pixels.data(), n), test::rows_of(expected["image_embeds"]));
        const bool fp32 = precision == Precision::Fp32;
        EXPECT_GE(text.min_cosine, fp32 ? 0.99999 : 0.999);
        EXPECT_GE(image.min_cosine, fp32 ? 0.99999 : 0.999);
        EXPECT_FLOAT_EQ(gpu->logit_bias(), expected["logit_bias"].get<float>());
        std::printf("[ siglip-f32 %s on CUDA ] text cos %.7f, image cos %.7f\n", fp32 ? "fp32" : "bf16",
                    text.min_cosine, image.min_cosine);
    }
}

// Many sequences of many lengths in one call: chunking, sorting and padding on the GPU.
TEST(CudaModel, LargeTextBatchMatchesSingles) {
    ZEROCLIP_REQUIRE_GPU();
    auto gpu = ClipModel::load(fixture_model("clip-f32-quickgelu"), gpu_options(Precision::Fp32));
    const int vocab = gpu->config().text.vocab_size;
    std::vector<std::vector<int32_t>> ids;
    for (int i = 0; i < 300; ++i) {
        std::vector<int32_t> seq = {vocab - 2};
        for (int t = 0; t < i % 75; ++t) seq.push_back((i * 31 + t * 7) % (vocab - 2));
        seq.push_back(vocab - 1);
        ids.push_back(seq);
    }
    const Matrix batched = gpu->encode_texts(ids);
    for (int i : {0, 1, 74, 150, 299}) {
        const Matrix single = gpu->encode_texts({ids[i]});
        for (int c = 0; c < single.cols; ++c) {
            EXPECT_NEAR(single.row(0)[c], batched.row(i)[c], 1e-5 * (1 + std::fabs(batched.row(i)[c]))) << i;
        }
    }
}

}  // namespace
}  // namespace zeroclip
