// zeroclip.Clip: a model opened for Python, with a lock so that one model's buffers serve one
// call at a time (the lock is taken with the GIL released; other Python threads keep running).
#pragma once

#include <filesystem>
#include <mutex>
#include <string>

#include "zeroclip/clip.h"
#include "zeroclip/pipelines.h"

namespace zeroclip::python {

struct PyClip {
    PyClip(std::string spec, Clip opened, std::filesystem::path dir, ImageRunOptions options)
        : model(std::move(spec)), model_dir(std::move(dir)), clip(std::move(opened)), run(options) {}

    std::string model;               // as given: hub id or directory
    std::filesystem::path model_dir;  // where its files are
    Clip clip;
    ImageRunOptions run;
    std::mutex mutex;
};

}  // namespace zeroclip::python
