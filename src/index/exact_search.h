// index/exact_search.h - exact top-k by inner product over rows laid out at a fixed stride
// (a dense matrix, or the vectors inside the HNSW graph's memory), split over threads.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

namespace zeroclip::index {

struct ScoredPosition {
    float score = 0;
    size_t position = 0;  // row number in the scanned layout
};

struct RowLayout {
    const char* base = nullptr;  // first vector
    size_t stride = 0;           // bytes from one vector to the next
    size_t count = 0;
    int dim = 0;
    // Rows to leave out (tombstoned entries of the graph); empty: none.
    std::function<bool(size_t)> skip;
};

float dot(const float* a, const float* b, int dim);

// The `k` best rows by dot(query, row), best first, keeping only score >= min_score.
std::vector<ScoredPosition> exact_top_k(const float* query, const RowLayout& rows, size_t k,
                                        float min_score, int threads);

}  // namespace zeroclip::index
