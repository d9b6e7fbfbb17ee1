// zeroclip/image_batches.h - from image paths to batches of pixel values: directory expansion,
// and decoding + preprocessing on worker threads, overlapped with whatever consumes the batches.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "zeroclip/error.h"
#include "zeroclip/preprocess.h"

namespace zeroclip {

struct ImageFailure {
    std::filesystem::path path;
    std::string message;  // one line, names the file
    ErrorKind kind = ErrorKind::Failure;
};

// Whether the name ends in an image extension: .jpg .jpeg .png .webp .bmp .gif, any case.
bool is_image_file_name(const std::filesystem::path& path);

// Files stay as given; directories expand recursively to their image files in sorted path
// order, each directory once (symbolic link loops are reported, not followed). Paths that do
// not exist, unlistable folders and dangling links become failures; the rest still expand.
std::vector<std::filesystem::path> expand_image_paths(const std::vector<std::string>& inputs,
                                                      std::vector<ImageFailure>& failures);

struct ImageBatch {
    std::vector<std::filesystem::path> paths;  // the images that decoded, in input order
    std::vector<float> pixel_values;           // [paths.size(), 3, crop_height, crop_width]
};

// Decodes and preprocesses `paths` in input order, `batch_size` at a time, on `threads` workers
// (0: all cores). The next batch is prepared while `on_batch` runs on the current one, so at
// most two batches are in memory. Unreadable images go to `on_failure` and are left out.
void for_each_image_batch(const std::vector<std::filesystem::path>& paths,
                          const PreprocessConfig& config, int batch_size, int threads,
                          const std::function<void(ImageBatch&)>& on_batch,
                          const std::function<void(const ImageFailure&)>& on_failure);

}  // namespace zeroclip
