// ClipModel::load: the family's towers (from config.json) over the backend make_backend picks.
#include "backend/backend.h"
#include "models/registry.h"
#include "zeroclip/error.h"
#include "zeroclip/model.h"

namespace zeroclip {

std::unique_ptr<ClipModel> ClipModel::load(const std::filesystem::path& model_dir, const ModelOptions& options) {
    if (options.threads < 0) throw Error("threads must be >= 0, got " + std::to_string(options.threads));
    ClipConfig config = ClipConfig::from_file(model_dir / "config.json");
    const ModelFamily& family = model_family(config.family);
    return family.load_towers(model_dir, std::move(config),
                              make_backend(options.device, options.precision, options.threads), options.cache);
}

}  // namespace zeroclip
