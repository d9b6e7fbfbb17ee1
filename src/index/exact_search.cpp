// Exact search: one pass over every vector, bandwidth-bound, a top-k heap per thread.
#include "index/exact_search.h"

#include "backend/cpu/cpu_isa.h"

#include <immintrin.h>

#include <algorithm>
#include <queue>
#include <thread>

namespace zeroclip::index {

namespace {

// One dot product per ISA, compiled with that ISA's target flags and picked at run time under the
// cap of cpu_isa.h, so a portable build still streams at AVX-512 or AVX2 width.
__attribute__((target("avx512f"))) float dot_avx512(const float* a, const float* b, int dim) {
    int i = 0;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    for (; i + 32 <= dim; i += 32) {
        acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
        acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
    }
    // Not _mm512_reduce_add_ps: GCC 12 warns inside it (-Wuninitialized, a false positive).
    alignas(64) float lanes[16];
    _mm512_store_ps(lanes, _mm512_add_ps(acc0, acc1));
    float sum = 0;
    for (float lane : lanes) sum += lane;
    for (; i < dim; ++i) sum += a[i] * b[i];
    return sum;
}

__attribute__((target("avx2,fma"))) float dot_avx2(const float* a, const float* b, int dim) {
    int i = 0;
    __m256 acc = _mm256_setzero_ps();
    for (; i + 8 <= dim; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, acc);
    float sum = 0;
    for (float lane : lanes) sum += lane;
    for (; i < dim; ++i) sum += a[i] * b[i];
    return sum;
}

float dot_portable(const float* a, const float* b, int dim) {
    float sum = 0;
    for (int i = 0; i < dim; ++i) sum += a[i] * b[i];
    return sum;
}

using DotFunction = float (*)(const float*, const float*, int);

DotFunction pick_dot() {
    if (cpu_has(CpuIsa::Avx512Core)) return dot_avx512;
    if (cpu_has(CpuIsa::Avx2)) return dot_avx2;
    return dot_portable;
}

}  // namespace

float dot(const float* a, const float* b, int dim) {
    static const DotFunction chosen = pick_dot();
    return chosen(a, b, dim);
}

namespace {

struct WorseFirst {
    bool operator()(const ScoredPosition& a, const ScoredPosition& b) const {
        return a.score > b.score || (a.score == b.score && a.position < b.position);
    }
};
using TopK = std::priority_queue<ScoredPosition, std::vector<ScoredPosition>, WorseFirst>;

void scan(const float* query, const RowLayout& rows, size_t begin, size_t end, size_t k, float min_score,
          TopK& top) {
    for (size_t i = begin; i < end; ++i) {
        const float* v = reinterpret_cast<const float*>(rows.base + i * rows.stride);
        // Sequential rows: ask for the row four ahead so the scan stays at memory speed even
        // when the stride breaks the hardware prefetcher's stream.
        if (i + 4 < end) {
            const char* ahead = rows.base + (i + 4) * rows.stride;
            for (size_t b = 0; b < static_cast<size_t>(rows.dim) * sizeof(float); b += 64)
                _mm_prefetch(ahead + b, _MM_HINT_T0);
        }
        const float s = dot(query, v, rows.dim);
        if (s < min_score) continue;
        if (top.size() == k && !(s > top.top().score)) continue;
        if (rows.skip && rows.skip(i)) continue;
        top.push({s, i});
        if (top.size() > k) top.pop();
    }
}

}  // namespace

std::vector<ScoredPosition> exact_top_k(const float* query, const RowLayout& rows, size_t k, float min_score,
                                        int threads) {
    if (k == 0 || rows.count == 0) return {};
    if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const size_t workers = std::min<size_t>(threads, std::max<size_t>(1, rows.count / 4096));
    std::vector<TopK> tops(workers);
    {
        std::vector<std::jthread> pool;
        for (size_t w = 0; w < workers; ++w) {
            const size_t begin = rows.count * w / workers, end = rows.count * (w + 1) / workers;
            auto work = [&, w, begin, end] { scan(query, rows, begin, end, k, min_score, tops[w]); };
            if (w + 1 == workers) work();
            else pool.emplace_back(work);
        }
    }
    std::vector<ScoredPosition> all;
    for (auto& top : tops)
        for (; !top.empty(); top.pop()) all.push_back(top.top());
    std::sort(all.begin(), all.end(), [](const ScoredPosition& a, const ScoredPosition& b) {
        return a.score > b.score || (a.score == b.score && a.position < b.position);
    });
    if (all.size() > k) all.resize(k);
    return all;
}

}  // namespace zeroclip::index
