// Dataset specs ("kind:path"), default class names and evenly spread limits.
#include <algorithm>

#include "eval/eval_util.h"
#include "zeroclip/error.h"
#include "zeroclip/eval.h"

namespace zeroclip {

Dataset read_dataset(const std::string& spec) {
    const size_t colon = spec.find(':');
    const std::string kind = colon == std::string::npos ? std::string() : spec.substr(0, colon);
    const std::filesystem::path path = colon == std::string::npos ? spec : spec.substr(colon + 1);
    if (colon != std::string::npos && path.empty())
        throw Error("--dataset " + spec + ": no path after '" + kind + ":'", ErrorKind::InvalidInput);
    Dataset dataset;
    if (kind == "imagefolder") dataset = read_imagefolder(path);
    else if (kind == "cifar10") dataset = read_cifar(path, false);
    else if (kind == "cifar100") dataset = read_cifar(path, true);
    else if (kind == "csv") dataset = read_csv_dataset(path);
    else
        throw Error("--dataset " + spec +
                    ": expected imagefolder:DIR, cifar10:DIR, cifar100:DIR or csv:FILE",
                    ErrorKind::InvalidInput);
    dataset.spec = spec;
    return dataset;
}

std::string default_class_name(const std::string& key) {
    std::string name = key;
    std::replace(name.begin(), name.end(), '_', ' ');
    return name;
}

void limit_samples(Dataset& dataset, size_t n) {
    const size_t total = dataset.samples.size();
    if (n == 0 || n >= total) return;
    std::vector<Sample> kept;
    kept.reserve(n);
    // floor(i * total / n) is strictly increasing for n < total: no sample is taken twice.
    for (size_t i = 0; i < n; ++i)
        kept.push_back(std::move(dataset.samples[static_cast<size_t>(
            static_cast<unsigned __int128>(i) * total / n)]));
    dataset.samples = std::move(kept);
}

}  // namespace zeroclip
