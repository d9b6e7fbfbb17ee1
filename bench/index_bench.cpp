// index_bench: the photo index's measured targets.
//
//   build/index_bench vectors --n 100000 [--dim 512] [--clusters 2000] [--queries 200]
//                     [--ef 32,64,128,256] [--m 16] [--ef-construction 200] [--threads 2]
//                     [--db /tmp/index_bench.zcdb] [--real FILE.npy [--real-queries 200]]
//     clustered unit vectors written to an index database, then: HNSW build time, open time and
//     memory, recall@10 of HNSW against exact search and single-threaded query latency per ef,
//     exact search time and the bandwidth it reaches against the machine's measured read bandwidth.
//     --real FILE.npy: real embeddings (float32 [rows, dim], e.g. `zeroclip embed -o FILE.npy` of
//     the Imagenette images) join the collection, spread among the synthetic vectors (n stays
//     the total). --real-queries of its rows (a fixed random choice) are held out of the
//     collection and searched as queries, with their own recall and latency lines
//     ("queries": "real"); the other lines are those of the synthetic queries.
//     Progress goes to stderr, with the RSS. Memory peaks at about 2.2x the vector bytes while
//     the graph is built from a copy of the vectors (a 1M x 512 run: about 4.5 GiB).
//   build/index_bench reindex --files 10000 [--dir /tmp/index_bench_tree]
//     a tree of distinct small JPEGs indexed with the fixture model, then the re-index of the
//     unchanged tree, timed.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "index/index_store.h"
#include "util/npy.h"
#include "zeroclip/zeroclip.h"

namespace fs = std::filesystem;
using namespace zeroclip;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

long rss_kib() {
    std::ifstream in("/proc/self/status");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return 0;
}

std::map<std::string, std::string> parse_args(int argc, char** argv, int first) {
    std::map<std::string, std::string> out;
    for (int i = first; i + 1 < argc; i += 2) out[argv[i]] = argv[i + 1];
    return out;
}

std::string arg(const std::map<std::string, std::string>& args, const std::string& key, const std::string& fallback) {
    const auto it = args.find(key);
    return it == args.end() ? fallback : it->second;
}

// Unit vectors in `clusters` groups around centres that share a common direction, so that
// unrelated vectors still have positive cosine (as CLIP embeddings do: ~0.5 between random
// photos, ~0.8 within a class).
class ClusteredVectors {
public:
    ClusteredVectors(int dim, int clusters, uint32_t seed) : dim_(dim), rng_(seed) {
        std::normal_distribution<float> normal;
        std::vector<float> common(dim);
        for (auto& x : common) x = normal(rng_);
        unit(common.data());
        centres_.resize(static_cast<size_t>(clusters) * dim);
        for (int c = 0; c < clusters; ++c) {
            float* centre = centres_.data() + static_cast<size_t>(c) * dim;
            for (int d = 0; d < dim; ++d) centre[d] = normal(rng_);
            unit(centre);
            for (int d = 0; d < dim; ++d) centre[d] = 0.7f * common[d] + 0.7f * centre[d];
            unit(centre);
        }
    }
    void next(float* out) {
        std::normal_distribution<float> normal;
        const float* centre = centres_.data() + (rng_() % (centres_.size() / dim_)) * dim_;
        const float sigma = 0.55f / std::sqrt(static_cast<float>(dim_));
        for (int d = 0; d < dim_; ++d) out[d] = centre[d] + sigma * normal(rng_);
        unit(out);
    }

private:
    void unit(float* v) const {
        double n = 0;
        for (int d = 0; d < dim_; ++d) n += double(v[d]) * v[d];
        for (int d = 0; d < dim_; ++d) v[d] = static_cast<float>(v[d] / std::sqrt(n));
    }
    int dim_;
    std::mt19937 rng_;
    std::vector<float> centres_;
};

// Sequential read bandwidth of `threads` threads over a buffer far larger than the caches.
double measure_read_bandwidth(int threads, size_t bytes) {
    std::vector<uint64_t> buffer(bytes / 8, 1);
    double best = 0;
    for (int rep = 0; rep < 3; ++rep) {
        std::atomic<uint64_t> sink{0};
        const auto start = Clock::now();
        {
            std::vector<std::jthread> pool;
            for (int t = 0; t < threads; ++t)
                pool.emplace_back([&, t] {
                    const size_t begin = buffer.size() * t / threads, end = buffer.size() * (t + 1) / threads;
                    uint64_t a = 0, b = 0, c = 0, d = 0;
                    for (size_t i = begin; i + 4 <= end; i += 4) a += buffer[i], b += buffer[i + 1], c += buffer[i + 2], d += buffer[i + 3];
                    sink += a + b + c + d;
                });
        }
        best = std::max(best, static_cast<double>(bytes) / seconds_since(start) / 1e9);
    }
    return best;
}

// The rows of a float32 [rows, dim] .npy, each scaled to unit length.
std::vector<std::vector<float>> read_real_embeddings(const fs::path& file, int dim) {
    const NpyArray array = read_npy_f32(file);
    if (array.shape.size() != 2 || array.shape[1] != dim || array.shape[0] < 2)
        throw Error(file.string() + ": expected float32 [rows >= 2, " + std::to_string(dim) + "] embeddings");
    std::vector<std::vector<float>> rows;
    for (int64_t r = 0; r < array.shape[0]; ++r) {
        std::vector<float> v(array.data.begin() + r * dim, array.data.begin() + (r + 1) * dim);
        double norm = 0;
        for (float x : v) norm += double(x) * x;
        if (!(norm > 0) || !std::isfinite(norm)) throw Error(file.string() + ": row " + std::to_string(r) + " cannot be normalised");
        for (float& x : v) x = static_cast<float>(x / std::sqrt(norm));
        rows.push_back(std::move(v));
    }
    return rows;
}

IndexModel synthetic_model(int dim) {
    IndexModel model;
    model.id = "synthetic";
    model.fingerprint = "00000000000000000000000000000000";
    model.precision = "fp32";
    model.dim = dim;
    return model;
}

int run_vectors(const std::map<std::string, std::string>& args) {
    const size_t n = std::stoul(arg(args, "--n", "100000"));
    const int dim = std::stoi(arg(args, "--dim", "512"));
    const int clusters = std::stoi(arg(args, "--clusters", "2000"));
    const int queries = std::stoi(arg(args, "--queries", "200"));
    const int threads = std::stoi(arg(args, "--threads", "2"));
    const fs::path db = arg(args, "--db", "/tmp/index_bench.zcdb");
    std::vector<int> efs;
    {
        std::stringstream list(arg(args, "--ef", "32,64,128,256"));
        for (std::string item; std::getline(list, item, ',');) efs.push_back(std::stoi(item));
    }
    for (const char* suffix : {"", "-wal", "-shm", ".hnsw", ".lock"}) fs::remove(db.string() + suffix);

    // Real embeddings: held-out queries, and the rest inserted among the synthetic vectors.
    const std::string real_file = arg(args, "--real", "");
    std::vector<std::vector<float>> real_queries, real_rows;
    if (!real_file.empty()) {
        real_rows = read_real_embeddings(real_file, dim);
        std::shuffle(real_rows.begin(), real_rows.end(), std::mt19937(7));
        const size_t held_out = std::min<size_t>(std::stoul(arg(args, "--real-queries", "200")), real_rows.size() / 2);
        real_queries.assign(real_rows.begin(), real_rows.begin() + static_cast<std::ptrdiff_t>(held_out));
        real_rows.erase(real_rows.begin(), real_rows.begin() + static_cast<std::ptrdiff_t>(held_out));
        if (real_rows.size() > n) throw Error("--n " + std::to_string(n) + " is smaller than the " +
                                              std::to_string(real_rows.size()) + " real rows it should hold");
    }
    auto progress = [start = Clock::now()](const std::string& line) {
        std::fprintf(stderr, "index_bench: %7.1f s  %s (RSS %.0f MiB)\n", seconds_since(start), line.c_str(),
                     rss_kib() / 1024.0);
    };

    ClusteredVectors source(dim, clusters, 42);
    auto start = Clock::now();
    {
        const IndexModel model = synthetic_model(dim);
        index::IndexStore store(db, &model, false);
        std::vector<float> v(dim);
        size_t real_next = 0;
        for (size_t done = 0; done < n;) {
            index::Transaction t(store.db());
            const int64_t generation = store.next_generation();
            for (size_t i = 0; i < 20000 && done < n; ++i, ++done) {
                ContentHash hash{done, 0};
                // Real row j goes in at position j * n / rows: spread over the whole collection.
                if (real_next < real_rows.size() && done >= real_next * n / real_rows.size()) {
                    store.insert("/real/" + std::to_string(real_next) + ".jpg", 1, 1, hash, real_rows[real_next].data(),
                                 generation);
                    ++real_next;
                    continue;
                }
                source.next(v.data());
                store.insert("/synthetic/" + std::to_string(done) + ".jpg", 1, 1, hash, v.data(), generation);
            }
            t.commit();
            if (done % std::max<size_t>(n / 10, 20000) < 20000 || done == n)
                progress("stored " + std::to_string(done) + "/" + std::to_string(n) + " vectors");
        }
    }
    const double insert_s = seconds_since(start);

    IndexOptions options;
    options.hnsw_threshold = 0;
    options.threads = threads;
    options.hnsw_m = std::stoi(arg(args, "--m", "16"));
    options.hnsw_ef_construction = std::stoi(arg(args, "--ef-construction", "200"));
    options.on_note = [](const std::string& note) { std::cerr << "index_bench: note: " << note << "\n"; };
    options.on_graph_progress = [&](size_t done, size_t total) {
        progress("graph " + std::to_string(done) + "/" + std::to_string(total));
    };
    progress("building the HNSW graph on " + std::to_string(threads) + " threads");
    start = Clock::now();
    {
        Index index = Index::open(db, options);
        index.update_graph();
    }
    const double build_s = seconds_since(start);
    progress("graph built and saved");
    options.on_graph_progress = {};

    const long rss_before = rss_kib();
    start = Clock::now();
    Index index = Index::open(db, options);
    index.update_graph();  // loads the .hnsw file after checking it against the database
    const double open_s = seconds_since(start);
    const double open_mib = (rss_kib() - rss_before) / 1024.0;
    const double vector_mib = static_cast<double>(n) * dim * 4 / (1024.0 * 1024.0);

    progress("opened");

    std::vector<std::vector<float>> qs(queries, std::vector<float>(dim));
    for (auto& q : qs) source.next(q.data());
    SearchOptions exact;
    exact.top_k = 10;
    exact.exact = true;
    auto exact_truth = [&](const std::vector<std::vector<float>>& set) {
        std::vector<std::set<int64_t>> truth(set.size());
        for (size_t q = 0; q < set.size(); ++q)
            for (const auto& hit : index.search(set[q], exact)) truth[q].insert(hit.row);
        return truth;
    };
    start = Clock::now();
    const std::vector<std::set<int64_t>> truth = exact_truth(qs);
    const double exact_ms = seconds_since(start) * 1000 / queries;
    const std::vector<std::set<int64_t>> real_truth = exact_truth(real_queries);
    progress("exact search done");
    const double bandwidth = measure_read_bandwidth(threads, std::min<size_t>(2ull << 30, std::max<size_t>(512ull << 20, n * dim * 4)));

    std::printf("{\"n\": %zu, \"dim\": %d, \"clusters\": %d, \"threads\": %d, \"m\": %d, \"ef_construction\": %d, \"insert_s\": %.2f, \"build_s\": %.2f, "
                "\"open_s\": %.2f, \"open_mib\": %.0f, \"vector_mib\": %.0f, \"open_ratio\": %.3f, "
                "\"exact_ms\": %.2f, \"exact_vector_gb_s\": %.2f, \"read_bandwidth_gb_s\": %.2f}\n",
                n, dim, clusters, threads, options.hnsw_m, options.hnsw_ef_construction, insert_s, build_s, open_s, open_mib, vector_mib, open_mib / vector_mib, exact_ms,
                static_cast<double>(n) * dim * 4 / (exact_ms / 1000) / 1e9, bandwidth);
    if (!real_file.empty())
        std::printf("{\"real\": \"%s\", \"real_rows\": %zu, \"real_queries\": %zu}\n", real_file.c_str(), real_rows.size(),
                    real_queries.size());
    // Recall@10 against exact search and single-threaded latency of one query set at one ef.
    auto measure = [&](int ef, const std::vector<std::vector<float>>& set, const std::vector<std::set<int64_t>>& truth_of,
                       const char* label) {
        SearchOptions approximate;
        approximate.top_k = 10;
        approximate.ef_search = ef;
        size_t found = 0;
        std::vector<double> latencies;
        for (size_t q = 0; q < set.size(); ++q) {
            const auto t0 = Clock::now();
            const auto hits = index.search(set[q], approximate);
            latencies.push_back(seconds_since(t0) * 1000);
            for (const auto& hit : hits) found += truth_of[q].count(hit.row);
        }
        std::sort(latencies.begin(), latencies.end());
        double mean = 0;
        for (double l : latencies) mean += l / latencies.size();
        const std::string tag = label ? std::string(", \"queries\": \"") + label + "\"" : std::string();
        std::printf("{\"ef\": %d%s, \"recall_at_10\": %.4f, \"latency_ms_mean\": %.3f, \"latency_ms_p50\": %.3f, "
                    "\"latency_ms_p99\": %.3f}\n",
                    ef, tag.c_str(), static_cast<double>(found) / (10.0 * set.size()), mean,
                    latencies[latencies.size() / 2], latencies[latencies.size() * 99 / 100]);
    };
    for (int ef : efs) {
        measure(ef, qs, truth, nullptr);
        if (!real_queries.empty()) measure(ef, real_queries, real_truth, "real");
    }
    struct rusage usage {};
    getrusage(RUSAGE_SELF, &usage);
    progress("done; peak RSS " + std::to_string(usage.ru_maxrss / 1024) + " MiB");
    return 0;
}

int run_reindex(const std::map<std::string, std::string>& args) {
    const int files = std::stoi(arg(args, "--files", "10000"));
    const fs::path dir = arg(args, "--dir", "/tmp/index_bench_tree");
    const fs::path model_dir = arg(args, "--model", std::string(ZEROCLIP_SOURCE_DIR) + "/tests/fixtures/models/clip-f32-quickgelu");
    const fs::path db = dir.string() + ".zcdb";
    fs::remove_all(dir);
    for (const char* suffix : {"", "-wal", "-shm", ".hnsw", ".lock"}) fs::remove(db.string() + suffix);
    std::ifstream in(std::string(ZEROCLIP_SOURCE_DIR) + "/tests/fixtures/images/jpeg_baseline.jpg", std::ios::binary);
    const std::string jpeg((std::istreambuf_iterator<char>(in)), {});
    for (int i = 0; i < files; ++i) {
        const fs::path sub = dir / ("folder" + std::to_string(i % 100));
        fs::create_directories(sub);
        std::ofstream(sub / ("photo" + std::to_string(i) + ".jpg"), std::ios::binary) << jpeg << i;
    }
    Clip clip = Clip::open(model_dir);
    Index index = Index::create(db, describe_model(model_dir.string(), model_dir, clip));
    auto start = Clock::now();
    const AddProgress first = index.add(clip, {dir.string()});
    const double first_s = seconds_since(start);
    start = Clock::now();
    const AddProgress again = index.add(clip, {dir.string()});
    const double again_s = seconds_since(start);
    std::printf("{\"files\": %d, \"first_index_s\": %.2f, \"encoded\": %zu, \"reindex_unchanged_s\": %.3f, "
                "\"reindex_encoded\": %zu, \"reindex_unchanged\": %zu}\n",
                files, first_s, first.encoded, again_s, again.encoded, again.unchanged);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const std::string mode = argc > 1 ? argv[1] : "";
        if (mode == "vectors") return run_vectors(parse_args(argc, argv, 2));
        if (mode == "reindex") return run_reindex(parse_args(argc, argv, 2));
        std::cerr << "usage: index_bench vectors|reindex [--option value]...\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "index_bench: " << e.what() << "\n";
        return 1;
    }
}
