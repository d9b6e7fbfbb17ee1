// The index database: schema, validation of what is opened, and row operations.
#include "index/index_store.h"

#include <cstring>

#include "zeroclip/error.h"

namespace zeroclip::index {

namespace {

// PRAGMA application_id of a zeroclip index ("zCLP"): tells it from other SQLite files.
constexpr int64_t kApplicationId = 0x7A434C50;
constexpr int kBusyTimeoutMs = 10000;

std::span<const uint8_t> vector_bytes(const float* v, int dim) {
    return {reinterpret_cast<const uint8_t*>(v), static_cast<size_t>(dim) * sizeof(float)};
}

}  // namespace

std::string hash_to_blob(const ContentHash& hash) {
    std::string blob(16, '\0');
    std::memcpy(blob.data(), &hash.lo, 8);
    std::memcpy(blob.data() + 8, &hash.hi, 8);
    return blob;
}

ContentHash hash_from_blob(std::span<const uint8_t> blob) {
    ContentHash hash;
    if (blob.size() == 16) {
        std::memcpy(&hash.lo, blob.data(), 8);
        std::memcpy(&hash.hi, blob.data() + 8, 8);
    }
    return hash;
}

IndexStore::IndexStore(const std::filesystem::path& path, const IndexModel* model, bool read_only)
    : db_(path,
          read_only ? SqliteDb::Mode::ReadOnly : model ? SqliteDb::Mode::Create : SqliteDb::Mode::ReadWrite,
          kBusyTimeoutMs) {
    int64_t app_id = 0;
    int64_t tables = 0;
    {
        Statement s(db_, "PRAGMA application_id");
        if (s.step()) app_id = s.column_int(0);
    }
    {
        Statement s(db_, "SELECT count(*) FROM sqlite_schema");
        if (s.step()) tables = s.column_int(0);
    }
    if (app_id == 0 && tables == 0) {
        if (!model) throw Error(path.string() + ": not a zeroclip index (an empty database)");
        create_schema(*model);
    } else if (app_id != kApplicationId) {
        throw Error(path.string() + ": not a zeroclip index (an SQLite database of another program)");
    }
    load_model();
    if (!read_only) {
        // WAL: readers never wait for the writer; synchronous=NORMAL is safe against a killed
        // process (a committed transaction survives it).
        db_.exec("PRAGMA journal_mode=WAL");
        db_.exec("PRAGMA synchronous=NORMAL");
    }
}

void IndexStore::create_schema(const IndexModel& model) {
    Transaction t(db_);
    {
        Statement s(db_, "SELECT count(*) FROM sqlite_schema");
        if (s.step() && s.column_int(0) > 0) return;  // another process created it meanwhile
    }
    db_.exec(
        "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        // path: the file's name bytes (not necessarily UTF-8); hash: 16-byte content hash;
        // vector: unit-length float32, little-endian; deleted: 0 live, else the generation
        // that tombstoned the row; added: the generation that inserted it.
        "CREATE TABLE images("
        "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
        "  path BLOB NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,"
        "  hash BLOB NOT NULL, model TEXT NOT NULL, precision TEXT NOT NULL,"
        "  vector BLOB NOT NULL, added INTEGER NOT NULL, deleted INTEGER NOT NULL DEFAULT 0);"
        "CREATE UNIQUE INDEX images_live_path ON images(path) WHERE deleted = 0;"
        "CREATE INDEX images_hash ON images(hash);"
        "CREATE INDEX images_added ON images(added);"
        "CREATE INDEX images_deleted ON images(deleted) WHERE deleted > 0;");
    set_meta("format_version", std::to_string(kFormatVersion));
    set_meta("model_id", model.id);
    set_meta("model_fingerprint", model.fingerprint);
    set_meta("precision", model.precision);
    set_meta("dim", std::to_string(model.dim));
    set_meta("vector_format", "f32");
    set_meta("generation", "0");
    db_.exec(("PRAGMA application_id=" + std::to_string(kApplicationId)).c_str());
    t.commit();
}

void IndexStore::load_model() {
    const auto version = meta("format_version");
    if (!version) throw Error(path().string() + ": damaged zeroclip index (no format version)");
    if (*version != std::to_string(kFormatVersion))
        throw Error(path().string() + ": index format " + *version + " is not the one this zeroclip reads (" +
                    std::to_string(kFormatVersion) + ")");
    auto required = [&](const char* key) {
        auto value = meta(key);
        if (!value) throw Error(path().string() + ": damaged zeroclip index (no " + key + ")");
        return *value;
    };
    model_.id = required("model_id");
    model_.fingerprint = required("model_fingerprint");
    model_.precision = required("precision");
    try {
        model_.dim = std::stoi(required("dim"));
    } catch (const std::logic_error&) {
        model_.dim = 0;
    }
    if (model_.dim <= 0 || model_.dim > 65536) throw Error(path().string() + ": damaged zeroclip index (bad dim)");
    if (required("vector_format") != "f32")
        throw Error(path().string() + ": unsupported vector format " + required("vector_format"));
}

std::optional<std::string> IndexStore::meta(const std::string& key) {
    Statement s(db_, "SELECT value FROM meta WHERE key = ?");
    s.bind(1, key);
    if (s.step()) return s.column_text(0);
    return std::nullopt;
}

void IndexStore::set_meta(const std::string& key, const std::string& value) {
    Statement s(db_, "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    s.bind(1, key).bind(2, value).run();
}

int64_t IndexStore::generation() {
    const auto value = meta("generation");
    return value ? std::stoll(*value) : 0;
}

int64_t IndexStore::next_generation() {
    const int64_t next = generation() + 1;
    set_meta("generation", std::to_string(next));
    return next;
}

std::vector<StoredRow> IndexStore::live_rows() {
    std::vector<StoredRow> rows;
    Statement s(db_, "SELECT id, path, size, mtime_ns, hash FROM images WHERE deleted = 0 ORDER BY id");
    while (s.step())
        rows.push_back({s.column_int(0), s.column_blob_string(1), s.column_int(2), s.column_int(3),
                        hash_from_blob(s.column_blob(4))});
    return rows;
}

size_t IndexStore::live_count() {
    Statement s(db_, "SELECT count(*) FROM images WHERE deleted = 0");
    return s.step() ? static_cast<size_t>(s.column_int(0)) : 0;
}

size_t IndexStore::tombstone_count() {
    Statement s(db_, "SELECT count(*) FROM images WHERE deleted > 0");
    return s.step() ? static_cast<size_t>(s.column_int(0)) : 0;
}

static void visit_vectors(Statement& s, int dim, const std::filesystem::path& path,
                          const std::function<void(int64_t, const float*)>& visit) {
    std::vector<float> v(dim);
    while (s.step()) {
        const auto blob = s.column_blob(1);
        if (blob.size() != v.size() * sizeof(float))
            throw Error(path.string() + ": damaged zeroclip index (row " + std::to_string(s.column_int(0)) +
                        " has a vector of " + std::to_string(blob.size()) + " bytes)");
        std::memcpy(v.data(), blob.data(), blob.size());
        visit(s.column_int(0), v.data());
    }
}

void IndexStore::for_each_live_vector(const std::function<void(int64_t, const float*)>& visit) {
    Statement s(db_, "SELECT id, vector FROM images WHERE deleted = 0 ORDER BY id");
    visit_vectors(s, model_.dim, path(), visit);
}

void IndexStore::for_each_added_since(int64_t since, const std::function<void(int64_t, const float*)>& visit) {
    Statement s(db_, "SELECT id, vector FROM images WHERE added > ? AND deleted = 0 ORDER BY id");
    s.bind(1, since);
    visit_vectors(s, model_.dim, path(), visit);
}

std::vector<int64_t> IndexStore::removed_since(int64_t since) {
    Statement s(db_, "SELECT id FROM images WHERE deleted > ? AND added <= ?");
    s.bind(1, since).bind(2, since);
    std::vector<int64_t> ids;
    while (s.step()) ids.push_back(s.column_int(0));
    return ids;
}

int64_t IndexStore::insert(const std::string& path, int64_t size, int64_t mtime_ns, const ContentHash& hash,
                           const float* unit_vector, int64_t generation) {
    if (!insert_)
        insert_ = std::make_unique<Statement>(
            db_, "INSERT INTO images(path, size, mtime_ns, hash, model, precision, vector, added) "
                 "VALUES(?, ?, ?, ?, ?, ?, ?, ?)");
    insert_->bind_blob(1, path).bind(2, size).bind(3, mtime_ns).bind_blob(4, hash_to_blob(hash));
    insert_->bind(5, model_.fingerprint).bind(6, model_.precision);
    insert_->bind_blob(7, vector_bytes(unit_vector, model_.dim)).bind(8, generation);
    insert_->run();
    return sqlite3_last_insert_rowid(db_.handle());
}

void IndexStore::move(int64_t id, const std::string& path, int64_t size, int64_t mtime_ns, int64_t generation) {
    // A moved row keeps its id and vector (the graph needs no change), so it counts as live at
    // its old generation; `generation` only marks that the database changed.
    (void)generation;
    if (!move_) move_ = std::make_unique<Statement>(db_, "UPDATE images SET path = ?, size = ?, mtime_ns = ? WHERE id = ?");
    move_->bind_blob(1, path).bind(2, size).bind(3, mtime_ns).bind(4, id).run();
}

void IndexStore::touch(int64_t id, int64_t size, int64_t mtime_ns) {
    if (!touch_) touch_ = std::make_unique<Statement>(db_, "UPDATE images SET size = ?, mtime_ns = ? WHERE id = ?");
    touch_->bind(1, size).bind(2, mtime_ns).bind(3, id).run();
}

void IndexStore::tombstone(int64_t id, int64_t generation) {
    if (!tombstone_) tombstone_ = std::make_unique<Statement>(db_, "UPDATE images SET deleted = ? WHERE id = ? AND deleted = 0");
    tombstone_->bind(1, generation).bind(2, id).run();
}

std::optional<std::vector<float>> IndexStore::vector_of_hash(const ContentHash& hash) {
    if (!by_hash_)
        by_hash_ = std::make_unique<Statement>(
            db_, "SELECT vector FROM images WHERE hash = ? AND model = ? AND precision = ? ORDER BY deleted = 0 DESC LIMIT 1");
    by_hash_->bind_blob(1, hash_to_blob(hash)).bind(2, model_.fingerprint).bind(3, model_.precision);
    std::optional<std::vector<float>> out;
    if (by_hash_->step()) {
        const auto blob = by_hash_->column_blob(0);
        if (blob.size() == static_cast<size_t>(model_.dim) * sizeof(float)) {
            out.emplace(model_.dim);
            std::memcpy(out->data(), blob.data(), blob.size());
        }
    }
    by_hash_->reset();
    return out;
}

std::optional<StoredRow> IndexStore::row(int64_t id) {
    Statement s(db_, "SELECT id, path, size, mtime_ns, hash FROM images WHERE id = ? AND deleted = 0");
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    return StoredRow{s.column_int(0), s.column_blob_string(1), s.column_int(2), s.column_int(3),
                     hash_from_blob(s.column_blob(4))};
}

std::optional<std::vector<float>> IndexStore::vector(int64_t id) {
    Statement s(db_, "SELECT vector FROM images WHERE id = ? AND deleted = 0");
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    const auto blob = s.column_blob(0);
    if (blob.size() != static_cast<size_t>(model_.dim) * sizeof(float)) return std::nullopt;
    std::vector<float> v(model_.dim);
    std::memcpy(v.data(), blob.data(), blob.size());
    return v;
}

int64_t IndexStore::file_bytes() {
    std::error_code ec;
    int64_t total = 0;
    for (const char* suffix : {"", "-wal"}) {
        const auto size = std::filesystem::file_size(path().string() + suffix, ec);
        if (!ec) total += static_cast<int64_t>(size);
    }
    return total;
}

}  // namespace zeroclip::index
