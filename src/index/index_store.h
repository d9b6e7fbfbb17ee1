// index/index_store.h - the SQLite database that is the index's source of truth: schema, model
// record, rows (path, size, mtime, content hash, vector, tombstone) and the generation counter
// that tells the HNSW sidecar which rows it covers.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "index/sqlite_db.h"
#include "zeroclip/eval.h"
#include "zeroclip/index.h"

namespace zeroclip::index {

struct StoredRow {
    int64_t id = 0;
    std::string path;  // native bytes, absolute
    int64_t size = 0;
    int64_t mtime_ns = 0;
    ContentHash hash;
};

class IndexStore {
public:
    static constexpr int kFormatVersion = 1;

    // Opens (or with `model`, creates when missing) and validates the database: an SQLite file
    // of another program or a newer format throws naming the file.
    IndexStore(const std::filesystem::path& path, const IndexModel* model, bool read_only);

    const IndexModel& model() const { return model_; }
    const std::filesystem::path& path() const { return db_.path(); }
    SqliteDb& db() { return db_; }

    std::optional<std::string> meta(const std::string& key);
    void set_meta(const std::string& key, const std::string& value);  // inside a transaction

    // Each transaction that changes rows takes the next generation; rows remember the
    // generation that added and the one that tombstoned them.
    int64_t generation();
    int64_t next_generation();  // inside a transaction: increments and returns it

    std::vector<StoredRow> live_rows();
    size_t live_count();
    size_t tombstone_count();

    // Calls `visit(id, vector)` for every live row in id order.
    void for_each_live_vector(const std::function<void(int64_t, const float*)>& visit);
    // Rows added after generation `since` and still live; rows added up to `since` and
    // tombstoned after it.
    void for_each_added_since(int64_t since, const std::function<void(int64_t, const float*)>& visit);
    std::vector<int64_t> removed_since(int64_t since);

    // The rest run inside a transaction.
    int64_t insert(const std::string& path, int64_t size, int64_t mtime_ns, const ContentHash& hash,
                   const float* unit_vector, int64_t generation);
    void move(int64_t id, const std::string& path, int64_t size, int64_t mtime_ns, int64_t generation);
    void touch(int64_t id, int64_t size, int64_t mtime_ns);
    void tombstone(int64_t id, int64_t generation);

    // The vector of any row (live or tombstoned) with this content, made by this model.
    std::optional<std::vector<float>> vector_of_hash(const ContentHash& hash);
    std::optional<StoredRow> row(int64_t id);
    std::optional<std::vector<float>> vector(int64_t id);

    int64_t file_bytes();

private:
    void create_schema(const IndexModel& model);
    void load_model();

    SqliteDb db_;
    IndexModel model_;
    std::unique_ptr<Statement> insert_, move_, touch_, tombstone_, by_hash_;
};

std::string hash_to_blob(const ContentHash& hash);
ContentHash hash_from_blob(std::span<const uint8_t> blob);

}  // namespace zeroclip::index
