// Between Python objects and the library's types: numpy results that own the library's buffer
// (no copy), image inputs from paths and HWC uint8 arrays, paths in the file system's encoding
// (as os.fsdecode/os.fsencode: any byte string is a path), and zeroclip::Error -> Python.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <vector>

#include "zeroclip/image_batches.h"
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

// str, bytes or os.PathLike -> path, encoded as os.fsencode does (a str's surrogate escapes
// become the bytes they stand for); anything else a TypeError naming `what`.
std::filesystem::path to_path(const py::handle& object, const std::string& what);

// path -> str as os.fsdecode does: bytes that are not UTF-8 become surrogate escapes, so that
// os.fsencode, open() or any zeroclip function taking a path gets the same file back.
py::str path_to_python(const std::filesystem::path& path);

// A message from the library (one that may quote a path whose bytes are not UTF-8): invalid
// bytes are shown as \xNN escapes rather than failing the conversion.
py::str message_to_python(const std::string& message);

// The library's path arguments (std::string on POSIX: the path's bytes).
std::vector<std::string> native_strings(const std::vector<std::filesystem::path>& paths);

// [(path, message)] of images the library skipped.
py::list failures_to_python(const std::vector<ImageFailure>& failures);

// Registers the translation of zeroclip::Error to ValueError, FileNotFoundError, RuntimeError.
void register_error_translator();

}  // namespace zeroclip::python
