// cifar10:DIR and cifar100:DIR - the official binary test batches, held in memory
// (CIFAR-10: records of 1 label byte + 1024 R + 1024 G + 1024 B bytes of a 32x32 image;
// CIFAR-100: a coarse and a fine label byte, then the same pixels; we use the fine labels).
#include "eval/eval_util.h"
#include "zeroclip/error.h"
#include "zeroclip/eval.h"

namespace zeroclip {

namespace {

constexpr int kSide = 32;
constexpr size_t kPlane = kSide * kSide;

}  // namespace

Dataset read_cifar(const std::filesystem::path& dir, bool cifar100) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) throw Error(dir.string() + ": not a directory");
    const auto batch_path = dir / (cifar100 ? "test.bin" : "test_batch.bin");
    const auto names_path = dir / (cifar100 ? "fine_label_names.txt" : "batches.meta.txt");

    Dataset dataset;
    for (const auto& line : read_text_lines(names_path)) dataset.class_keys.push_back(trim(line));
    if (dataset.class_keys.empty()) throw Error(names_path.string() + ": no label names");
    if (dataset.class_keys.size() > 256) throw Error(names_path.string() + ": more than 256 label names");

    const size_t label_bytes = cifar100 ? 2 : 1;
    const size_t record = label_bytes + 3 * kPlane;
    const auto bytes = read_file_bytes(batch_path, record * kMaxDatasetSamples);
    if (bytes.empty() || bytes.size() % record != 0)
        throw Error(batch_path.string() + ": size " + std::to_string(bytes.size()) +
                    " is not a positive multiple of the " + std::to_string(record) + "-byte record");
    const size_t count = bytes.size() / record;
    dataset.images.reserve(count);
    dataset.samples.reserve(count);
    for (size_t r = 0; r < count; ++r) {
        const uint8_t* rec = bytes.data() + r * record;
        const int label = rec[label_bytes - 1];
        if (label >= static_cast<int>(dataset.class_keys.size()))
            throw Error(batch_path.string() + ": record " + std::to_string(r) + " has label " +
                        std::to_string(label) + " but " + names_path.filename().string() + " names only " +
                        std::to_string(dataset.class_keys.size()) + " classes");
        const uint8_t* planes = rec + label_bytes;
        RgbImage image{kSide, kSide, std::vector<uint8_t>(3 * kPlane)};
        for (size_t p = 0; p < kPlane; ++p)
            for (size_t c = 0; c < 3; ++c) image.pixels[3 * p + c] = planes[c * kPlane + p];
        dataset.samples.push_back({batch_path.string() + "#" + std::to_string(r), {},
                                   static_cast<int>(dataset.images.size()), label});
        dataset.images.push_back(std::move(image));
    }
    set_default_class_names(dataset, names_path.string());
    return dataset;
}

}  // namespace zeroclip
