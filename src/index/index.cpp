// zeroclip::Index: opening, the model record, search and stats.
#include "zeroclip/index.h"

#include <cmath>
#include <cstdio>

#include "index/exact_search.h"
#include "index/file_scan.h"
#include "index/index_impl.h"
#include "zeroclip/error.h"
#include "zeroclip/eval.h"
#include "zeroclip/hub.h"
#include "zeroclip/image.h"

namespace zeroclip {

const char* precision_label(Precision precision) {
    switch (precision) {
    case Precision::Fp32: break;
    case Precision::Bf16: return "bf16";
    case Precision::Int8: return "int8";
    }
    return "fp32";
}

std::string IndexModel::describe() const {
    return id + " (" + precision + ", " + std::to_string(dim) + "-d, fingerprint " + fingerprint.substr(0, 12) + ")";
}

IndexModel describe_model(const std::string& id, const std::filesystem::path& model_dir, Clip& clip) {
    IndexModel model;
    // A directory is recorded absolute so that the index can reopen it from anywhere.
    model.id = ModelId::parse(id) && !std::filesystem::is_directory(id) ? id : index::normal_path(id);
    model.fingerprint = model_fingerprint(model_dir);
    model.precision = precision_label(clip.model().precision());
    model.dim = clip.config().projection_dim;
    return model;
}

void normalize(std::span<float> v) {
    double sum = 0;
    for (float x : v) sum += static_cast<double>(x) * x;
    if (sum <= 0) return;
    const float scale = static_cast<float>(1.0 / std::sqrt(sum));
    for (float& x : v) x *= scale;
}

Index::Index(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Index::Index(Index&&) noexcept = default;
Index& Index::operator=(Index&&) noexcept = default;
Index::~Index() = default;

Index Index::open(const std::filesystem::path& db_path, const IndexOptions& options) {
    std::error_code ec;
    if (!std::filesystem::exists(db_path, ec))
        throw Error(db_path.string() + ": no such index (make one with: zeroclip index --db " + db_path.string() +
                    " -m MODEL DIR)");
    if (std::filesystem::is_directory(db_path, ec)) throw Error(db_path.string() + ": is a directory, not an index");
    return Index(std::make_unique<Impl>(db_path, nullptr, options));
}

Index Index::create(const std::filesystem::path& db_path, const IndexModel& model, const IndexOptions& options) {
    std::error_code ec;
    if (std::filesystem::is_directory(db_path, ec)) throw Error(db_path.string() + ": is a directory, not an index");
    if (model.dim <= 0) throw Error(db_path.string() + ": model dimension must be positive");
    Index index(std::make_unique<Impl>(db_path, &model, options));
    index.check_model(model);
    return index;
}

const std::filesystem::path& Index::path() const { return impl_->store.path(); }
const IndexModel& Index::model() const { return impl_->store.model(); }

void Index::check_model(const IndexModel& other) const {
    const IndexModel& mine = model();
    if (!mine.same_as(other))
        throw Error(path().string() + " was made with " + mine.describe() + ", not " + other.describe() +
                    " (use that model, or another --db)");
}

Clip Index::open_model(ModelOptions options) const {
    const IndexModel& recorded = model();
    if (recorded.precision == "bf16") options.precision = Precision::Bf16;
    else if (recorded.precision == "int8") options.precision = Precision::Int8;
    else options.precision = Precision::Fp32;
    const auto dir = resolve_model(recorded.id, HubOptions::from_environment());
    Clip clip = Clip::open(dir, options);
    check_model(describe_model(recorded.id, dir, clip));
    return clip;
}

std::vector<SearchHit> Index::Impl::resolve(const std::vector<std::pair<float, int64_t>>& scored) {
    std::vector<SearchHit> hits;
    for (const auto& [score, id] : scored) {
        const auto row = store.row(id);
        if (!row) continue;  // removed since the vectors were loaded
        hits.push_back({id, std::filesystem::path(row->path), score});
    }
    return hits;
}

std::vector<SearchHit> Index::search(std::span<const float> query, const SearchOptions& options) {
    const std::lock_guard lock(impl_->mutex);
    Impl& impl = *impl_;
    const int dim = model().dim;
    if (static_cast<int>(query.size()) != dim)
        throw Error("query has " + std::to_string(query.size()) + " dimensions, the index " + std::to_string(dim));
    if (options.top_k < 1) throw Error("top-k must be at least 1");
    std::vector<float> q(query.begin(), query.end());
    normalize(q);
    impl.refresh();
    const float min_score = options.threshold.value_or(-INFINITY);
    std::vector<std::pair<float, int64_t>> scored;
    if (impl.graph && !options.exact) {
        const size_t ef = options.ef_search > 0 ? options.ef_search : std::max(128, 2 * options.top_k);
        for (const auto& [score, id] : impl.graph->search(q.data(), options.top_k, ef))
            if (score >= min_score) scored.push_back({score, id});
    } else {
        for (const auto& hit : index::exact_top_k(q.data(), impl.exact_rows(), options.top_k, min_score, impl.threads()))
            scored.push_back({hit.score, impl.id_at(hit.position)});
    }
    return impl.resolve(scored);
}

namespace {

std::vector<float> query_vector(Clip& clip, const Matrix& positive, const std::vector<std::string>& minus_texts) {
    std::vector<float> q(positive.cols, 0.0f);
    auto accumulate = [&](const Matrix& m, float sign) {
        for (int r = 0; r < m.rows; ++r) {
            std::vector<float> v(m.row(r), m.row(r) + m.cols);
            normalize(v);
            for (int c = 0; c < m.cols; ++c) q[c] += sign * v[c];
        }
    };
    accumulate(positive, 1.0f);
    if (!minus_texts.empty()) accumulate(clip.embed_texts(minus_texts), -1.0f);
    return q;
}

}  // namespace

std::vector<SearchHit> Index::search_text(Clip& clip, const std::vector<std::string>& texts,
                                          const SearchOptions& options, const std::vector<std::string>& minus_texts) {
    if (texts.empty()) throw Error("no query text given");
    if (clip.config().projection_dim != model().dim)
        throw Error("the model gives " + std::to_string(clip.config().projection_dim) + "-d vectors, the index " +
                    std::to_string(model().dim));
    return search(query_vector(clip, clip.embed_texts(texts), minus_texts), options);
}

std::vector<SearchHit> Index::search_image(Clip& clip, const std::filesystem::path& image,
                                           const SearchOptions& options, const std::vector<std::string>& minus_texts) {
    if (clip.config().projection_dim != model().dim)
        throw Error("the model gives " + std::to_string(clip.config().projection_dim) + "-d vectors, the index " +
                    std::to_string(model().dim));
    return search(query_vector(clip, clip.embed_images({read_image(image)}), minus_texts), options);
}

IndexStats Index::stats() {
    const std::lock_guard lock(impl_->mutex);
    Impl& impl = *impl_;
    IndexStats stats;
    stats.model = model();
    stats.images = impl.store.live_count();
    stats.tombstones = impl.store.tombstone_count();
    stats.database_bytes = impl.store.file_bytes();
    std::error_code ec;
    const auto graph_bytes = std::filesystem::file_size(impl.graph_path(), ec);
    stats.graph_bytes = ec ? 0 : static_cast<int64_t>(graph_bytes);
    const auto recorded = impl.store.meta("hnsw_generation");
    stats.graph_current = stats.graph_bytes > 0 && recorded && *recorded == std::to_string(impl.store.generation());
    return stats;
}

std::optional<IndexRow> Index::row(int64_t row_id) {
    const std::lock_guard lock(impl_->mutex);
    const auto stored = impl_->store.row(row_id);
    if (!stored) return std::nullopt;
    return IndexRow{stored->id, std::filesystem::path(stored->path), stored->size, stored->mtime_ns};
}

std::optional<std::vector<float>> Index::embedding(int64_t row_id) {
    const std::lock_guard lock(impl_->mutex);
    return impl_->store.vector(row_id);
}

bool Index::update_graph() {
    const std::lock_guard lock(impl_->mutex);
    impl_->refresh();
    return impl_->graph != nullptr;
}

}  // namespace zeroclip
