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
    if (py::isinstance<py::str>(object) || py::isinstance<py::bytes>(object) || py::hasattr(object, "__fspath__")) {
        const py::object encoded = py::module_::import("os").attr("fsencode")(object);
        if (py::isinstance<py::bytes>(encoded)) {
            std::string bytes = encoded.cast<std::string>();
            if (bytes.find('\0') != std::string::npos)
                throw py::value_error(what + ": a path cannot hold a NUL byte");
            return std::filesystem::path(std::move(bytes));
        }
    }
    throw py::type_error(what + ": expected a path (str, bytes or os.PathLike), got " +
                         py::str(py::type::of(object).attr("__name__")).cast<std::string>());
}

py::str path_to_python(const std::filesystem::path& path) {
    const std::string& native = path.native();
    PyObject* decoded = PyUnicode_DecodeFSDefaultAndSize(native.data(), static_cast<Py_ssize_t>(native.size()));
    if (!decoded) throw py::error_already_set();
    return py::reinterpret_steal<py::str>(decoded);
}

py::str message_to_python(const std::string& message) {
    PyObject* decoded = PyUnicode_DecodeUTF8(message.data(), static_cast<Py_ssize_t>(message.size()), "backslashreplace");
    if (!decoded) throw py::error_already_set();
    return py::reinterpret_steal<py::str>(decoded);
}

std::vector<std::string> native_strings(const std::vector<std::filesystem::path>& paths) {
    std::vector<std::string> out;
    out.reserve(paths.size());
    for (const auto& p : paths) out.push_back(p.native());
    return out;
}

py::list failures_to_python(const std::vector<ImageFailure>& failures) {
    py::list out;
    for (const auto& f : failures) out.append(py::make_tuple(path_to_python(f.path), message_to_python(f.message)));
    return out;
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
    if (py::isinstance<py::str>(images) || py::isinstance<py::bytes>(images))
        throw py::type_error("images: expected a list of paths or arrays, got a single " +
                             py::str(py::type::of(images).attr("__name__")).cast<std::string>());
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
            // The message may quote a path that is not UTF-8 (PyErr_SetString would fail on it).
            PyObject* type = e.kind() == ErrorKind::InvalidInput ? PyExc_ValueError
                             : e.kind() == ErrorKind::NotFound   ? PyExc_FileNotFoundError
                                                                 : PyExc_RuntimeError;
            PyErr_SetObject(type, message_to_python(e.what()).ptr());
        }
    });
}

}  // namespace zeroclip::python
