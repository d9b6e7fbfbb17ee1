// Finding and loading backend modules (backend_module.h) with dlopen.
#include "backend/backend_module.h"

#include <dlfcn.h>
#include <link.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <vector>

namespace zeroclip {

namespace fs = std::filesystem;

namespace {

// The directory of the binary this code is linked into (the core is a static library): the
// shared object's own path for the Python extension, /proc/self/exe for a program.
fs::path core_directory() {
    static const char anchor = 0;
    Dl_info info{};
    link_map* map = nullptr;
    std::error_code ec;
    if (dladdr1(&anchor, &info, reinterpret_cast<void**>(&map), RTLD_DL_LINKMAP) && map && map->l_name &&
        *map->l_name) {
        const fs::path path = fs::weakly_canonical(map->l_name, ec);
        return (ec ? fs::path(map->l_name) : path).parent_path();
    }
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);  // the main program: l_name is ""
    return ec ? fs::path() : exe.parent_path();
}

std::vector<fs::path> candidate_paths(const std::string& file) {
    if (const char* env = std::getenv("ZEROCLIP_BACKEND_PATH"); env && *env) {
        const fs::path path = env;
        std::error_code ec;
        return {fs::is_directory(path, ec) ? path / file : path};
    }
    const fs::path dir = core_directory();
    return {dir / file, dir.parent_path() / "lib" / "zeroclip" / file};
}

LoadedBackendModule load(const std::string& name) {
    const std::string file = backend_module_file(name);
    LoadedBackendModule result;
    const std::string prefix = "cannot load " + file + ": ";

    const std::vector<fs::path> candidates = candidate_paths(file);
    const fs::path* found = nullptr;
    for (const fs::path& path : candidates) {
        std::error_code ec;
        if (fs::exists(path, ec)) {
            found = &path;
            break;
        }
    }
    if (!found) {
        std::string looked;
        for (const fs::path& path : candidates) looked += (looked.empty() ? "" : ", ") + path.string();
        result.error = prefix + "not found (looked for " + looked + "; ZEROCLIP_BACKEND_PATH names another place)";
        return result;
    }

    // RTLD_LOCAL: the module's own copies of what it links (the CUDA runtime) stay its own.
    void* handle = dlopen(found->c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char* why = dlerror();
        result.error = prefix + (why ? why : "dlopen failed");
        return result;
    }
    auto* entry = reinterpret_cast<BackendModuleEntry*>(dlsym(handle, kBackendModuleSymbol));
    const BackendModule* module = entry ? entry() : nullptr;
    if (!module) {
        result.error = prefix + found->string() + " is not a zeroclip backend module (no " + kBackendModuleSymbol + ")";
        dlclose(handle);
        return result;
    }
    if (module->interface_revision != kBackendModuleRevision || std::strcmp(module->version, ZEROCLIP_VERSION) != 0) {
        result.error = prefix + found->string() + " is from another build (zeroclip " + module->version +
                       ", interface " + std::to_string(module->interface_revision) + "; this is zeroclip " +
                       ZEROCLIP_VERSION + ", interface " + std::to_string(kBackendModuleRevision) + ")";
        dlclose(handle);
        return result;
    }
    // Never unloaded: backends, their vtables and the errors they throw live in the module.
    static std::vector<std::unique_ptr<BackendFactory>> factories;
    factories.push_back(std::make_unique<BackendFactory>(module->factory()));
    if (factories.back()->name != name) {
        result.error = prefix + found->string() + " holds the '" + factories.back()->name + "' backend";
        return result;
    }
    result.factory = factories.back().get();
    return result;
}

std::mutex& modules_mutex() {
    static std::mutex mutex;
    return mutex;
}

std::map<std::string, LoadedBackendModule>& modules() {
    static std::map<std::string, LoadedBackendModule> loaded;
    return loaded;
}

}  // namespace

std::string backend_module_file(const std::string& name) { return "libzeroclip-" + name + ".so"; }

const LoadedBackendModule& load_backend_module(const std::string& name) {
    std::lock_guard lock(modules_mutex());
    auto it = modules().find(name);
    if (it == modules().end()) it = modules().emplace(name, load(name)).first;
    return it->second;
}

bool backend_module_loaded(const std::string& name) {
    std::lock_guard lock(modules_mutex());
    const auto it = modules().find(name);
    return it != modules().end() && it->second.factory;
}

}  // namespace zeroclip
