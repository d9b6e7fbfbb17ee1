// Index::import_shards: the vectors of a zeroclip.dask.embed job stored without encoding.
//
// All shards are checked before anything is written, so that a wrong directory or a damaged
// shard imports nothing. Each file is then stated and hashed here, as add() does, so that the
// rows are indistinguishable from encoded ones; a file whose size or mtime differs from what
// the worker saw before reading it may not match its vector and is left to add().
#include <unordered_map>

#include "index/embedding_shard.h"
#include "index/file_scan.h"
#include "index/index_impl.h"
#include "index/writer_lock.h"
#include "zeroclip/error.h"

namespace zeroclip {

namespace {

struct LiveRow {
    int64_t id = 0;
    int64_t size = 0;
    int64_t mtime_ns = 0;
    ContentHash hash;
};

}  // namespace

ImportProgress Index::import_shards(const std::filesystem::path& dir,
                                    const std::function<void(const ImportProgress&)>& on_progress,
                                    const FailureHandler& on_failure) {
    const std::lock_guard guard(impl_->mutex);
    Impl& impl = *impl_;
    index::IndexStore& store = impl.store;
    if (impl.options.read_only) throw Error(path().string() + ": opened read-only");
    const IndexModel& recorded = model();
    index::WriterLock lock(path());

    std::vector<index::EmbeddingShard> shards;
    for (const auto& json : index::list_shards(dir)) {
        shards.push_back(index::read_shard(json));
        const IndexModel& made_with = shards.back().model;
        if (!made_with.same_as(recorded))
            throw Error(json.string() + " was made with " + made_with.describe() + ", but " + path().string() +
                        " with " + recorded.describe());
    }

    std::unordered_map<std::string, LiveRow> live;
    for (auto& row : store.live_rows()) live[std::move(row.path)] = {row.id, row.size, row.mtime_ns, row.hash};

    ImportProgress progress;
    progress.shards = shards.size();
    for (const auto& shard : shards) progress.total_rows += shard.rows.size();
    if (on_progress) on_progress(progress);
    auto fail = [&](const ImageFailure& f) {
        ++progress.failed;
        if (on_failure) on_failure(f);
    };
    const int dim = recorded.dim;
    for (const auto& shard : shards) {
        for (const auto& f : shard.failed) fail(f);

        // Rows whose file is as the worker saw it and not indexed as it is now.
        std::vector<size_t> candidates;
        std::vector<std::string> names;
        for (size_t r = 0; r < shard.rows.size(); ++r) {
            const index::ShardRow& row = shard.rows[r];
            const auto now = index::stat_file(row.path);
            if (!now.error.empty()) {
                fail({row.path, now.error});
                continue;
            }
            if (now.size != row.size || now.mtime_ns != row.mtime_ns) {
                fail({row.path, row.path + ": changed since " + shard.json.filename().string() +
                                    " was written (not imported; index it to encode it)"});
                continue;
            }
            const auto it = live.find(row.path);
            if (it != live.end() && it->second.size == row.size && it->second.mtime_ns == row.mtime_ns) {
                ++progress.unchanged;
                continue;
            }
            candidates.push_back(r);
            names.push_back(row.path);
        }
        if (candidates.empty()) {
            progress.rows += shard.rows.size();
            if (on_progress) on_progress(progress);
            continue;
        }
        const std::vector<index::FileHash> hashes = index::hash_files(names, impl.threads());
        std::vector<float> vectors = index::read_shard_vectors(shard);

        index::Transaction t(store.db());
        int64_t generation = 0;
        auto gen = [&] { return generation ? generation : (generation = store.next_generation()); };
        for (size_t c = 0; c < candidates.size(); ++c) {
            const index::ShardRow& row = shard.rows[candidates[c]];
            if (!hashes[c].error.empty()) {
                fail({row.path, hashes[c].error});
                continue;
            }
            const auto it = live.find(row.path);
            if (it != live.end() && it->second.hash == hashes[c].hash) {  // touched, or listed twice
                if (it->second.size != row.size || it->second.mtime_ns != row.mtime_ns) {
                    store.touch(it->second.id, row.size, row.mtime_ns);
                    gen();
                }
                it->second.size = row.size;
                it->second.mtime_ns = row.mtime_ns;
                ++progress.unchanged;
                continue;
            }
            std::span<float> v(vectors.data() + candidates[c] * static_cast<size_t>(dim), dim);
            normalize(v);
            if (it != live.end()) store.tombstone(it->second.id, gen());
            const int64_t id = store.insert(row.path, row.size, row.mtime_ns, hashes[c].hash, v.data(), gen());
            live[row.path] = {id, row.size, row.mtime_ns, hashes[c].hash};
            ++progress.imported;
        }
        t.commit();
        progress.rows += shard.rows.size();
        if (on_progress) on_progress(progress);
    }
    if (progress.imported > 0) impl.refresh();
    return progress;
}

}  // namespace zeroclip
