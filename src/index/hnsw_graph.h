// index/hnsw_graph.h - the approximate-search sidecar: an hnswlib graph over unit vectors
// (inner product), labelled by database row id, saved beside the database and loaded only
// after its size and checksum match what the database recorded (hnswlib's loader trusts its
// input: a damaged file would otherwise be read out of bounds).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "index/exact_search.h"

namespace hnswlib {
template <typename T> class HierarchicalNSW;
class InnerProductSpace;
}  // namespace hnswlib

namespace zeroclip::index {

// What the database records about the sidecar file it trusts.
struct GraphFileRecord {
    int64_t generation = -1;  // the database generation the graph reflects
    uint64_t bytes = 0;
    std::string checksum;     // 32 hex digits of hash_bytes over the whole file
    int m = 0;
};

class HnswGraph {
public:
    HnswGraph(int dim, size_t capacity, int m, int ef_construction);
    ~HnswGraph();

    // Loads `path` when its size and checksum match `record` and its header fits `dim`;
    // otherwise returns nullptr and says why in `reason`.
    static std::unique_ptr<HnswGraph> load(const std::filesystem::path& path, int dim,
                                           const GraphFileRecord& record, std::string& reason);
    // Writes the graph to `path` atomically (temporary file renamed into place) and returns
    // the record to store in the database.
    GraphFileRecord save(const std::filesystem::path& path, int64_t generation) const;

    // Adds rows on `threads` workers (hnswlib's insertion is thread-safe for distinct labels);
    // `on_progress(done, total)`, when given, is called from the calling thread now and then.
    void add(const std::vector<int64_t>& ids, const std::vector<float>& vectors, int threads,
             const std::function<void(size_t, size_t)>& on_progress = {});
    void remove(int64_t id);  // no-op when absent
    size_t size() const;      // entries, tombstoned ones included
    size_t deleted() const;
    int dim() const { return dim_; }

    // Best first: (score = inner product, row id). Besides hnswlib's greedy descent from its
    // single entry point, the query is scored against the pivots; when one of them beats the
    // k-th result, the descent ended in the wrong region (a small group of rows weakly linked
    // to the rest), and a second base-layer search starts from that pivot.
    std::vector<std::pair<float, int64_t>> search(const float* query, size_t k, size_t ef) const;
    size_t pivot_count() const { return pivots_.size(); }
    size_t relinked() const { return relinked_; }  // by the last add()
    void set_relink_strays(bool on) { relink_strays_ = on; }  // on by default; off to compare
    // Rows from `first` on that no query could reach, each with its nearest pivot (see
    // relink_stray_rows): none once add() has relinked them.
    std::vector<std::pair<uint32_t, uint32_t>> stray_rows(size_t first, int threads) const;

    // The graph's own copy of the vectors, for exact search without a second copy in memory.
    RowLayout rows() const;
    int64_t id_at(size_t position) const;

private:
    HnswGraph(int dim);
    // Re-derives the pivots from the graph's rows (deterministic: no state beyond the file).
    void choose_pivots();
    // Rows from `first` on that hnswlib linked only to rows farther than the nearest pivot (a
    // small group far from the rest, inserted while nothing led into it, got linked to
    // unrelated rows) are linked again from a search started at that pivot. Returns how many.
    size_t relink_stray_rows(size_t first, int threads);
    int dim_;
    std::vector<uint32_t> pivots_;  // internal ids spread over the collection's regions
    size_t relinked_ = 0;
    bool relink_strays_ = true;
    std::unique_ptr<hnswlib::InnerProductSpace> space_;
    std::unique_ptr<hnswlib::HierarchicalNSW<float>> graph_;
};

// hash_bytes of a whole file (memory-mapped), as 32 hex digits.
std::string file_checksum(const std::filesystem::path& path);

}  // namespace zeroclip::index
