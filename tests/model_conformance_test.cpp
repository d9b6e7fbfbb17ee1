// ClipModel against transformers' CLIPModel outputs (../shared/conformance/golden-*.json).
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_support.h"
#include "zeroclip/image.h"
#include "zeroclip/model.h"
#include "zeroclip/preprocess.h"

namespace zeroclip {
namespace {

nlohmann::json read_json(const std::filesystem::path& path) {
    std::ifstream in(path);
    return nlohmann::json::parse(in);
}

using test::Agreement;
using test::compare_rows;
using test::rows_of;

class Conformance : public ::testing::TestWithParam<std::string> {};

TEST_P(Conformance, TextEmbeddingsMatchTransformers) {
    ZEROCLIP_REQUIRE_SHARED(shared);
    const auto golden = read_json(shared / "conformance" / ("golden-" + GetParam() + ".json"));
    auto model = ClipModel::load(shared / "conformance" / "models" / GetParam());

    const auto ids = golden["input_ids"].get<std::vector<std::vector<int32_t>>>();
    const Agreement text = compare_rows(model->encode_texts(ids), rows_of(golden["text_embeds"]));
    EXPECT_GE(text.min_cosine, 0.99999);
    EXPECT_LE(text.max_rel_error, 1e-4);
    EXPECT_FLOAT_EQ(model->logit_scale(), golden["logit_scale"].get<float>());
    std::printf("[ %s ] text: min cosine %.9f, max rel error %.3g\n", GetParam().c_str(),
                text.min_cosine, text.max_rel_error);

    // Padding must not change results: each sequence alone gives the batched answer.
    const Matrix batched = model->encode_texts(ids);
    for (size_t i = 0; i < ids.size(); ++i) {
        const Matrix single = model->encode_texts({ids[i]});
        for (int c = 0; c < single.cols; ++c) {
            EXPECT_NEAR(single.row(0)[c], batched.row(int(i))[c], 1e-5 * (1 + std::fabs(batched.row(int(i))[c])));
        }
    }
}

TEST_P(Conformance, ImageEmbeddingsAndLogitsMatchTransformers) {
    ZEROCLIP_REQUIRE_SHARED(shared);
    const auto golden = read_json(shared / "conformance" / ("golden-" + GetParam() + ".json"));
    const auto model_dir = shared / "conformance" / "models" / GetParam();
    auto model = ClipModel::load(model_dir);

    const int size = model->config().vision.image_size;
    const auto preprocess = PreprocessConfig::from_directory(model_dir, size);
    const auto images = golden["images"].get<std::vector<std::string>>();
    const size_t image_floats = size_t(3) * size * size;
    std::vector<float> pixels(images.size() * image_floats);
    for (size_t i = 0; i < images.size(); ++i) {
        const RgbImage crop = resize_and_crop(read_image(shared / "conformance" / "images" / images[i]), preprocess);
        ASSERT_EQ(crop.width, size);
        ASSERT_EQ(crop.height, size);
        to_pixel_values(crop, preprocess, pixels.data() + i * image_floats);
    }
    const Matrix image_embeds = model->encode_images(pixels.data(), static_cast<int>(images.size()));
    const Agreement image = compare_rows(image_embeds, rows_of(golden["image_embeds"]));
    EXPECT_GE(image.min_cosine, 0.99999);
    EXPECT_LE(image.max_rel_error, 1e-4);

    // logits_per_image = logit_scale * cos(image, text)
    const Matrix text_embeds = model->encode_texts(golden["input_ids"].get<std::vector<std::vector<int32_t>>>());
    const double max_logit_error = test::max_logit_error(image_embeds, text_embeds, model->logit_scale(),
                                                         test::rows_of(golden["logits_per_image"]));
    EXPECT_LE(max_logit_error, 1e-3);
    std::printf("[ %s ] image: min cosine %.9f, max rel error %.3g; logits max abs error %.3g\n",
                GetParam().c_str(), image.min_cosine, image.max_rel_error, max_logit_error);
}

INSTANTIATE_TEST_SUITE_P(Models, Conformance, ::testing::Values("tiny", "tiny-bf16", "tiny-gelu-f16"));

}  // namespace
}  // namespace zeroclip
