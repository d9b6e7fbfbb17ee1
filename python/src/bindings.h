// The parts of the extension module, each registering its classes and functions.
#pragma once

#include <pybind11/pybind11.h>

namespace zeroclip::python {

// zeroclip.Index (python/src/index_binding.cpp).
void bind_index(pybind11::module_& m);

}  // namespace zeroclip::python
