// The extension module zeroclip._zeroclip: bindings of the library's pipelines. Each call
// converts its arguments, releases the GIL for the library's work, and converts the result;
// no pipeline logic lives here.
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <memory>

#include "bindings.h"
#include "conversions.h"
#include "py_clip.h"
#include "zeroclip/error.h"
#include "zeroclip/eval.h"
#include "zeroclip/evaluate.h"
#include "zeroclip/hub.h"
#include "zeroclip/zeroclip.h"

namespace zeroclip::python {

namespace {

using Lock = std::lock_guard<std::mutex>;

std::unique_ptr<PyClip> open_clip(const std::filesystem::path& model, const std::string& precision, int threads,
                                  const std::string& device, int batch_size) {
    if (threads < 0) throw Error("threads must be 0 (all cores) or more", ErrorKind::InvalidInput);
    if (batch_size < 1) throw Error("batch_size must be at least 1", ErrorKind::InvalidInput);
    ModelOptions options;
    options.precision = parse_precision(precision);
    options.device = parse_device(device);
    options.threads = threads;
    py::gil_scoped_release unlocked;
    const auto dir = resolve_model(model.native(), HubOptions::from_environment());
    return std::make_unique<PyClip>(model.native(), Clip::open(dir, options), dir,
                                    ImageRunOptions{batch_size, threads});
}

std::vector<std::string> texts_argument(const std::vector<std::string>& texts) {
    if (texts.empty()) throw Error("no texts given", ErrorKind::InvalidInput);
    return texts;
}

std::vector<std::string> templates_argument(const py::object& templates) {
    if (templates.is_none()) return {kDefaultTemplate};
    if (py::isinstance<py::str>(templates)) return load_templates(to_path(templates, "templates").native());
    return templates.cast<std::vector<std::string>>();
}

py::list classifications_to_python(const ZeroShotClassifier& classifier, const std::vector<Classification>& results) {
    py::list out;
    for (const auto& result : results) {
        py::list predictions;
        for (const auto& p : result.predictions) {
            py::dict prediction;
            prediction["label"] = classifier.labels()[p.index];
            prediction["score"] = p.score;
            predictions.append(prediction);
        }
        py::dict item;
        item["image"] = result.image.empty() ? py::object(py::none()) : py::object(path_to_python(result.image));
        item["predictions"] = predictions;
        out.append(item);
    }
    return out;
}

py::object json_to_python(const std::string& json) { return py::module_::import("json").attr("loads")(json); }

void bind_clip(py::module_& m) {
    py::class_<PyClip>(m, "Clip", R"doc(A CLIP model: tokenizer, image preprocessing and both towers.

Clip(model, precision="fp32", threads=0, device="cpu", batch_size=32)

model: a Hugging Face id "org/name[@revision]" (downloaded once into the Hugging Face cache)
or a local model directory (str, bytes or os.PathLike). precision: "fp32" (exact), "bf16" or "int8". threads: 0 for all
cores. batch_size: images per call of the image tower.)doc")
        .def(py::init(&open_clip), py::arg("model"), py::arg("precision") = "fp32", py::arg("threads") = 0,
             py::arg("device") = "cpu", py::arg("batch_size") = 32)
        .def_property_readonly("model", [](const PyClip& c) { return path_to_python(c.model); },
                               "The model as given (hub id or directory), as os.fsdecode gives it.")
        .def_property_readonly("model_dir", [](const PyClip& c) { return path_to_python(c.model_dir); },
                               "The local directory of the model's files.")
        .def_property_readonly("precision", [](PyClip& c) { return precision_name(c.clip.model().precision()); },
                               "The precision the towers run in (fp32 when the CPU cannot run the one asked for).")
        .def_property_readonly(
            "fingerprint",
            [](const PyClip& c) {
                py::gil_scoped_release unlocked;
                return model_fingerprint(c.model_dir);
            },
            "Identity of the model's files (weights and configs), as an index records it.")
        .def_property_readonly("projection_dim", [](const PyClip& c) { return c.clip.config().projection_dim; },
                               "Width of the embeddings.")
        .def_property_readonly("image_size", [](const PyClip& c) { return c.clip.config().vision.image_size; },
                               "Height and width of pixel_values.")
        .def_property_readonly("context_length",
                               [](const PyClip& c) { return c.clip.config().text.max_position_embeddings; },
                               "Most tokens per text, start and end tokens included.")
        .def_property_readonly("logit_scale", [](const PyClip& c) { return c.clip.logit_scale(); },
                               "exp(logit_scale): the temperature of zero-shot scores.")
        .def(
            "tokenize",
            [](PyClip& c, const std::vector<std::string>& texts) {
                std::vector<std::vector<int32_t>> ids;
                py::gil_scoped_release unlocked;
                for (const auto& text : texts) ids.push_back(c.clip.tokenize(text));
                return ids;
            },
            py::arg("texts"),
            "Token ids of each text with start and end tokens, truncated to context_length (as `zeroclip tokenize`).")
        .def(
            "embed_texts",
            [](PyClip& c, const std::vector<std::string>& texts, int batch_size) {
                const auto checked = texts_argument(texts);
                Matrix out;
                {
                    py::gil_scoped_release unlocked;
                    Lock lock(c.mutex);
                    out = c.clip.embed_texts(checked, batch_size);
                }
                return to_numpy(std::move(out));
            },
            py::arg("texts"), py::arg("batch_size") = 4096,
            "get_text_features of each text: float32 [len(texts), projection_dim], not normalised.")
        .def(
            "embed_images",
            [](PyClip& c, const py::sequence& images) {
                const auto inputs = to_image_inputs(images);
                Matrix out;
                {
                    py::gil_scoped_release unlocked;
                    Lock lock(c.mutex);
                    out = embed_images(c.clip, inputs, c.run);
                }
                return to_numpy(std::move(out));
            },
            py::arg("images"),
            R"doc(get_image_features of each image: float32 [len(images), projection_dim], not normalised.

images: paths (str or os.PathLike) and/or uint8 numpy arrays [H, W] (L) or [H, W, C] with C = 1,
2, 3 or 4 (L, LA, RGB, RGBA), e.g. numpy.asarray(pil_image). Raises FileNotFoundError for a
missing file, ValueError for a file that is not an image or an array of the wrong dtype or shape.)doc")
        .def(
            "embed_image_files",
            [](PyClip& c, const std::vector<std::filesystem::path>& paths) {
                ImageEmbeddings result;
                std::vector<ImageFailure> failures;
                {
                    py::gil_scoped_release unlocked;
                    Lock lock(c.mutex);
                    result = embed_image_files(c.clip, paths, c.run,
                                               [&](const ImageFailure& f) { failures.push_back(f); });
                }
                py::list names;
                for (const auto& p : result.paths) names.append(path_to_python(p));
                return py::make_tuple(names, to_numpy(std::move(result.embeddings)), failures_to_python(failures));
            },
            py::arg("paths"),
            R"doc(Embeds image files like `zeroclip embed`: unreadable images are skipped, not raised.

Returns (paths, embeddings, failures): the paths that decoded, in input order; their
get_image_features rows [len(paths), projection_dim]; and (path, message) for each skipped one.
Paths are str, bytes or os.PathLike; those returned are str as os.fsdecode gives them.)doc")
        .def(
            "preprocess",
            [](PyClip& c, const py::sequence& images) {
                const auto inputs = to_image_inputs(images);
                std::vector<float> values;
                {
                    py::gil_scoped_release unlocked;
                    values = preprocess_images(c.clip.preprocess_config(), inputs, c.run);
                }
                const auto& config = c.clip.preprocess_config();
                return to_numpy(std::move(values), {static_cast<py::ssize_t>(inputs.size()), 3, config.crop_height,
                                                    config.crop_width});
            },
            py::arg("images"),
            "CLIPImageProcessor's pixel_values: float32 [len(images), 3, H, W] (images as for embed_images).")
        .def(
            "classify",
            [](PyClip& c, const py::sequence& images, const std::vector<std::string>& labels,
               const py::object& templates, int top_k) {
                const auto inputs = to_image_inputs(images);
                const auto prompts = templates_argument(templates);
                std::unique_ptr<ZeroShotClassifier> classifier;
                std::vector<Classification> results;
                {
                    py::gil_scoped_release unlocked;
                    Lock lock(c.mutex);
                    classifier = std::make_unique<ZeroShotClassifier>(c.clip, labels, prompts);
                    results = classifier->classify(inputs, c.run, top_k);
                }
                return classifications_to_python(*classifier, results);
            },
            py::arg("images"), py::arg("labels"), py::arg("templates") = py::none(), py::arg("top_k") = 5,
            R"doc(Zero-shot classification: for each image {"image": path or None, "predictions":
[{"label": ..., "score": ...}, ...]} with the top_k labels, best first (as `zeroclip classify --json`).

templates: None ("a photo of a {}."), a built-in set name ("imagenet", "cifar10", ...), a file of one
template a line, or a list of templates with {} for the label.)doc");
}

void bind_functions(py::module_& m) {
    m.def(
        "evaluate",
        [](PyClip& c, const std::filesystem::path& dataset, const py::object& templates,
           const std::filesystem::path& classnames, size_t limit, const std::filesystem::path& cache,
           const std::filesystem::path& out) {
            EvalSettings settings;
            settings.dataset = dataset.native();
            settings.templates = templates_argument(templates);
            settings.classnames = classnames;
            settings.limit = limit;
            settings.cache_dir = cache;
            settings.model_dir = c.model_dir;
            settings.model_name = c.model;
            settings.run = c.run;
            std::string json;
            {
                py::gil_scoped_release unlocked;
                Lock lock(c.mutex);
                const Evaluation result = evaluate(c.clip, settings);
                if (!out.empty()) write_report_files(result.report, out);
                json = metrics_json(result.report);
            }
            return json_to_python(json);
        },
        py::arg("clip"), py::arg("dataset"), py::arg("templates") = py::none(), py::arg("classnames") = "",
        py::arg("limit") = 0, py::arg("cache") = "", py::arg("out") = "",
        R"doc(Zero-shot accuracy on a labelled dataset, as `zeroclip eval`: returns the metrics.json dict
(dataset, model, templates, n, skipped, metrics {acc1, acc5, mean_per_class_recall}, per_class, ...).

dataset: "imagefolder:DIR", "cifar10:DIR", "cifar100:DIR" or "csv:FILE". classnames: a TSV or
one-name-a-line file. limit: evaluate N images spread over the dataset. cache: an image-embedding
cache folder. out: also write metrics.json, predictions.csv, confusion.csv and report.html there.)doc");
    m.def(
        "resolve_model",
        [](const std::filesystem::path& spec) {
            std::filesystem::path dir;
            {
                py::gil_scoped_release unlocked;
                dir = resolve_model(spec.native(), HubOptions::from_environment());
            }
            return path_to_python(dir);
        },
        py::arg("model"),
        "The local directory of a model: the directory itself, or the Hugging Face cache snapshot of a hub "
        "id (downloaded when missing; HF_HUB_OFFLINE, HF_TOKEN... as for the command line).");
    m.def(
        "expand_image_paths",
        [](const std::vector<std::filesystem::path>& inputs) {
            std::vector<ImageFailure> failures;
            const auto found = expand_image_paths(native_strings(inputs), failures);
            py::list paths;
            for (const auto& p : found) paths.append(path_to_python(p));
            return py::make_tuple(paths, failures_to_python(failures));
        },
        py::arg("inputs"),
        "Files as given and directories expanded recursively to their images in sorted order, as the command "
        "line does: returns (paths, [(input, message)] for inputs that do not exist). Inputs are str, bytes or "
        "os.PathLike; the paths returned are str as os.fsdecode gives them (any file name, UTF-8 or not).");
    m.def(
        "template_set", [](const std::filesystem::path& name) { return load_templates(name.native()); },
        py::arg("name"),
        "The prompt templates of a built-in set (imagenet, cifar10, ...) or of a file, one a line.");
}

}  // namespace

}  // namespace zeroclip::python

PYBIND11_MODULE(_zeroclip, m) {
    using namespace zeroclip::python;
    m.doc() = "zeroclip's C++ engine (use the package `zeroclip`).";
    m.attr("__version__") = ZEROCLIP_VERSION;
    register_error_translator();
    bind_clip(m);
    bind_functions(m);
    bind_index(m);
}
