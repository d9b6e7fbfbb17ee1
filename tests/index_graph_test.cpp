// The index's search structures: exact top-k against a brute-force reference, the HNSW graph's
// recall against exact search, and the .hnsw sidecar's validation (damaged files are rebuilt).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include "index/exact_search.h"
#include "index/hnsw_graph.h"
#include "index_test_support.h"

namespace fs = std::filesystem;
using namespace zeroclip;

namespace {

// `n` unit vectors around `clusters` random centres (real embeddings cluster; uniform noise
// would make every neighbour list a tie).
std::vector<float> clustered_vectors(size_t n, int dim, int clusters, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal;
    std::vector<float> centres(static_cast<size_t>(clusters) * dim);
    for (auto& x : centres) x = normal(rng);
    std::vector<float> out(n * dim);
    for (size_t i = 0; i < n; ++i) {
        const float* c = centres.data() + (rng() % clusters) * dim;
        double norm = 0;
        for (int d = 0; d < dim; ++d) {
            out[i * dim + d] = c[d] + 0.35f * normal(rng);
            norm += double(out[i * dim + d]) * out[i * dim + d];
        }
        for (int d = 0; d < dim; ++d) out[i * dim + d] = static_cast<float>(out[i * dim + d] / std::sqrt(norm));
    }
    return out;
}

// `n` unit vectors in `clusters` groups whose centres share one random direction.
std::vector<float> clustered_around(size_t n, int dim, int clusters, std::mt19937& rng) {
    std::normal_distribution<float> normal;
    auto unit = [dim](float* v) {
        double norm = 0;
        for (int d = 0; d < dim; ++d) norm += double(v[d]) * v[d];
        for (int d = 0; d < dim; ++d) v[d] = static_cast<float>(v[d] / std::sqrt(norm));
    };
    std::vector<float> common(dim), centres(static_cast<size_t>(clusters) * dim), out(n * dim);
    for (auto& x : common) x = normal(rng);
    unit(common.data());
    for (int c = 0; c < clusters; ++c) {
        float* centre = centres.data() + static_cast<size_t>(c) * dim;
        for (int d = 0; d < dim; ++d) centre[d] = normal(rng);
        unit(centre);
        for (int d = 0; d < dim; ++d) centre[d] = 0.7f * common[d] + 0.7f * centre[d];
        unit(centre);
    }
    const float sigma = 0.55f / std::sqrt(static_cast<float>(dim));
    for (size_t i = 0; i < n; ++i) {
        const float* centre = centres.data() + (rng() % clusters) * dim;
        for (int d = 0; d < dim; ++d) out[i * dim + d] = centre[d] + sigma * normal(rng);
        unit(out.data() + i * dim);
    }
    return out;
}

index::RowLayout dense(const std::vector<float>& v, int dim) {
    return {reinterpret_cast<const char*>(v.data()), dim * sizeof(float), v.size() / dim, dim, {}};
}

}  // namespace

TEST(IndexExactSearch, MatchesBruteForceOnAnyThreadCount) {
    const int dim = 48;
    const auto rows = clustered_vectors(20000, dim, 20, 1);
    const auto queries = clustered_vectors(5, dim, 20, 2);
    for (int q = 0; q < 5; ++q) {
        const float* query = queries.data() + q * dim;
        std::vector<std::pair<double, size_t>> reference;
        for (size_t i = 0; i < rows.size() / dim; ++i) {
            double s = 0;
            for (int d = 0; d < dim; ++d) s += double(query[d]) * rows[i * dim + d];
            reference.push_back({s, i});
        }
        std::sort(reference.begin(), reference.end(), [](auto& a, auto& b) { return a.first > b.first; });
        for (int threads : {1, 2, 3}) {
            const auto got = index::exact_top_k(query, dense(rows, dim), 10, -2.0f, threads);
            ASSERT_EQ(got.size(), 10u);
            for (size_t k = 0; k < 10; ++k) {
                EXPECT_NEAR(got[k].score, reference[k].first, 1e-5);
                EXPECT_NEAR(got[k].score, reference[got[k].position].first == got[k].score ? got[k].score : 0, 1);
            }
        }
        // A threshold keeps exactly the rows at or above it.
        const float threshold = static_cast<float>(reference[25].first);
        const auto above = index::exact_top_k(query, dense(rows, dim), 1000, threshold, 2);
        size_t expected = 0;
        for (const auto& r : reference) expected += r.first >= threshold - 1e-6 && r.first <= 1.5;
        EXPECT_NEAR(static_cast<double>(above.size()), static_cast<double>(expected), 1.0);
        for (const auto& a : above) EXPECT_GE(a.score, threshold);
    }
}

TEST(IndexHnsw, RecallAgainstExactSearch) {
    const int dim = 64;
    const size_t n = 5000;
    const auto rows = clustered_vectors(n, dim, 50, 3);
    index::HnswGraph graph(dim, n, 16, 200);
    std::vector<int64_t> ids(n);
    for (size_t i = 0; i < n; ++i) ids[i] = static_cast<int64_t>(1000 + i);
    graph.add(ids, rows, 2);
    EXPECT_EQ(graph.size(), n);
    const auto queries = clustered_vectors(100, dim, 50, 4);
    size_t found = 0;
    for (int q = 0; q < 100; ++q) {
        const float* query = queries.data() + q * dim;
        std::set<int64_t> truth;
        for (const auto& hit : index::exact_top_k(query, dense(rows, dim), 10, -2.0f, 1)) truth.insert(ids[hit.position]);
        for (const auto& [score, id] : graph.search(query, 10, 256)) found += truth.count(id);
    }
    EXPECT_GE(static_cast<double>(found) / 1000.0, 0.99);

    // Exact search over the graph's own copy of the vectors equals exact search over the rows.
    const auto layout = graph.rows();
    const auto a = index::exact_top_k(queries.data(), layout, 10, -2.0f, 2);
    const auto b = index::exact_top_k(queries.data(), dense(rows, dim), 10, -2.0f, 2);
    ASSERT_EQ(a.size(), b.size());
    for (size_t k = 0; k < a.size(); ++k) {
        EXPECT_EQ(graph.id_at(a[k].position), ids[b[k].position]);
        EXPECT_FLOAT_EQ(a[k].score, b[k].score);
    }
    // Removed rows are neither found by the graph nor by exact search over it.
    const int64_t best = graph.id_at(a[0].position);
    graph.remove(best);
    for (const auto& [score, id] : graph.search(queries.data(), 10, 128)) EXPECT_NE(id, best);
    for (const auto& hit : index::exact_top_k(queries.data(), graph.rows(), 10, -2.0f, 2)) EXPECT_NE(graph.id_at(hit.position), best);
}

// A small group of rows far from the rest (as real photo embeddings are from the synthetic
// clusters in index_bench): hnswlib's greedy descent from its one entry point ends among the
// many rows, and the base-layer beam rarely crosses over; the pivots must find the group.
TEST(IndexHnsw, FindsTheNeighboursOfASmallDistantGroup) {
    const int dim = 128;
    const size_t many = 20000, few = 40;  // 0.2% of the rows
    // Each set gathers around its own shared direction (cosine ~0.5 between unrelated rows of
    // a set, as between CLIP embeddings of unrelated photos); the two directions are random,
    // so rows of different sets have cosine ~0, each query a little closer to some rows of
    // the big set than to others, which is what leads the greedy descent astray.
    std::mt19937 rng(11);
    const auto big = clustered_around(many, dim, 200, rng);
    const auto small = clustered_around(few + 40, dim, 4, rng);
    std::vector<float> rows(big), queries(small.begin() + few * dim, small.end());
    rows.insert(rows.end(), small.begin(), small.begin() + few * dim);
    // The small group's rows spread among the others, as photos added over time are.
    const size_t n = many + few;
    std::vector<size_t> order(n);
    for (size_t i = 0; i < n; ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), std::mt19937(13));
    std::vector<float> shuffled(n * dim);
    std::vector<int64_t> ids(n);
    for (size_t i = 0; i < n; ++i) {
        std::copy_n(rows.begin() + order[i] * dim, dim, shuffled.begin() + i * dim);
        ids[i] = static_cast<int64_t>(order[i]);
    }
    index::HnswGraph graph(dim, n, 16, 200);
    graph.add(ids, shuffled, 1);  // one thread: the same graph on every run
    EXPECT_GT(graph.pivot_count(), 0u);
    size_t found = 0, of_small = 0;
    for (size_t q = 0; q < 40; ++q) {
        const float* query = queries.data() + q * dim;
        std::set<int64_t> truth;
        for (const auto& hit : index::exact_top_k(query, dense(shuffled, dim), 10, -2.0f, 1)) {
            truth.insert(ids[hit.position]);
            of_small += ids[hit.position] >= static_cast<int64_t>(many);
        }
        size_t found_here = 0;
        for (const auto& [score, id] : graph.search(query, 10, 128)) found_here += truth.count(id);
        EXPECT_GE(found_here, 8u) << "query " << q;  // without the pivots, one query finds none
        found += found_here;
    }
    EXPECT_EQ(of_small, 400u);  // the setting holds: every true neighbour is in the small group
    EXPECT_GE(static_cast<double>(found) / 400.0, 0.99);
    // Some rows hnswlib linked only to unrelated ones, where neither its search for their own
    // vector nor one from the nearest pivot reaches them: add() linked them again, and fewer
    // are left than in the same graph built without that.
    EXPECT_GT(graph.relinked(), 0u);
    index::HnswGraph plain(dim, n, 16, 200);
    plain.set_relink_strays(false);
    plain.add(ids, shuffled, 1);
    EXPECT_EQ(plain.relinked(), 0u);
    EXPECT_LT(graph.stray_rows(0, 1).size(), plain.stray_rows(0, 1).size());
}

TEST(IndexHnsw, SaveAndLoadValidateTheFile) {
    const fs::path dir = fs::temp_directory_path() / ("zeroclip_hnsw_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const int dim = 16;
    const auto rows = clustered_vectors(300, dim, 5, 5);
    index::HnswGraph graph(dim, 300, 8, 50);
    std::vector<int64_t> ids(300);
    for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int64_t>(i + 1);
    graph.add(ids, rows, 1);
    const fs::path file = dir / "g.hnsw";
    const auto record = graph.save(file, 7);
    EXPECT_EQ(record.generation, 7);
    EXPECT_EQ(record.bytes, fs::file_size(file));

    std::string reason;
    auto loaded = index::HnswGraph::load(file, dim, record, reason);
    ASSERT_TRUE(loaded) << reason;
    EXPECT_EQ(loaded->search(rows.data(), 5, 50), graph.search(rows.data(), 5, 50));

    EXPECT_FALSE(index::HnswGraph::load(file, dim + 1, record, reason));  // another dimension
    EXPECT_NE(reason.find("header"), std::string::npos) << reason;
    std::string bytes = test::read_file(file);
    test::write_file(file, bytes.substr(0, bytes.size() / 2));  // truncated
    EXPECT_FALSE(index::HnswGraph::load(file, dim, record, reason));
    EXPECT_NE(reason.find("size"), std::string::npos) << reason;
    bytes[bytes.size() / 2] ^= 1;  // one bit flipped, same size
    test::write_file(file, bytes);
    EXPECT_FALSE(index::HnswGraph::load(file, dim, record, reason));
    EXPECT_NE(reason.find("checksum"), std::string::npos) << reason;
    fs::remove(file);
    EXPECT_FALSE(index::HnswGraph::load(file, dim, record, reason));
    EXPECT_EQ(reason, "missing");
    fs::remove_all(dir);
}

namespace {

class IndexGraphTest : public test::IndexTestDir {
protected:
    void SetUp() override {
        IndexTestDir::SetUp();
        clip_ = std::make_unique<Clip>(Clip::open(test::fixture_model()));
        for (int i = 0; i < 3; ++i)  // more rows, some with distinct content
            for (const char* name : {"png_rgba.png", "webp_lossless.webp", "bmp_8.bmp", "png_gray16.png"})
                fs::copy_file(test::fixtures_dir() / "images" / name, photos() / (std::to_string(i) + name));
    }
    IndexOptions graph_options() {
        IndexOptions options;
        options.hnsw_threshold = 0;  // always through the graph
        options.on_note = [this](const std::string& note) { notes_.push_back(note); };
        return options;
    }
    Index create() {
        return Index::create(db(), describe_model(test::fixture_model().string(), test::fixture_model(), *clip_),
                             graph_options());
    }
    static std::vector<float> scores(const std::vector<SearchHit>& hits) {
        std::vector<float> out;
        for (const auto& h : hits) out.push_back(h.score);
        return out;
    }
    void expect_graph_equals_exact(Index& index) {
        for (const char* text : {"a cat", "a red square", "a dog on a beach"}) {
            SearchOptions options;
            options.top_k = 10;
            const auto approximate = index.search_text(*clip_, {text}, options);
            options.exact = true;
            const auto exact = index.search_text(*clip_, {text}, options);
            ASSERT_EQ(approximate.size(), exact.size());
            for (size_t i = 0; i < exact.size(); ++i) EXPECT_NEAR(approximate[i].score, exact[i].score, 1e-6) << text << " " << i;
        }
    }
    std::unique_ptr<Clip> clip_;
    std::vector<std::string> notes_;
};

}  // namespace

TEST_F(IndexGraphTest, GraphResultsEqualExactOnASmallSet) {
    Index index = create();
    index.add(*clip_, {photos().string()});
    EXPECT_TRUE(fs::exists(db().string() + ".hnsw"));
    EXPECT_TRUE(index.stats().graph_current);
    expect_graph_equals_exact(index);
    // Updated in place after a removal and an addition.
    fs::remove(photos() / "png_rgb.png");
    fs::copy_file(test::fixtures_dir() / "images" / "png_rgba16.png", photos() / "new.png");
    index.add(*clip_, {photos().string()});
    EXPECT_TRUE(index.stats().graph_current);
    expect_graph_equals_exact(index);
    SearchOptions all;
    all.top_k = 100;
    std::set<fs::path> paths;
    for (const auto& h : index.search_text(*clip_, {"x"}, all)) paths.insert(h.path);
    EXPECT_EQ(paths.count(photos() / "png_rgb.png"), 0u);
    EXPECT_EQ(paths.count(photos() / "new.png"), 1u);
    EXPECT_EQ(paths.size(), index.stats().images);
    EXPECT_TRUE(notes_.empty());
}

TEST_F(IndexGraphTest, DamagedOrMissingGraphFilesAreRebuilt) {
    {
        Index index = create();
        index.add(*clip_, {photos().string()});
    }
    const fs::path graph = db().string() + ".hnsw";
    const std::string good = test::read_file(graph);
    auto reopen_and_check = [&](const std::string& expected_note) {
        notes_.clear();
        Index index = Index::open(db(), graph_options());
        expect_graph_equals_exact(index);
        ASSERT_EQ(notes_.size(), 1u);
        EXPECT_NE(notes_[0].find(expected_note), std::string::npos) << notes_[0];
        EXPECT_NE(notes_[0].find("rebuilding"), std::string::npos) << notes_[0];
        EXPECT_TRUE(index.stats().graph_current);
        EXPECT_EQ(test::read_file(graph).size(), good.size());
    };
    test::write_file(graph, good.substr(0, good.size() - 100));
    reopen_and_check("size");
    std::string flipped = test::read_file(graph);
    flipped[flipped.size() / 3] ^= 0x40;
    test::write_file(graph, flipped);
    reopen_and_check("checksum");
    test::write_file(graph, std::string(good.size(), '\xff'));
    reopen_and_check("header");
    fs::remove(graph);
    reopen_and_check("missing");
    // A good file is loaded as it is: no note, not rebuilt (not rewritten).
    notes_.clear();
    const auto written = fs::last_write_time(graph);
    Index index = Index::open(db(), graph_options());
    expect_graph_equals_exact(index);
    EXPECT_TRUE(notes_.empty());
    EXPECT_EQ(fs::last_write_time(graph), written);
}

TEST_F(IndexGraphTest, StaleGraphIsUpdatedFromTheDatabase) {
    {
        Index index = create();
        index.add(*clip_, {photos().string()});
    }
    const std::string old_graph = test::read_file(db().string() + ".hnsw");
    {
        // Another writer that keeps no graph (threshold not reached) changes the rows.
        IndexOptions exact_only;
        exact_only.hnsw_threshold = 1000000;
        Index index = Index::open(db(), exact_only);
        fs::remove(photos() / "bmp_24.bmp");
        fs::copy_file(test::fixtures_dir() / "images" / "jpeg_cmyk.jpg", photos() / "added.jpg");
        index.add(*clip_, {photos().string()});
        EXPECT_FALSE(index.stats().graph_current);
    }
    EXPECT_EQ(test::read_file(db().string() + ".hnsw"), old_graph);
    Index index = Index::open(db(), graph_options());
    expect_graph_equals_exact(index);
    EXPECT_TRUE(index.stats().graph_current);
    SearchOptions all;
    all.top_k = 100;
    std::set<fs::path> paths;
    for (const auto& h : index.search_text(*clip_, {"x"}, all)) paths.insert(h.path);
    EXPECT_EQ(paths.count(photos() / "bmp_24.bmp"), 0u);
    EXPECT_EQ(paths.count(photos() / "added.jpg"), 1u);
    EXPECT_EQ(paths.size(), index.stats().images);
}

TEST_F(IndexGraphTest, MetadataChangesKeepTheGraphFile) {
    Index index = create();
    index.add(*clip_, {photos().string()});
    const fs::path graph = db().string() + ".hnsw";
    const auto written = fs::last_write_time(graph);
    const std::string bytes = test::read_file(graph);
    fs::last_write_time(photos() / "png_rgb.png", fs::last_write_time(photos() / "png_rgb.png") + std::chrono::hours(1));
    fs::rename(photos() / "bmp_24.bmp", photos() / "renamed.bmp");
    const AddProgress p = index.add(*clip_, {photos().string()});
    EXPECT_EQ(p.to_encode, 0u);
    EXPECT_EQ(p.reused, 1u);
    EXPECT_TRUE(index.stats().graph_current);
    EXPECT_EQ(fs::last_write_time(graph), written);
    EXPECT_EQ(test::read_file(graph), bytes);
    Index reopened = Index::open(db(), graph_options());
    expect_graph_equals_exact(reopened);
    EXPECT_TRUE(notes_.empty());
    EXPECT_EQ(fs::last_write_time(graph), written);
}

TEST(IndexRealPhotos, ImagenetteFolderIndexedSearchedAndReindexed) {
    const auto shared = test::shared_dir();
    if (!shared || !fs::exists(*shared / "data" / "imagenette-val" / "n01440764"))
        GTEST_SKIP() << "../shared/data/imagenette-val is absent";
    const fs::path photos = *shared / "data" / "imagenette-val" / "n01440764";
    size_t jpegs = 0;
    for (const auto& e : fs::directory_iterator(photos)) jpegs += e.path().extension() == ".JPEG";
    const fs::path dir = fs::temp_directory_path() / ("zeroclip_index_real_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    Clip clip = Clip::open(test::fixture_model());
    IndexOptions options;
    options.hnsw_threshold = 0;
    Index index = Index::create(dir / "photos.zcdb", describe_model(test::fixture_model().string(), test::fixture_model(), clip), options);
    const AddProgress first = index.add(clip, {photos.string()});
    EXPECT_EQ(first.encoded, jpegs);
    EXPECT_EQ(first.failed, 0u);
    const AddProgress again = index.add(clip, {photos.string()});
    EXPECT_EQ(again.to_encode, 0u);
    EXPECT_EQ(again.unchanged, jpegs);
    for (const char* text : {"a tench", "a fish held by a man", "grass"}) {
        SearchOptions search;
        search.top_k = 10;
        const auto approximate = index.search_text(clip, {text}, search);
        search.exact = true;
        const auto exact = index.search_text(clip, {text}, search);
        ASSERT_EQ(approximate.size(), 10u);
        ASSERT_EQ(exact.size(), 10u);
        for (size_t i = 0; i < 10; ++i) EXPECT_NEAR(approximate[i].score, exact[i].score, 1e-6) << text << " " << i;
    }
    fs::remove_all(dir);
}
