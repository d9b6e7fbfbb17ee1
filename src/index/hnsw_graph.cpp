// HNSW sidecar: build, update, validated load and atomic save.
#include "index/hnsw_graph.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <hnswlib/hnswlib.h>

#include "zeroclip/error.h"
#include "zeroclip/eval.h"

namespace zeroclip::index {

std::string file_checksum(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error(path.string() + ": cannot open");
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        ::close(fd);
        throw Error(path.string() + ": cannot stat");
    }
    const size_t size = static_cast<size_t>(st.st_size);
    ContentHash h;
    if (size == 0) {
        h = hash_bytes({});
    } else {
        void* data = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (data == MAP_FAILED) {
            ::close(fd);
            throw Error(path.string() + ": cannot map");
        }
        ::madvise(data, size, MADV_SEQUENTIAL);
        h = hash_bytes({static_cast<const uint8_t*>(data), size}, 0x686e7377);
        ::munmap(data, size);
    }
    ::close(fd);
    char hex[33];
    std::snprintf(hex, sizeof hex, "%016llx%016llx", static_cast<unsigned long long>(h.hi),
                  static_cast<unsigned long long>(h.lo));
    return hex;
}

HnswGraph::HnswGraph(int dim) : dim_(dim), space_(std::make_unique<hnswlib::InnerProductSpace>(dim)) {}

HnswGraph::HnswGraph(int dim, size_t capacity, int m, int ef_construction) : HnswGraph(dim) {
    graph_ = std::make_unique<hnswlib::HierarchicalNSW<float>>(space_.get(), std::max<size_t>(capacity, 1), m,
                                                               ef_construction);
}

HnswGraph::~HnswGraph() = default;

namespace {

// Pivots: extra starting points for the base-layer search, chosen among a strided sample of
// the rows. 256 cost about as much to score as one hop-rich step of the search.
constexpr size_t kPivots = 256;
// Pivots a search also starts from, nearest first, when they beat its k-th result.
constexpr size_t kPivotStarts = 3;
constexpr size_t kPivotSample = 16384;

// The fixed header hnswlib's saveIndex writes, field by field.
struct GraphHeader {
    size_t offset_level0, max_elements, count, size_per_element, label_offset, offset_data;
    int max_level;
    unsigned enter_point;
    size_t max_m, max_m0, m;
    double mult;
    size_t ef_construction;
};

template <typename T> bool read_pod(std::ifstream& in, T& value) {
    return static_cast<bool>(in.read(reinterpret_cast<char*>(&value), sizeof value));
}

bool read_header(const std::filesystem::path& path, GraphHeader& h) {
    std::ifstream in(path, std::ios::binary);
    return read_pod(in, h.offset_level0) && read_pod(in, h.max_elements) && read_pod(in, h.count) &&
           read_pod(in, h.size_per_element) && read_pod(in, h.label_offset) && read_pod(in, h.offset_data) &&
           read_pod(in, h.max_level) && read_pod(in, h.enter_point) && read_pod(in, h.max_m) &&
           read_pod(in, h.max_m0) && read_pod(in, h.m) && read_pod(in, h.mult) && read_pod(in, h.ef_construction);
}

}  // namespace

std::unique_ptr<HnswGraph> HnswGraph::load(const std::filesystem::path& path, int dim, const GraphFileRecord& record,
                                           std::string& reason) {
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(path, ec);
    if (ec) {
        reason = "missing";
        return nullptr;
    }
    if (record.checksum.empty()) {
        reason = "not recorded in the database";
        return nullptr;
    }
    if (bytes != record.bytes) {
        reason = "size " + std::to_string(bytes) + " bytes, the database recorded " + std::to_string(record.bytes);
        return nullptr;
    }
    GraphHeader h{};
    if (!read_header(path, h)) {
        reason = "truncated header";
        return nullptr;
    }
    const size_t links0 = h.max_m0 * sizeof(unsigned) + sizeof(unsigned);
    if (h.m != static_cast<size_t>(record.m) || h.max_m != h.m || h.max_m0 != 2 * h.m || h.offset_level0 != 0 ||
        h.offset_data != links0 || h.label_offset != links0 + dim * sizeof(float) ||
        h.size_per_element != h.label_offset + sizeof(size_t) || (h.count > 0 && h.enter_point >= h.count)) {
        reason = "header does not fit a " + std::to_string(dim) + "-d graph";
        return nullptr;
    }
    if (file_checksum(path) != record.checksum) {
        reason = "checksum differs from the database's record";
        return nullptr;
    }
    std::unique_ptr<HnswGraph> graph(new HnswGraph(dim));
    try {
        // hnswlib 0.6.2's loading constructor leaves num_deleted_ uninitialised before counting
        // the deleted marks into it: start from the bare constructor and zero it first.
        graph->graph_ = std::make_unique<hnswlib::HierarchicalNSW<float>>(graph->space_.get());
        graph->graph_->num_deleted_ = 0;
        graph->graph_->loadIndex(path.string(), graph->space_.get(), std::max<size_t>(h.count, 1));
        graph->choose_pivots();
    } catch (const std::exception& e) {
        reason = e.what();
        return nullptr;
    }
    return graph;
}

GraphFileRecord HnswGraph::save(const std::filesystem::path& path, int64_t generation) const {
    const std::filesystem::path temp = path.string() + ".tmp" + std::to_string(::getpid());
    graph_->saveIndex(temp.string());
    {
        // saveIndex does not report write errors: check that the whole file arrived.
        std::error_code ec;
        const auto bytes = std::filesystem::file_size(temp, ec);
        const size_t expected_min = 13 * 8 + graph_->cur_element_count * graph_->size_data_per_element_;
        if (ec || bytes < expected_min) {
            std::filesystem::remove(temp, ec);
            throw Error(path.string() + ": cannot write the search graph (disk full?)");
        }
        const int fd = ::open(temp.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            ::fsync(fd);
            ::close(fd);
        }
    }
    GraphFileRecord record;
    record.generation = generation;
    record.bytes = std::filesystem::file_size(temp);
    record.checksum = file_checksum(temp);
    record.m = static_cast<int>(graph_->M_);
    std::error_code ec;
    std::filesystem::rename(temp, path, ec);
    if (ec) {
        std::filesystem::remove(temp, ec);
        throw Error(path.string() + ": cannot write the search graph: " + ec.message());
    }
    return record;
}

void HnswGraph::add(const std::vector<int64_t>& ids, const std::vector<float>& vectors, int threads,
                    const std::function<void(size_t, size_t)>& on_progress) {
    if (ids.empty()) return;
    const size_t needed = graph_->cur_element_count + ids.size();
    if (needed > graph_->max_elements_) graph_->resizeIndex(std::max(needed, graph_->max_elements_ + graph_->max_elements_ / 4));
    if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    size_t first = 0;
    if (graph_->cur_element_count == 0) {
        // The first point goes in alone: it becomes hnswlib's entry point.
        graph_->addPoint(vectors.data(), static_cast<hnswlib::labeltype>(ids[0]));
        first = 1;
    }
    std::atomic<size_t> next{first};
    const size_t report_every = std::max<size_t>(ids.size() / 20, 10000);
    auto worker = [&](bool reports) {
        size_t next_report = report_every;
        for (size_t i; (i = next.fetch_add(1)) < ids.size();) {
            graph_->addPoint(vectors.data() + i * dim_, static_cast<hnswlib::labeltype>(ids[i]));
            if (reports && on_progress && i >= next_report) {
                on_progress(i, ids.size());
                next_report = i + report_every;
            }
        }
    };
    {
        std::vector<std::jthread> pool;
        for (int t = 1; t < threads && ids.size() - first > 256; ++t) pool.emplace_back(worker, false);
        worker(true);
    }
    choose_pivots();
    relinked_ = relink_strays_ ? relink_stray_rows(graph_->cur_element_count - ids.size(), threads) : 0;
    if (on_progress) on_progress(ids.size(), ids.size());
}

std::vector<std::pair<uint32_t, uint32_t>> HnswGraph::stray_rows(size_t first, int threads) const {
    auto& g = *graph_;
    const size_t count = g.cur_element_count;
    if (pivots_.empty() || first >= count) return {};
    // Which rows are stray (read-only: the workers look, nothing changes yet). A row is
    // suspect when its nearest pivot is nearer than its farthest link (cheap: the pivots and
    // the links scored), and stray when neither hnswlib's search for its own vector (the
    // descent from the entry point, then a beam of 32) nor a beam started at that pivot finds
    // it: no query could reach it.
    constexpr size_t kSelfEf = 32;
    g.setEf(kSelfEf);
    std::vector<std::pair<hnswlib::tableint, hnswlib::tableint>> stray;  // (row, its nearest pivot)
    std::mutex stray_lock;
    std::atomic<size_t> next{first};
    auto look = [&] {
        constexpr size_t kBlock = 1024;
        std::vector<std::pair<hnswlib::tableint, hnswlib::tableint>> found;
        for (size_t begin; (begin = next.fetch_add(kBlock)) < count;) {
            for (size_t i = begin; i < std::min(count, begin + kBlock); ++i) {
                const auto row = static_cast<hnswlib::tableint>(i);
                if (g.isMarkedDeleted(row)) continue;
                const void* data = g.getDataByInternalId(row);
                float pivot_distance = std::numeric_limits<float>::max();
                hnswlib::tableint pivot = row;
                for (hnswlib::tableint p : pivots_) {
                    if (p == row || (g.num_deleted_ > 0 && g.isMarkedDeleted(p))) continue;
                    const float d = g.fstdistfunc_(data, g.getDataByInternalId(p), g.dist_func_param_);
                    if (d < pivot_distance) pivot_distance = d, pivot = p;
                }
                if (pivot == row) continue;
                unsigned* links = g.get_linklist0(row);
                const auto* ids = reinterpret_cast<const hnswlib::tableint*>(links + 1);
                float farthest_link = -1.0f;
                for (unsigned j = 0, n = g.getListCount(links); j < n; ++j)
                    farthest_link = std::max(farthest_link, g.fstdistfunc_(data, g.getDataByInternalId(ids[j]), g.dist_func_param_));
                if (farthest_link >= 0.0f && farthest_link <= pivot_distance) continue;
                const auto label = g.getExternalLabel(row);
                auto top = g.searchKnn(data, 1);
                if (!top.empty() && top.top().second == label) continue;
                auto from_pivot = g.num_deleted_ > 0 ? g.searchBaseLayerST<true>(pivot, data, kSelfEf)
                                                     : g.searchBaseLayerST<false>(pivot, data, kSelfEf);
                bool reached = false;
                for (; !from_pivot.empty() && !reached; from_pivot.pop()) reached = from_pivot.top().second == row;
                if (!reached) found.push_back({row, pivot});
            }
        }
        std::lock_guard lock(stray_lock);
        stray.insert(stray.end(), found.begin(), found.end());
    };
    {
        std::vector<std::jthread> pool;
        for (int t = 1; t < threads; ++t) pool.emplace_back(look);
        look();
    }
    std::sort(stray.begin(), stray.end());
    return stray;
}

size_t HnswGraph::relink_stray_rows(size_t first, int threads) {
    auto& g = *graph_;
    const auto stray = stray_rows(first, threads);
    // Relinked one at a time (hnswlib's mutual connection takes the neighbours' locks, not
    // the row's): candidates from a base-layer search started at the pivot, plus the links the
    // row has, cut down by hnswlib's own heuristic and connected both ways.
    for (const auto& [row, pivot] : stray) {
        const void* data = g.getDataByInternalId(row);
        auto candidates = g.searchBaseLayer(pivot, data, 0);
        decltype(candidates) others;
        std::unordered_set<hnswlib::tableint> offered{row};
        for (; !candidates.empty(); candidates.pop())
            if (offered.insert(candidates.top().second).second) others.push(candidates.top());
        unsigned* links = g.get_linklist0(row);
        const auto* ids = reinterpret_cast<const hnswlib::tableint*>(links + 1);
        for (unsigned j = 0, n = g.getListCount(links); j < n; ++j)
            if (offered.insert(ids[j]).second)
                others.emplace(g.fstdistfunc_(data, g.getDataByInternalId(ids[j]), g.dist_func_param_), ids[j]);
        if (!others.empty()) g.mutuallyConnectNewElement(data, row, others, 0, true);
    }
    return stray.size();
}

void HnswGraph::choose_pivots() {
    pivots_.clear();
    const auto& g = *graph_;
    const size_t count = g.cur_element_count;
    const size_t stride = std::max<size_t>(1, count / kPivotSample);
    std::vector<hnswlib::tableint> sample;
    for (size_t i = 0; i < count; i += stride)
        if (!g.isMarkedDeleted(static_cast<hnswlib::tableint>(i))) sample.push_back(static_cast<hnswlib::tableint>(i));
    // Farthest-point order: each pivot is the sampled row least similar to every pivot so far,
    // so a small group far from the rest gets pivots early, where a uniform sample of a group
    // holding 0.4% of the rows would often miss it entirely.
    std::vector<float> distance(sample.size(), std::numeric_limits<float>::max());
    size_t next = 0;
    while (!sample.empty() && pivots_.size() < std::min(kPivots, sample.size())) {
        pivots_.push_back(sample[next]);
        const void* pivot = g.getDataByInternalId(sample[next]);
        float farthest = -1.0f;
        for (size_t j = 0; j < sample.size(); ++j) {
            distance[j] = std::min(distance[j], g.fstdistfunc_(pivot, g.getDataByInternalId(sample[j]), g.dist_func_param_));
            if (distance[j] > farthest) farthest = distance[j], next = j;
        }
        if (farthest <= 0.0f) break;  // every sampled row duplicates a pivot
    }
}

void HnswGraph::remove(int64_t id) {
    const auto label = static_cast<hnswlib::labeltype>(id);
    if (graph_->label_lookup_.count(label) == 0) return;
    if (graph_->isMarkedDeleted(graph_->label_lookup_[label])) return;
    graph_->markDelete(label);
}

size_t HnswGraph::size() const { return graph_->cur_element_count; }
size_t HnswGraph::deleted() const { return graph_->num_deleted_; }

std::vector<std::pair<float, int64_t>> HnswGraph::search(const float* query, size_t k, size_t ef) const {
    auto& g = *graph_;
    ef = std::max(ef, k);
    g.setEf(ef);
    auto queue = g.searchKnn(query, k);  // worst (largest distance = 1 - score) on top

    // The pivots nearest the query; hnswlib's distances are 1 - inner product.
    std::vector<std::pair<float, hnswlib::tableint>> nearest;
    for (hnswlib::tableint p : pivots_) {
        if (g.num_deleted_ > 0 && g.isMarkedDeleted(p)) continue;
        nearest.push_back({g.fstdistfunc_(query, g.getDataByInternalId(p), g.dist_func_param_), p});
    }
    const size_t starts = std::min(kPivotStarts, nearest.size());
    std::partial_sort(nearest.begin(), nearest.begin() + static_cast<std::ptrdiff_t>(starts), nearest.end());
    nearest.resize(starts);
    // Only pivots nearer than the k-th result point at a region the descent missed.
    const float kth = queue.size() < k ? std::numeric_limits<float>::max() : queue.top().first;
    std::erase_if(nearest, [&](const auto& pivot) { return pivot.first >= kth; });
    std::vector<std::pair<float, int64_t>> out;  // (distance, id) until the end
    if (!nearest.empty()) {
        // Search from each of them too (a weakly linked region may be reached from one pivot
        // only partly), and keep the best k of all.
        std::unordered_map<int64_t, float> merged;
        for (; !queue.empty(); queue.pop()) merged.emplace(static_cast<int64_t>(queue.top().second), queue.top().first);
        for (const auto& [distance, pivot] : nearest) {
            auto more = g.num_deleted_ > 0 ? g.searchBaseLayerST<true>(pivot, query, ef)
                                           : g.searchBaseLayerST<false>(pivot, query, ef);
            for (; !more.empty(); more.pop())
                merged.emplace(static_cast<int64_t>(g.getExternalLabel(more.top().second)), more.top().first);
        }
        for (const auto& [id, d] : merged) out.push_back({d, id});
        std::sort(out.begin(), out.end());
        if (out.size() > k) out.resize(k);
    } else {
        out.resize(queue.size());
        for (size_t i = queue.size(); i-- > 0; queue.pop())
            out[i] = {queue.top().first, static_cast<int64_t>(queue.top().second)};
    }
    for (auto& [d, id] : out) d = 1.0f - d;
    return out;
}

RowLayout HnswGraph::rows() const {
    RowLayout layout;
    layout.base = graph_->data_level0_memory_ + graph_->offsetData_;
    layout.stride = graph_->size_data_per_element_;
    layout.count = graph_->cur_element_count;
    layout.dim = dim_;
    if (graph_->num_deleted_ > 0) layout.skip = [g = graph_.get()](size_t i) { return g->isMarkedDeleted(i); };
    return layout;
}

int64_t HnswGraph::id_at(size_t position) const {
    return static_cast<int64_t>(graph_->getExternalLabel(static_cast<hnswlib::tableint>(position)));
}

}  // namespace zeroclip::index
