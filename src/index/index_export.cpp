// Exporting the live vectors: NumPy + a paths file, or JSON lines for vector databases.
#include <nlohmann/json.hpp>

#include "index/index_impl.h"
#include "util/atomic_file.h"
#include "util/npy.h"
#include "zeroclip/error.h"

namespace zeroclip {

size_t Index::export_npy(const std::filesystem::path& npy, const std::filesystem::path& paths_file) {
    const std::lock_guard lock(impl_->mutex);
    index::IndexStore& store = impl_->store;
    const int dim = model().dim;
    std::vector<float> vectors;
    std::vector<int64_t> ids;
    store.db().exec("BEGIN");  // vectors and paths from one snapshot
    try {
        store.for_each_live_vector([&](int64_t id, const float* v) {
            ids.push_back(id);
            vectors.insert(vectors.end(), v, v + dim);
        });
        AtomicFile paths(paths_file);
        for (const auto& row : store.live_rows()) paths.stream() << row.path << '\n';  // same id order
        store.db().exec("COMMIT");
        write_npy_f32(npy, {static_cast<int64_t>(ids.size()), dim}, vectors.data());
        paths.commit();
    } catch (...) {
        sqlite3_exec(store.db().handle(), "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
    return ids.size();
}

size_t Index::export_jsonl(const std::filesystem::path& jsonl) {
    const std::lock_guard lock(impl_->mutex);
    index::IndexStore& store = impl_->store;
    AtomicFile out(jsonl);
    size_t count = 0;
    store.db().exec("BEGIN");
    try {
        index::Statement s(store.db(), "SELECT path, vector FROM images WHERE deleted = 0 ORDER BY id");
        const size_t dim = static_cast<size_t>(model().dim);
        while (s.step()) {
            const auto blob = s.column_blob(1);
            if (blob.size() != dim * sizeof(float)) throw Error(path().string() + ": damaged vector");
            const float* v = reinterpret_cast<const float*>(blob.data());
            nlohmann::json line = {{"path", s.column_blob_string(0)}, {"embedding", std::vector<float>(v, v + dim)}};
            // File names need not be UTF-8: replace invalid bytes instead of throwing.
            out.stream() << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
            ++count;
        }
        store.db().exec("COMMIT");
    } catch (...) {
        sqlite3_exec(store.db().handle(), "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
    out.commit();
    return count;
}

}  // namespace zeroclip
