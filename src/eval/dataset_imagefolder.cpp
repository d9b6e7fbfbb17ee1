// imagefolder:DIR - one sub-folder per class (torchvision's ImageFolder layout, as used by
// Imagenette and Caltech-101's 101_ObjectCategories).
#include <algorithm>

#include "eval/eval_util.h"
#include "util/directory_walk.h"
#include "zeroclip/error.h"
#include "zeroclip/eval.h"
#include "zeroclip/image_batches.h"

namespace zeroclip {

Dataset read_imagefolder(const std::filesystem::path& dir) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
        throw Error(dir.string() + ": not a directory",
                    std::filesystem::exists(dir, ec) ? ErrorKind::InvalidInput : ErrorKind::NotFound);
    std::vector<std::filesystem::path> class_dirs;
    for (auto it = std::filesystem::directory_iterator(dir, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (!name.starts_with(".") && it->is_directory(ec)) class_dirs.push_back(it->path());
    }
    if (ec) throw Error(dir.string() + ": cannot list directory: " + ec.message());
    if (class_dirs.empty()) throw Error(dir.string() + ": no class sub-folders");
    if (class_dirs.size() > kMaxDatasetClasses)
        throw Error(dir.string() + ": too many class folders (" + std::to_string(class_dirs.size()) + ")");
    std::sort(class_dirs.begin(), class_dirs.end());

    Dataset dataset;
    // One walk over all classes: a folder linked into two classes is read once.
    DirectoryWalk walk(is_image_file_name);
    for (const auto& class_dir : class_dirs) {
        const int label = static_cast<int>(dataset.class_keys.size());
        dataset.class_keys.push_back(class_dir.filename().string());
        for (auto& path : walk.files_under(class_dir)) {
            if (dataset.samples.size() >= kMaxDatasetSamples)
                throw Error(dir.string() + ": more than " + std::to_string(kMaxDatasetSamples) + " images");
            dataset.samples.push_back({path.string(), path, -1, label});
        }
    }
    for (const auto& problem : walk.problems()) dataset.problems.push_back({problem.path, problem.message});
    if (dataset.samples.empty()) throw Error(dir.string() + ": no images in the class folders");
    set_default_class_names(dataset, dir.string());
    return dataset;
}

}  // namespace zeroclip
