// backend_module.h - backends built as modules of their own (libzeroclip-cuda.so), loaded with
// dlopen only when a command asks for that device.
//
// Linking the CUDA backend into every binary made each process map cuBLASLt at start-up (~0.2 s,
// ~200 MB RSS), even `zeroclip --version` and CPU runs. As a module it costs nothing until the
// first `--device cuda|auto` probe. Core and module hand C++ objects to each other
// (BackendFactory, Backend, zeroclip::Error), so they must come from the same build: the core
// refuses a module of another interface revision or version.
//
// The module is looked up in $ZEROCLIP_BACKEND_PATH (a directory, or the file itself) when set,
// else beside the binary that holds the core (the zeroclip program, the test program, the Python
// extension) and in ../lib/zeroclip from there (an installed tree: bin/ and lib/zeroclip/).
#pragma once

#include <string>

#include "backend/backend.h"

namespace zeroclip {

// What a module exports, under the C name kBackendModuleSymbol.
struct BackendModule {
    int interface_revision;     // kBackendModuleRevision when it was built
    const char* version;        // ZEROCLIP_VERSION when it was built
    BackendFactory (*factory)();
};

// Raise when backend.h's classes or BackendModule change shape.
inline constexpr int kBackendModuleRevision = 1;
inline constexpr const char* kBackendModuleSymbol = "zeroclip_backend_module";
extern "C" using BackendModuleEntry = const BackendModule*();

// "libzeroclip-<name>.so".
std::string backend_module_file(const std::string& name);

struct LoadedBackendModule {
    const BackendFactory* factory = nullptr;  // null when it could not be loaded
    std::string error;                        // then why, one line: "cannot load libzeroclip-cuda.so: ..."
};

// Loads the module once per process (it is never unloaded) and returns its factory; thread-safe.
const LoadedBackendModule& load_backend_module(const std::string& name);

// Whether the module has been loaded into this process (for tests and diagnostics).
bool backend_module_loaded(const std::string& name);

}  // namespace zeroclip
