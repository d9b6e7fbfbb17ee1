// Directory expansion and the decode/preprocess pipeline feeding the image tower.
#include "zeroclip/image_batches.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <future>
#include <optional>
#include <thread>

#include "util/directory_walk.h"
#include "zeroclip/error.h"
#include "zeroclip/image.h"

namespace zeroclip {

namespace {

struct PreparedBatch {
    ImageBatch batch;
    std::vector<ImageFailure> failures;
};

// Decodes paths[begin, end) on `threads` workers into one batch, keeping input order.
PreparedBatch prepare_batch(const std::vector<std::filesystem::path>& paths, size_t begin,
                            size_t end, const PreprocessConfig& config, int threads) {
    const size_t count = end - begin;
    const size_t per_image = 3 * static_cast<size_t>(config.crop_height) * config.crop_width;
    std::vector<float> values(count * per_image);
    std::vector<std::optional<Error>> errors(count);
    std::atomic<size_t> next{0};
    auto worker = [&] {
        for (size_t i; (i = next.fetch_add(1)) < count;) {
            try {
                write_pixel_values(read_image(paths[begin + i]), config, paths[begin + i].string(),
                                   values.data() + i * per_image);
            } catch (const Error& e) {
                errors[i] = e;
            } catch (const std::exception& e) {
                errors[i] = Error(e.what());
            }
        }
    };
    {
        std::vector<std::jthread> pool;
        const size_t workers = std::min<size_t>(count, static_cast<size_t>(threads));
        for (size_t t = 1; t < workers; ++t) pool.emplace_back(worker);
        worker();
    }
    PreparedBatch prepared;
    size_t kept = 0;
    for (size_t i = 0; i < count; ++i) {
        if (errors[i]) {
            prepared.failures.push_back({paths[begin + i], errors[i]->what(), errors[i]->kind()});
            continue;
        }
        if (kept != i)
            std::copy_n(values.begin() + i * per_image, per_image, values.begin() + kept * per_image);
        prepared.batch.paths.push_back(paths[begin + i]);
        ++kept;
    }
    values.resize(kept * per_image);
    prepared.batch.pixel_values = std::move(values);
    return prepared;
}

}  // namespace

bool is_image_file_name(const std::filesystem::path& path) {
    std::string ext = path.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".webp" || ext == ".bmp" ||
           ext == ".gif";
}

std::vector<std::filesystem::path> expand_image_paths(const std::vector<std::string>& inputs,
                                                      std::vector<ImageFailure>& failures) {
    std::vector<std::filesystem::path> paths;
    for (const auto& input : inputs) {
        const std::filesystem::path path(input);
        std::error_code ec;
        if (std::filesystem::is_directory(path, ec)) {
            DirectoryWalk walk(is_image_file_name);
            const auto found = walk.files_under(path);
            for (const auto& problem : walk.problems()) failures.push_back({problem.path, problem.message});
            paths.insert(paths.end(), found.begin(), found.end());
        } else if (std::filesystem::exists(path, ec)) {
            paths.push_back(path);
        } else {
            failures.push_back({path, path.string() + ": no such file or directory", ErrorKind::NotFound});
        }
    }
    return paths;
}

void for_each_image_batch(const std::vector<std::filesystem::path>& paths,
                          const PreprocessConfig& config, int batch_size, int threads,
                          const std::function<void(ImageBatch&)>& on_batch,
                          const std::function<void(const ImageFailure&)>& on_failure) {
    if (batch_size < 1) throw Error("batch size must be at least 1");
    if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    auto launch = [&](size_t begin) {
        const size_t end = std::min(paths.size(), begin + static_cast<size_t>(batch_size));
        return std::async(std::launch::async, prepare_batch, std::cref(paths), begin, end,
                          std::cref(config), threads);
    };
    if (paths.empty()) return;
    std::future<PreparedBatch> pending = launch(0);
    for (size_t begin = 0; begin < paths.size(); begin += batch_size) {
        PreparedBatch current = pending.get();
        const size_t next = begin + batch_size;
        if (next < paths.size()) pending = launch(next);
        for (const auto& failure : current.failures) on_failure(failure);
        if (!current.batch.paths.empty()) on_batch(current.batch);
    }
}

}  // namespace zeroclip
