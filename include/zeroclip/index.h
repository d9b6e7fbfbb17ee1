// zeroclip/index.h - a persistent, incremental index of a photo collection, searched by text, by
// image, by embedding and for near-duplicates.
//
//   Clip clip = Clip::open(model_dir);
//   Index index = Index::create("photos.zcdb", describe_model("openai/clip-vit-base-patch32", model_dir, clip));
//   index.add(clip, {"~/Pictures"});                       // new and changed files only
//   for (const auto& hit : index.search_text(clip, {"a dog on a beach"}))
//       std::cout << hit.path << " " << hit.score << "\n";
//
// One SQLite file (`photos.zcdb`) is the source of truth: per image its path, size, mtime,
// content hash, the model that made its vector and the unit-length float32 vector; removed
// images are tombstoned. Large collections are searched through an HNSW graph kept beside it
// (`photos.zcdb.hnsw`), rebuilt from the database whenever it is missing, stale or damaged.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "zeroclip/clip.h"
#include "zeroclip/image_batches.h"
#include "zeroclip/model.h"
#include "zeroclip/pipelines.h"

namespace zeroclip {

// What made an index's vectors. Two models are the same when fingerprint, precision and dim
// agree; `id` is what the user gave (a Hugging Face id or a directory), kept to reopen it.
struct IndexModel {
    std::string id;
    std::string fingerprint;  // model_fingerprint() of the model directory
    std::string precision;    // "fp32", "bf16" or "int8": what the towers actually ran in
    int dim = 0;              // projection_dim

    bool same_as(const IndexModel& other) const {
        return fingerprint == other.fingerprint && precision == other.precision && dim == other.dim;
    }
    std::string describe() const;  // "ID (fp32, 512-d, fingerprint 0123...)"
};

// The IndexModel of an opened model; `id` is kept as given (absolute when a directory).
IndexModel describe_model(const std::string& id, const std::filesystem::path& model_dir, Clip& clip);

const char* precision_label(Precision precision);  // "fp32", "bf16", "int8"

struct IndexOptions {
    // At least this many live images: search goes through the HNSW graph (unless exact is asked
    // for). Below it, every search is exact and no .hnsw file is written.
    size_t hnsw_threshold = 20000;
    int hnsw_m = 16;                  // graph degree (hnswlib's M)
    int hnsw_ef_construction = 200;   // build-time beam width
    int threads = 0;                  // graph building, exact search and hashing; 0: all cores
    bool read_only = false;           // never write (no graph file either)
    // Told about recoverable events, e.g. a damaged .hnsw file being rebuilt (one line each).
    std::function<void(const std::string&)> on_note;
    // Told how far building or updating the HNSW graph has got (rows added, of total), now and
    // then, from the thread that asked: a graph of a million rows takes minutes.
    std::function<void(size_t, size_t)> on_graph_progress;
};

struct AddProgress {
    size_t scanned = 0;      // files found under the inputs
    size_t unchanged = 0;    // same size and mtime (or same content after a touch)
    size_t reused = 0;       // moved or copied files: vector taken from a row with the same content
    size_t to_encode = 0;    // new or changed files that need the image tower
    size_t encoded = 0;      // of to_encode, stored so far
    size_t failed = 0;       // unreadable files (not stored; retried by the next add)
    size_t removed = 0;      // rows tombstoned because their file is gone
};

struct ImportProgress {
    size_t shards = 0;      // shards found (all checked before the first is stored)
    size_t total_rows = 0;  // vectors in them
    size_t rows = 0;        // of those, gone through so far
    size_t imported = 0;   // rows stored (new files, or files whose content changed)
    size_t unchanged = 0;  // files already indexed with the same content
    size_t failed = 0;     // rows not stored (the file is gone or changed since it was encoded)
                           // and the shards' own unreadable files
};

struct AddOptions {
    ImageRunOptions run;  // batch size (= rows per transaction) and decoding threads
    // Tombstone indexed files under the given directories (or given files) that no longer exist.
    bool drop_missing = true;
};

struct SearchHit {
    int64_t row = 0;               // stable row id (Index::row() gives the file back)
    std::filesystem::path path;
    float score = 0;               // cosine similarity
};

struct SearchOptions {
    int top_k = 20;
    std::optional<float> threshold;  // keep hits with score >= threshold
    bool exact = false;              // scan every vector even when a graph is available
    int ef_search = 0;               // HNSW beam width; 0: max(128, 2 * top_k)
};

struct IndexStats {
    IndexModel model;
    size_t images = 0;       // live rows
    size_t tombstones = 0;   // removed rows kept (their vectors serve moved files)
    int64_t database_bytes = 0;
    int64_t graph_bytes = 0;  // 0 when there is no .hnsw file
    bool graph_current = false;  // the .hnsw file covers the database as it is now
};

struct IndexRow {
    int64_t row = 0;
    std::filesystem::path path;
    int64_t size = 0;
    int64_t mtime_ns = 0;
};

// Calls on one Index are serialised (safe from several threads; an add holds it for its whole
// run). Other processes may search while one adds.
class Index {
public:
    // An existing index. Throws zeroclip::Error naming the file when it is missing, not a
    // database, or not a zeroclip index (another program's database, a newer format).
    static Index open(const std::filesystem::path& db_path, const IndexOptions& options = {});
    // Opens `db_path`, creating it for `model` when missing; an existing index made with another
    // model is an error naming both.
    static Index create(const std::filesystem::path& db_path, const IndexModel& model,
                        const IndexOptions& options = {});

    Index(Index&&) noexcept;
    Index& operator=(Index&&) noexcept;
    ~Index();

    const std::filesystem::path& path() const;
    const IndexModel& model() const;
    // Throws when `model` differs from the recorded one, naming both.
    void check_model(const IndexModel& model) const;
    // Opens the recorded model (a Hub id is resolved through the cache), in the recorded precision.
    Clip open_model(ModelOptions options = {}) const;

    // Adds new and changed image files under `inputs` (files or directories), drops the missing
    // ones. Unchanged files are not read; moved or copied files are recognised by content hash
    // and not encoded again. Each batch is one transaction: an interrupted add loses at most the
    // batch in flight, and the next add resumes. Only one add runs on a database at a time: a
    // second one fails at once, naming the file. `clip` must be the recorded model.
    AddProgress add(Clip& clip, const std::vector<std::string>& inputs, const AddOptions& options = {},
                    const std::function<void(const AddProgress&)>& on_progress = {},
                    const FailureHandler& on_failure = {});
    // The same, opening the model only when an image must be encoded (`open_clip` runs at most
    // once): re-indexing an unchanged tree then loads no model.
    AddProgress add(const std::function<Clip&()>& open_clip, const std::vector<std::string>& inputs,
                    const AddOptions& options = {}, const std::function<void(const AddProgress&)>& on_progress = {},
                    const FailureHandler& on_failure = {});

    // Adds the vectors of the shards zeroclip.dask.embed wrote under `dir` (shard-NNNNN.npy +
    // .json) without encoding anything. Every shard is checked first: one made with another
    // model, or whose .npy does not hold one float32 row of the index's dimension per path, is
    // an error naming the file, and nothing is imported. Then each file is stated and hashed
    // as add() does (a later add of the same tree finds it unchanged) and each shard is stored
    // in one transaction. Files already indexed with the same content are skipped (a rerun
    // after an interruption resumes); files changed or gone since their shard was written are
    // reported to `on_failure` and not stored (an add encodes them).
    ImportProgress import_shards(const std::filesystem::path& dir,
                                 const std::function<void(const ImportProgress&)>& on_progress = {},
                                 const FailureHandler& on_failure = {});

    // Tombstones the rows of these paths (files, or directories: everything under them);
    // returns how many rows were removed.
    size_t remove(const std::vector<std::string>& paths);

    // `query` need not be unit length; results best first.
    std::vector<SearchHit> search(std::span<const float> query, const SearchOptions& options = {});
    // Query arithmetic as rclip has it: the normalised positive embeddings summed, minus the
    // normalised negative ones, normalised.
    std::vector<SearchHit> search_text(Clip& clip, const std::vector<std::string>& texts,
                                       const SearchOptions& options = {},
                                       const std::vector<std::string>& minus_texts = {});
    std::vector<SearchHit> search_image(Clip& clip, const std::filesystem::path& image,
                                        const SearchOptions& options = {},
                                        const std::vector<std::string>& minus_texts = {});

    // Groups of images linked by cosine similarity >= threshold (single linkage), largest group
    // first; within a group by path, each scored by its cosine with the group's first image.
    std::vector<std::vector<SearchHit>> near_duplicates(float threshold = 0.95f);

    IndexStats stats();
    std::optional<IndexRow> row(int64_t row_id);
    std::optional<std::vector<float>> embedding(int64_t row_id);  // unit length

    // Live vectors as float32 .npy [N, dim] and their paths, one a line, in the same order.
    size_t export_npy(const std::filesystem::path& npy, const std::filesystem::path& paths_file);
    // One JSON object a line: {"path": ..., "embedding": [...]} (invalid UTF-8 replaced).
    size_t export_jsonl(const std::filesystem::path& jsonl);

    // Brings the .hnsw graph up to date now (normally done lazily by search); returns whether
    // a graph is in use.
    bool update_graph();

    struct Impl;

private:
    explicit Index(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace zeroclip
