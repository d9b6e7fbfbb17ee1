// Index::near_duplicates: single-linkage groups of images at cosine >= threshold. Small
// collections compare every pair exactly; with a graph, each image's nearest neighbours
// come from it.
#include <algorithm>
#include <numeric>
#include <thread>
#include <unordered_map>

#include "index/exact_search.h"
#include "index/index_impl.h"
#include "zeroclip/error.h"

namespace zeroclip {

namespace {

class DisjointSets {
public:
    explicit DisjointSets(size_t n) : parent_(n) { std::iota(parent_.begin(), parent_.end(), 0); }
    size_t find(size_t x) {
        while (parent_[x] != x) x = parent_[x] = parent_[parent_[x]];
        return x;
    }
    void join(size_t a, size_t b) {
        a = find(a), b = find(b);
        if (a != b) parent_[std::max(a, b)] = std::min(a, b);
    }

private:
    std::vector<size_t> parent_;
};

constexpr size_t kGraphNeighbours = 16;

}  // namespace

std::vector<std::vector<SearchHit>> Index::near_duplicates(float threshold) {
    const std::lock_guard lock(impl_->mutex);
    Impl& impl = *impl_;
    impl.refresh();
    const index::RowLayout rows = impl.exact_rows();
    const int dim = rows.dim;
    auto vec = [&](size_t i) { return reinterpret_cast<const float*>(rows.base + i * rows.stride); };
    auto skipped = [&](size_t i) { return rows.skip && rows.skip(i); };

    DisjointSets sets(rows.count);
    const int threads = impl.threads();
    std::vector<std::vector<std::pair<size_t, size_t>>> pairs(threads);
    auto work = [&](int t) {
        for (size_t i = t; i < rows.count; i += threads) {
            if (skipped(i)) continue;
            if (impl.graph) {
                for (const auto& [score, id] : impl.graph->search(vec(i), kGraphNeighbours, 64))
                    if (score >= threshold) pairs[t].push_back({i, static_cast<size_t>(id)});
            } else {
                for (size_t j = i + 1; j < rows.count; ++j)
                    if (index::dot(vec(i), vec(j), dim) >= threshold) pairs[t].push_back({i, j});
            }
        }
    };
    {
        std::vector<std::jthread> pool;
        for (int t = 1; t < threads; ++t) pool.emplace_back(work, t);
        work(0);
    }
    // The graph gives row ids: map them back to positions.
    std::unordered_map<int64_t, size_t> position_of;
    if (impl.graph)
        for (size_t i = 0; i < rows.count; ++i) position_of.emplace(impl.id_at(i), i);
    for (const auto& list : pairs)
        for (auto [i, j] : list) {
            if (impl.graph) {
                const auto it = position_of.find(static_cast<int64_t>(j));
                if (it == position_of.end()) continue;
                j = it->second;
            }
            if (i != j) sets.join(i, j);
        }

    std::unordered_map<size_t, std::vector<size_t>> members;
    for (size_t i = 0; i < rows.count; ++i)
        if (!skipped(i)) members[sets.find(i)].push_back(i);
    std::vector<std::vector<SearchHit>> groups;
    for (auto& [root, list] : members) {
        if (list.size() < 2) continue;
        std::vector<std::pair<float, int64_t>> scored;
        for (size_t i : list) scored.push_back({0.0f, impl.id_at(i)});
        auto hits = impl.resolve(scored);
        if (hits.size() < 2) continue;
        std::sort(hits.begin(), hits.end(), [](const SearchHit& a, const SearchHit& b) { return a.path < b.path; });
        // Score: cosine with the group's first member by path (1 for that one).
        std::unordered_map<int64_t, size_t> position;
        for (size_t i : list) position.emplace(impl.id_at(i), i);
        const float* first = vec(position.at(hits[0].row));
        for (auto& hit : hits) hit.score = index::dot(first, vec(position.at(hit.row)), dim);
        groups.push_back(std::move(hits));
    }
    std::sort(groups.begin(), groups.end(), [](const auto& a, const auto& b) {
        return a.size() != b.size() ? a.size() > b.size() : a[0].path < b[0].path;
    });
    return groups;
}

}  // namespace zeroclip
