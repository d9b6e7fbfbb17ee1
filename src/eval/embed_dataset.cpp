// A dataset's image embeddings: cache lookups and decoding on worker threads, the encoder on
// the calling thread, the next batch prepared while the current one is encoded.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <optional>
#include <thread>

#include "eval/eval_util.h"
#include "zeroclip/error.h"
#include "zeroclip/eval.h"

namespace zeroclip {

namespace {

// Largest image file the pipeline reads (larger ones are reported as unreadable).
constexpr size_t kMaxImageFileBytes = size_t{1} << 30;

struct PreparedBatch {
    size_t begin = 0, end = 0;                 // sample range
    std::vector<const float*> cached;          // per sample: the cached embedding or nullptr
    std::vector<ContentHash> hashes;           // per sample, when caching
    std::vector<std::optional<std::string>> errors;  // per sample
    std::vector<float> pixels;                 // per sample slot; valid where neither cached nor failed
};

// Where a sample's image comes from, hashed and decoded. Returns nullopt on a cache hit.
std::optional<RgbImage> load_sample(const Dataset& dataset, const Sample& sample,
                                    const EmbeddingCache* cache, ContentHash& hash,
                                    const float*& cached) {
    if (sample.image >= 0) {
        const RgbImage& image = dataset.images.at(static_cast<size_t>(sample.image));
        if (cache) {
            hash = hash_bytes(image.pixels, static_cast<uint64_t>(image.width) << 32 | image.height);
            if ((cached = cache->find(hash))) return std::nullopt;
        }
        return image;
    }
    const auto bytes = read_file_bytes(sample.path, kMaxImageFileBytes);
    if (cache) {
        hash = hash_bytes(bytes);
        if ((cached = cache->find(hash))) return std::nullopt;
    }
    return decode_image(bytes, sample.path.string());
}

PreparedBatch prepare_batch(const Dataset& dataset, size_t begin, size_t end,
                            const PreprocessConfig& config, const EmbeddingCache* cache, int threads) {
    const size_t count = end - begin;
    const size_t per_image = 3 * static_cast<size_t>(config.crop_height) * config.crop_width;
    PreparedBatch batch{begin, end, std::vector<const float*>(count, nullptr),
                        std::vector<ContentHash>(count), std::vector<std::optional<std::string>>(count),
                        std::vector<float>(count * per_image)};
    std::atomic<size_t> next{0};
    auto worker = [&] {
        for (size_t i; (i = next.fetch_add(1)) < count;) {
            try {
                const Sample& sample = dataset.samples[begin + i];
                const auto image = load_sample(dataset, sample, cache, batch.hashes[i], batch.cached[i]);
                if (image)
                    write_pixel_values(*image, config, sample.id,
                                       batch.pixels.data() + i * per_image);
            } catch (const std::exception& e) {
                batch.errors[i] = e.what();
            }
        }
    };
    std::vector<std::jthread> pool;
    const size_t workers = std::min<size_t>(count, static_cast<size_t>(threads));
    for (size_t t = 1; t < workers; ++t) pool.emplace_back(worker);
    worker();
    return batch;
}

}  // namespace

DatasetEmbeddings embed_dataset(const Dataset& dataset, const PreprocessConfig& preprocess, int dim,
                                const ImageEncoder& encoder, const EmbedOptions& options) {
    if (options.batch_size < 1) throw Error("batch size must be at least 1");
    if (options.cache && options.cache->dim() != dim)
        throw Error(options.cache->path().string() + ": cache dimension does not match the model's");
    const auto start = std::chrono::steady_clock::now();
    const int threads = options.threads > 0
                            ? options.threads
                            : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const size_t total = dataset.samples.size();
    const size_t per_image = 3 * static_cast<size_t>(preprocess.crop_height) * preprocess.crop_width;

    DatasetEmbeddings result;
    result.embeds = {0, dim, {}};
    result.embeds.data.reserve(total * static_cast<size_t>(dim));
    auto launch = [&](size_t begin) {
        const size_t end = std::min(total, begin + static_cast<size_t>(options.batch_size));
        return std::async(std::launch::async, prepare_batch, std::cref(dataset), begin, end,
                          std::cref(preprocess), options.cache, threads);
    };
    std::future<PreparedBatch> pending;
    if (total > 0) pending = launch(0);
    for (size_t begin = 0; begin < total; begin += options.batch_size) {
        PreparedBatch batch = pending.get();
        if (batch.end < total) pending = launch(batch.end);
        const size_t count = batch.end - batch.begin;

        // Compact the images that need the encoder, then encode them in one call.
        std::vector<size_t> to_encode;
        for (size_t i = 0; i < count; ++i) {
            if (batch.errors[i] || batch.cached[i]) continue;
            if (to_encode.size() != i)
                std::copy_n(batch.pixels.begin() + i * per_image, per_image,
                            batch.pixels.begin() + to_encode.size() * per_image);
            to_encode.push_back(i);
        }
        Matrix encoded;
        if (!to_encode.empty()) {
            encoded = encoder(batch.pixels.data(), static_cast<int>(to_encode.size()));
            if (encoded.rows != static_cast<int>(to_encode.size()) || encoded.cols != dim ||
                encoded.data.size() != to_encode.size() * static_cast<size_t>(dim))
                throw Error("image encoder returned " + std::to_string(encoded.rows) + "x" +
                            std::to_string(encoded.cols) + " for " + std::to_string(to_encode.size()) +
                            " images of dimension " + std::to_string(dim));
            result.encoded += to_encode.size();
        }

        for (size_t i = 0, e = 0; i < count; ++i) {
            const int sample = static_cast<int>(batch.begin + i);
            if (batch.errors[i]) {
                result.skipped.push_back({dataset.samples[sample].path.empty()
                                              ? std::filesystem::path(dataset.samples[sample].id)
                                              : dataset.samples[sample].path,
                                          *batch.errors[i]});
                if (options.on_failure) options.on_failure(result.skipped.back());
                continue;
            }
            const float* row = batch.cached[i];
            if (row) {
                ++result.from_cache;
            } else {
                row = encoded.row(static_cast<int>(e++));
                if (options.cache) options.cache->add(batch.hashes[i], row);
            }
            result.embeds.data.insert(result.embeds.data.end(), row, row + dim);
            result.scored.push_back(sample);
            ++result.embeds.rows;
        }
        if (options.on_progress) options.on_progress(batch.end, total);
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

}  // namespace zeroclip
