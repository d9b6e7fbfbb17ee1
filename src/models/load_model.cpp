// ClipModel::load: the one place that picks the family's towers and the device they run on.
#include "cuda/cuda_clip_model.h"
#include "models/registry.h"
#include "zeroclip/error.h"
#include "zeroclip/model.h"

namespace zeroclip {

std::unique_ptr<ClipModel> ClipModel::load(const std::filesystem::path& model_dir, const ModelOptions& options) {
    if (options.threads < 0) throw Error("threads must be >= 0, got " + std::to_string(options.threads));
    ClipConfig config = ClipConfig::from_file(model_dir / "config.json");
    const ModelFamily& family = model_family(config.family);
    if (options.device != Device::Cpu && select_device(options.device, options.precision, probe_cuda()) == Device::Cuda) {
        // The CUDA towers are CLIP's only; --device auto runs other families on the CPU.
        if (family.name == "clip") return load_cuda_clip_model(model_dir, options);
        if (options.device == Device::Cuda)
            throw Error(model_dir.string() + ": the CUDA backend runs CLIP models only; " + family.name +
                        " runs with --device cpu");
    }
    return family.load_towers(model_dir, std::move(config), make_cpu_backend(options.threads, options.precision),
                              options.cache);
}

}  // namespace zeroclip
