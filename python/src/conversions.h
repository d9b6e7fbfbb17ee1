// Between Python objects and the library's types: numpy results that own the library's buffer
// (no copy), image inputs from paths and HWC uint8 arrays, and zeroclip::Error -> Python.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <vector>

#include "zeroclip/model.h"
#include "zeroclip/pipelines.h"

namespace zeroclip::python {

namespace py = pybind11;

// A float32 numpy array of `shape` that takes over `values` (freed with the array).
py::array_t<float> to_numpy(std::vector<float>&& values, std::vector<py::ssize_t> shape);
py::array_t<float> to_numpy(Matrix&& matrix);

// Each item: a str or os.PathLike (a file), or a uint8 numpy array [H, W] or [H, W, C] with
// C in 1..4 (L, LA, RGB, RGBA). Throws zeroclip::Error (InvalidInput) naming images[i].
std::vector<ImageInput> to_image_inputs(const py::sequence& images);

// str or os.PathLike -> path; anything else a TypeError naming `what`.
std::filesystem::path to_path(const py::handle& object, const std::string& what);

// Registers the translation of zeroclip::Error to ValueError, FileNotFoundError, RuntimeError.
void register_error_translator();

}  // namespace zeroclip::python
