// Clip: a model directory opened as a whole.
#include "zeroclip/clip.h"

#include <algorithm>
#include <functional>
#include <mutex>

#include "models/registry.h"
#include "zeroclip/error.h"

namespace zeroclip {

// Reading CLIP's vocabulary costs ~15 ms even from its compiled cache: a tenth of a cached
// one-photo classify, and nothing an image embedding needs.
struct Clip::LazyTokenizer {
    std::function<std::unique_ptr<TextTokenizer>()> load;
    std::once_flag loaded;  // a load that throws leaves it unset: the next call tries again
    std::unique_ptr<TextTokenizer> tokenizer;
};

Clip::Clip(std::shared_ptr<LazyTokenizer> tokenizer, PreprocessConfig preprocess, std::unique_ptr<ClipModel> model)
    : tokenizer_(std::move(tokenizer)), preprocess_(preprocess), model_(std::move(model)) {}

const TextTokenizer& Clip::tokenizer() const {
    std::call_once(tokenizer_->loaded, [this] { tokenizer_->tokenizer = tokenizer_->load(); });
    return *tokenizer_->tokenizer;
}

Clip Clip::open(const std::filesystem::path& model_dir, const ModelOptions& options) {
    if (!std::filesystem::is_directory(model_dir))
        throw Error(model_dir.string() + ": not a model directory",
                    std::filesystem::exists(model_dir) ? ErrorKind::InvalidInput : ErrorKind::NotFound);
    auto model = ClipModel::load(model_dir, options);
    const ModelFamily& family = model_family(model->config().family);
    auto preprocess = family.load_preprocess(model_dir, model->config().vision.image_size);
    if (preprocess.crop_height != model->config().vision.image_size ||
        preprocess.crop_width != model->config().vision.image_size)
        throw Error((model_dir / "preprocessor_config.json").string() + ": " +
                    (preprocess.do_center_crop ? "crop" : "resize") + " size " +
                    std::to_string(preprocess.crop_height) + "x" + std::to_string(preprocess.crop_width) +
                    " does not match the vision tower's image_size " +
                    std::to_string(model->config().vision.image_size));
    auto tokenizer = std::make_shared<LazyTokenizer>();
    tokenizer->load = [load = family.load_tokenizer, model_dir, cache = options.cache] { return load(model_dir, cache); };
    return Clip(std::move(tokenizer), preprocess, std::move(model));
}

std::vector<int32_t> Clip::tokenize(const std::string& text) const {
    return tokenizer().encode_for_model(text, config().text.max_position_embeddings);
}

Scoring Clip::scoring() const {
    return {model_family(config().family).score_function, model_->logit_scale(), model_->logit_bias()};
}

Matrix Clip::embed_texts(const std::vector<std::string>& texts, int batch_size) {
    const int dim = config().projection_dim;
    Matrix out{static_cast<int>(texts.size()), dim, {}};
    out.data.resize(texts.size() * static_cast<size_t>(dim));
    batch_size = std::max(1, batch_size);
    for (size_t start = 0; start < texts.size(); start += batch_size) {
        const size_t end = std::min(texts.size(), start + batch_size);
        std::vector<std::vector<int32_t>> ids;
        ids.reserve(end - start);
        for (size_t i = start; i < end; ++i) ids.push_back(tokenize(texts[i]));
        const Matrix part = model_->encode_texts(ids);
        std::copy(part.data.begin(), part.data.end(), out.row(static_cast<int>(start)));
    }
    return out;
}

std::vector<float> Clip::pixel_values(const RgbImage& image) const {
    const RgbImage crop = resize_and_crop(image, preprocess_);
    std::vector<float> values(3 * static_cast<size_t>(crop.width) * crop.height);
    to_pixel_values(crop, preprocess_, values.data());
    return values;
}

Matrix Clip::embed_images(const std::vector<RgbImage>& images) {
    const size_t per_image = 3 * static_cast<size_t>(preprocess_.crop_height) * preprocess_.crop_width;
    std::vector<float> batch(per_image * images.size());
    for (size_t i = 0; i < images.size(); ++i)
        write_pixel_values(images[i], preprocess_, "image " + std::to_string(i), batch.data() + i * per_image);
    return model_->encode_images(batch.data(), static_cast<int>(images.size()));
}

}  // namespace zeroclip
