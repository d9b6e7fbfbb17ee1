// index/index_impl.h - the state behind zeroclip::Index, shared by its source files: the
// database, and the vectors in memory (a dense matrix for small collections, the HNSW graph
// for large ones), tagged with the database generation they reflect.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "index/hnsw_graph.h"
#include "index/index_store.h"
#include "zeroclip/index.h"

namespace zeroclip {

struct Index::Impl {
    Impl(const std::filesystem::path& path, const IndexModel* model, const IndexOptions& options)
        : options(options), store(path, model, options.read_only) {}

    IndexOptions options;
    index::IndexStore store;
    std::mutex mutex;  // one public call at a time (the server searches from several threads)

    // Vectors in memory, valid for `loaded_generation`.
    int64_t loaded_generation = -1;
    std::unique_ptr<index::HnswGraph> graph;  // when the collection is at the threshold or above
    int64_t graph_generation = -1;            // the generation `graph` reflects
    bool graph_on_disk = false;               // the .hnsw file (as recorded) holds `graph`
    std::vector<int64_t> dense_ids;           // otherwise: ids and unit vectors of live rows
    std::vector<float> dense_vectors;

    std::filesystem::path graph_path() const { return store.path().string() + ".hnsw"; }
    void note(const std::string& message) const {
        if (options.on_note) options.on_note(message);
    }
    int threads() const;

    // Brings the in-memory vectors up to the database's generation, building, updating or
    // loading the graph as needed (and saving it unless read-only).
    void refresh();
    void update_graph();
    // The layout that exact search scans, and the row id at a position of it.
    index::RowLayout exact_rows() const;
    int64_t id_at(size_t position) const;
    // Row ids with scores -> hits with current paths (rows gone since are dropped).
    std::vector<SearchHit> resolve(const std::vector<std::pair<float, int64_t>>& scored);
};

void normalize(std::span<float> v);

}  // namespace zeroclip
