#include "conversions.h"

#include <memory>
#include <string>

#include "zeroclip/error.h"
#include "zeroclip/image.h"

namespace zeroclip::python {

py::array_t<float> to_numpy(std::vector<float>&& values, std::vector<py::ssize_t> shape) {
    auto owner = std::make_unique<std::vector<float>>(std::move(values));
    float* data = owner->data();
    py::capsule free_when_done(owner.get(), [](void* p) { delete static_cast<std::vector<float>*>(p); });
    owner.release();  // the capsule owns it now
    return py::array_t<float>(std::move(shape), data, free_when_done);
}

py::array_t<float> to_numpy(Matrix&& matrix) {
    const std::vector<py::ssize_t> shape{matrix.rows, matrix.cols};
    return to_numpy(std::move(matrix.data), shape);
}

std::filesystem::path to_path(const py::handle& object, const std::string& what) {
    if (py::isinstance<py::str>(object) || py::hasattr(object, "__fspath__")) {
        const py::object fspath = py::module_::import("os").attr("fspath")(object);
        if (py::isinstance<py::str>(fspath)) return std::filesystem::path(fspath.cast<std::string>());
    }
    throw py::type_error(what + ": expected a path (str or os.PathLike), got " +
                         py::str(py::type::of(object).attr("__name__")).cast<std::string>());
}

namespace {

RgbImage to_rgb_image(const py::array& array, const std::string& name) {
    if (array.dtype().kind() != 'u' || array.itemsize() != 1)
        throw Error(name + ": expected a uint8 array, got dtype " + py::str(array.dtype()).cast<std::string>(),
                    ErrorKind::InvalidInput);
    if (array.ndim() != 2 && array.ndim() != 3)
        throw Error(name + ": expected an array of shape [H, W] or [H, W, C], got " + std::to_string(array.ndim()) +
                        " dimensions",
                    ErrorKind::InvalidInput);
    if (array.shape(0) > kMaxImagePixels || array.shape(1) > kMaxImagePixels)
        throw Error(name + ": " + std::to_string(array.shape(1)) + "x" + std::to_string(array.shape(0)) +
                        " exceeds the limit of " + std::to_string(kMaxImagePixels) + " pixels",
                    ErrorKind::InvalidInput);
    // Strided views (crops, channel-reversed arrays) become one contiguous block first.
    const auto pixels = py::array_t<uint8_t, py::array::c_style>::ensure(array);
    const int channels = array.ndim() == 3 ? static_cast<int>(array.shape(2)) : 1;
    return rgb_image_from_pixels({pixels.data(), static_cast<size_t>(pixels.size())},
                                 static_cast<int>(array.shape(1)), static_cast<int>(array.shape(0)), channels,
                                 name);
}

}  // namespace

std::vector<ImageInput> to_image_inputs(const py::sequence& images) {
    if (py::isinstance<py::str>(images))
        throw py::type_error("images: expected a list of paths or arrays, got a str");
    std::vector<ImageInput> inputs;
    inputs.reserve(images.size());
    for (size_t i = 0; i < images.size(); ++i) {
        const py::object item = images[i];
        const std::string name = "images[" + std::to_string(i) + "]";
        if (py::isinstance<py::array>(item)) inputs.emplace_back(to_rgb_image(item.cast<py::array>(), name));
        else inputs.emplace_back(to_path(item, name));
    }
    return inputs;
}

void register_error_translator() {
    py::register_exception_translator([](std::exception_ptr pointer) {
        try {
            if (pointer) std::rethrow_exception(pointer);
        } catch (const Error& e) {
            switch (e.kind()) {
            case ErrorKind::InvalidInput: PyErr_SetString(PyExc_ValueError, e.what()); return;
            case ErrorKind::NotFound: PyErr_SetString(PyExc_FileNotFoundError, e.what()); return;
            case ErrorKind::Failure: break;
            }
            PyErr_SetString(PyExc_RuntimeError, e.what());
        }
    });
}

}  // namespace zeroclip::python
