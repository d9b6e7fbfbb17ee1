// zeroclip.Index: the persistent photo index (include/zeroclip/index.h) for Python, searched
// with the Clip it was made with.
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <memory>

#include "bindings.h"
#include "conversions.h"
#include "py_clip.h"
#include "zeroclip/error.h"
#include "zeroclip/index.h"

namespace zeroclip::python {

namespace {

using Lock = std::lock_guard<std::mutex>;

// An Index and the Clip that encodes for it (kept alive by the Python object).
struct PyIndex {
    Index index;
    PyClip* clip;
};

std::unique_ptr<PyIndex> open_index(const std::filesystem::path& path, PyClip& clip) {
    py::gil_scoped_release unlocked;
    Lock lock(clip.mutex);
    const IndexModel model = describe_model(clip.model, clip.model_dir, clip.clip);
    return std::make_unique<PyIndex>(PyIndex{Index::create(path, model), &clip});
}

py::list hits_to_python(const std::vector<SearchHit>& hits) {
    py::list out;
    for (const auto& hit : hits) {
        py::dict item;
        item["path"] = path_to_python(hit.path);
        item["score"] = hit.score;
        item["row"] = hit.row;
        out.append(item);
    }
    return out;
}

SearchOptions search_options(int k, const std::optional<float>& threshold, bool exact) {
    if (k < 1) throw Error("k must be at least 1, got " + std::to_string(k), ErrorKind::InvalidInput);
    SearchOptions options;
    options.top_k = k;
    options.threshold = threshold;
    options.exact = exact;
    return options;
}

}  // namespace

void bind_index(py::module_& m) {
    py::class_<PyIndex>(m, "Index", R"doc(A persistent, incremental index of a photo collection (one SQLite file).

Index(path, clip): opens `path`, creating it for clip's model when missing (an index made with
another model is an error). add() encodes new and changed files only; search() takes a text,
a list of texts (their embeddings summed) or an embedding.)doc")
        .def(py::init(&open_index), py::arg("path"), py::arg("clip"), py::keep_alive<1, 3>())
        .def_property_readonly("path", [](PyIndex& i) { return path_to_python(i.index.path()); })
        .def(
            "add",
            [](PyIndex& i, const std::vector<std::filesystem::path>& paths) {
                const auto inputs = native_strings(paths);
                AddProgress progress;
                std::vector<ImageFailure> failed;
                {
                    py::gil_scoped_release unlocked;
                    Lock lock(i.clip->mutex);
                    AddOptions options;
                    options.run = i.clip->run;
                    progress = i.index.add(i.clip->clip, inputs, options, {},
                                           [&](const ImageFailure& f) { failed.push_back(f); });
                }
                py::dict out;
                out["scanned"] = progress.scanned;
                out["unchanged"] = progress.unchanged;
                out["reused"] = progress.reused;
                out["encoded"] = progress.encoded;
                out["removed"] = progress.removed;
                out["failed"] = failures_to_python(failed);
                return out;
            },
            py::arg("paths"),
            "Adds new and changed image files under `paths` (files or folders) and drops missing ones; returns "
            "counts {scanned, unchanged, reused, encoded, removed} and the failed (path, message) pairs.")
        .def(
            "import_shards",
            [](PyIndex& i, const std::filesystem::path& dir) {
                ImportProgress progress;
                std::vector<ImageFailure> failed;
                {
                    py::gil_scoped_release unlocked;
                    progress = i.index.import_shards(dir, {}, [&](const ImageFailure& f) { failed.push_back(f); });
                }
                py::dict out;
                out["shards"] = progress.shards;
                out["rows"] = progress.total_rows;
                out["imported"] = progress.imported;
                out["unchanged"] = progress.unchanged;
                out["failed"] = failures_to_python(failed);
                return out;
            },
            py::arg("dir"),
            R"doc(Adds the vectors that zeroclip.dask.embed wrote under `dir` without encoding anything.

Every shard is checked first (the model must be the index's, each .npy one float32 row per path):
a bad one raises naming the file and nothing is imported. Files already indexed with the same
content are skipped, so a rerun resumes; files changed or gone since their shard was written are
not imported and listed in "failed" (add() encodes them). Returns counts {shards, rows, imported,
unchanged} and the failed (path, message) pairs, the shards' unreadable images included.)doc")
        .def(
            "search",
            [](PyIndex& i, const py::object& query, int k, std::optional<float> threshold, bool exact) {
                const SearchOptions options = search_options(k, threshold, exact);
                std::vector<SearchHit> hits;
                if (py::isinstance<py::str>(query) || (py::isinstance<py::sequence>(query) && !py::isinstance<py::array>(query))) {
                    const auto texts = py::isinstance<py::str>(query) ? std::vector<std::string>{query.cast<std::string>()}
                                                                     : query.cast<std::vector<std::string>>();
                    py::gil_scoped_release unlocked;
                    Lock lock(i.clip->mutex);
                    hits = i.index.search_text(i.clip->clip, texts, options);
                } else {
                    const auto vector = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(query);
                    if (!vector || vector.ndim() != 1)
                        throw Error("query: expected a text, a list of texts or a 1-d embedding", ErrorKind::InvalidInput);
                    const std::vector<float> values(vector.data(), vector.data() + vector.size());
                    py::gil_scoped_release unlocked;
                    hits = i.index.search(values, options);
                }
                return hits_to_python(hits);
            },
            py::arg("query"), py::arg("k") = 10, py::arg("threshold") = py::none(), py::arg("exact") = false,
            "The k best images for a text, a list of texts or an embedding: [{path, score, row}], best first.")
        .def(
            "search_image",
            [](PyIndex& i, const std::filesystem::path& image, int k, std::optional<float> threshold, bool exact) {
                const SearchOptions options = search_options(k, threshold, exact);
                std::vector<SearchHit> hits;
                {
                    py::gil_scoped_release unlocked;
                    Lock lock(i.clip->mutex);
                    hits = i.index.search_image(i.clip->clip, image, options);
                }
                return hits_to_python(hits);
            },
            py::arg("image"), py::arg("k") = 10, py::arg("threshold") = py::none(), py::arg("exact") = false,
            "The k images most similar to an image file: [{path, score, row}], best first.")
        .def(
            "remove",
            [](PyIndex& i, const std::vector<std::filesystem::path>& paths) {
                const auto inputs = native_strings(paths);
                py::gil_scoped_release unlocked;
                return i.index.remove(inputs);
            },
            py::arg("paths"), "Drops these files (or everything under these folders); returns how many.")
        .def(
            "__len__", [](PyIndex& i) { return i.index.stats().images; }, "Images in the index.");
}

}  // namespace zeroclip::python
