// Keeping the vectors in memory current: the dense matrix of a small collection, or the HNSW
// graph, loaded from its sidecar file when the database vouches for it, updated with the rows
// added and removed since, and rebuilt from the database when missing, stale or damaged.
#include <optional>
#include <thread>

#include "index/index_impl.h"
#include "zeroclip/error.h"

namespace zeroclip {

namespace {

// Rebuild rather than update once this share of the graph's entries are tombstones.
constexpr double kMaxDeletedShare = 0.25;

index::GraphFileRecord read_record(index::IndexStore& store) {
    index::GraphFileRecord record;
    auto number = [&](const char* key, int64_t fallback) -> int64_t {
        const auto v = store.meta(key);
        try {
            return v ? std::stoll(*v) : fallback;
        } catch (const std::logic_error&) {
            return fallback;
        }
    };
    record.generation = number("hnsw_generation", -1);
    record.bytes = static_cast<uint64_t>(number("hnsw_bytes", 0));
    record.m = static_cast<int>(number("hnsw_m", 0));
    record.checksum = store.meta("hnsw_checksum").value_or("");
    return record;
}

}  // namespace

int Index::Impl::threads() const {
    return options.threads > 0 ? options.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

void Index::Impl::refresh() {
    const int64_t generation = store.generation();
    if (generation == loaded_generation) return;
    const size_t live = store.live_count();
    if (live >= options.hnsw_threshold) {
        dense_ids.clear();
        dense_vectors.clear();
        update_graph();
        return;
    }
    graph.reset();
    graph_generation = -1;
    index::SqliteDb& db = store.db();
    db.exec("BEGIN");  // one snapshot: the rows and the generation agree
    try {
        const int64_t snapshot = store.generation();
        dense_ids.clear();
        dense_vectors.clear();
        const int dim = store.model().dim;
        store.for_each_live_vector([&](int64_t id, const float* v) {
            dense_ids.push_back(id);
            dense_vectors.insert(dense_vectors.end(), v, v + dim);
        });
        db.exec("COMMIT");
        loaded_generation = snapshot;
    } catch (...) {
        db.exec("ROLLBACK");
        throw;
    }
}

void Index::Impl::update_graph() {
    index::SqliteDb& db = store.db();
    const int dim = store.model().dim;
    index::GraphFileRecord record = read_record(store);
    if (!graph) {
        std::string reason;
        graph = index::HnswGraph::load(graph_path(), dim, record, reason);
        if (graph) {
            graph_generation = record.generation;
            graph_on_disk = true;
        } else if (reason != "missing" || record.generation >= 0) {
            note(graph_path().string() + ": " + reason + "; rebuilding it from the database");
        }
    }

    bool rows_changed = false;
    db.exec("BEGIN");  // one snapshot for the generation and the rows read
    int64_t snapshot = 0;
    try {
        snapshot = store.generation();
        const size_t live = store.live_count();
        if (graph && graph_generation > snapshot) graph.reset();  // a graph from another database state
        const auto removed = graph ? store.removed_since(graph_generation) : std::vector<int64_t>{};
        if (graph && static_cast<double>(graph->deleted() + removed.size()) >
                         kMaxDeletedShare * static_cast<double>(std::max<size_t>(graph->size(), 1)))
            graph.reset();  // mostly tombstones: rebuild compactly
        std::vector<int64_t> ids;
        std::vector<float> vectors;
        auto collect = [&](int64_t id, const float* v) {
            ids.push_back(id);
            vectors.insert(vectors.end(), v, v + dim);
        };
        if (!graph) {
            graph = std::make_unique<index::HnswGraph>(dim, live, options.hnsw_m, options.hnsw_ef_construction);
            graph_on_disk = false;
            store.for_each_live_vector(collect);
            rows_changed = true;
        } else if (graph_generation != snapshot) {
            for (int64_t id : removed) graph->remove(id);
            store.for_each_added_since(graph_generation, collect);
            rows_changed = !removed.empty() || !ids.empty();
        }
        db.exec("COMMIT");
        graph->add(ids, vectors, threads(), options.on_graph_progress);
    } catch (...) {
        sqlite3_exec(db.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
        graph.reset();
        throw;
    }
    if (rows_changed) graph_on_disk = false;
    const bool record_current = graph_generation == snapshot && graph_on_disk;
    loaded_generation = graph_generation = snapshot;
    if (options.read_only || record_current) return;
    try {
        // The file is written before the write transaction, which then only records it: a
        // concurrent add is never kept waiting for a large graph to reach the disk.
        std::optional<index::GraphFileRecord> saved;
        if (!graph_on_disk) saved = graph->save(graph_path(), snapshot);
        index::Transaction t(db);
        store.set_meta("hnsw_generation", std::to_string(snapshot));
        if (saved) {
            // Otherwise only metadata changed since the file was written (touched or moved
            // files): the file stays, the record moves on.
            store.set_meta("hnsw_bytes", std::to_string(saved->bytes));
            store.set_meta("hnsw_checksum", saved->checksum);
            store.set_meta("hnsw_m", std::to_string(saved->m));
        }
        t.commit();
        graph_on_disk = true;
    } catch (const Error& e) {
        // The graph is a cache: searching goes on with the one in memory.
        note(std::string("cannot save the search graph: ") + e.what());
    }
}

index::RowLayout Index::Impl::exact_rows() const {
    if (graph) return graph->rows();
    index::RowLayout layout;
    layout.base = reinterpret_cast<const char*>(dense_vectors.data());
    layout.dim = store.model().dim;
    layout.stride = sizeof(float) * layout.dim;
    layout.count = dense_ids.size();
    return layout;
}

int64_t Index::Impl::id_at(size_t position) const { return graph ? graph->id_at(position) : dense_ids[position]; }

}  // namespace zeroclip
