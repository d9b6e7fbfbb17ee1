// Index::add and Index::remove: incremental updates of the collection.
//
// An add compares what it finds on disk with the live rows: same size and mtime is unchanged;
// otherwise the content hash decides between "touched" (metadata only), "moved or copied"
// (the vector of a row with that content is reused) and "new or changed" (encoded). Metadata
// changes commit in one transaction, then every encoded batch in its own, so that a killed
// run loses at most one batch and the next run picks up where it stopped.
#include <unordered_map>

#include "index/file_scan.h"
#include "index/index_impl.h"
#include "index/writer_lock.h"
#include "zeroclip/error.h"

namespace zeroclip {

namespace {

struct HashKey {
    size_t operator()(const ContentHash& h) const { return static_cast<size_t>(h.lo ^ h.hi); }
};

struct Pending {
    const index::ScannedFile* file = nullptr;
    int64_t old_row = 0;  // the live row this file replaces (changed content), 0 if none
    ContentHash hash;
};

}  // namespace

namespace {

void check_clip(const Index& index, Clip& clip) {
    const IndexModel& recorded = index.model();
    const char* precision = precision_label(clip.model().precision());
    if (clip.config().projection_dim != recorded.dim || precision != recorded.precision)
        throw Error(index.path().string() + " was made with " + recorded.describe() + ", not a " + precision + " " +
                    std::to_string(clip.config().projection_dim) + "-d model");
}

}  // namespace

AddProgress Index::add(Clip& clip, const std::vector<std::string>& inputs, const AddOptions& options,
                       const std::function<void(const AddProgress&)>& on_progress, const FailureHandler& on_failure) {
    check_clip(*this, clip);
    return add([&]() -> Clip& { return clip; }, inputs, options, on_progress, on_failure);
}

AddProgress Index::add(const std::function<Clip&()>& open_clip, const std::vector<std::string>& inputs,
                       const AddOptions& options, const std::function<void(const AddProgress&)>& on_progress,
                       const FailureHandler& on_failure) {
    const std::lock_guard guard(impl_->mutex);
    Impl& impl = *impl_;
    index::IndexStore& store = impl.store;
    if (impl.options.read_only) throw Error(path().string() + ": opened read-only");
    const IndexModel& recorded = model();
    index::WriterLock lock(path());

    AddProgress progress;
    auto report = [&] {
        if (on_progress) on_progress(progress);
    };
    auto fail = [&](const ImageFailure& f) {
        ++progress.failed;
        if (on_failure) on_failure(f);
    };

    std::vector<ImageFailure> scan_failures;
    const index::FileScan scan = index::scan_files(inputs, scan_failures);
    for (const auto& f : scan_failures) fail(f);
    progress.scanned = scan.files.size();

    const std::vector<index::StoredRow> stored = store.live_rows();
    std::unordered_map<std::string, size_t> stored_by_path;
    for (size_t i = 0; i < stored.size(); ++i) stored_by_path.emplace(stored[i].path, i);

    // Files whose content must be hashed: new paths, and known paths with another size or mtime.
    std::vector<Pending> candidates;
    std::vector<bool> seen(stored.size(), false);
    for (const auto& file : scan.files) {
        const auto it = stored_by_path.find(file.path);
        if (it == stored_by_path.end()) {
            candidates.push_back({&file, 0, {}});
            continue;
        }
        seen[it->second] = true;
        const auto& row = stored[it->second];
        if (row.size == file.size && row.mtime_ns == file.mtime_ns) ++progress.unchanged;
        else candidates.push_back({&file, row.id, {}});
    }
    report();

    {  // hash on all cores: reading is most of it
        std::vector<std::string> names;
        for (const auto& c : candidates) names.push_back(c.file->path);
        const std::vector<index::FileHash> hashes = index::hash_files(names, impl.threads());
        std::vector<Pending> hashed;
        for (size_t i = 0; i < candidates.size(); ++i) {
            if (!hashes[i].error.empty()) {
                fail({candidates[i].file->path, hashes[i].error});
                continue;
            }
            hashed.push_back(candidates[i]);
            hashed.back().hash = hashes[i].hash;
        }
        candidates = std::move(hashed);
    }

    // Rows whose file is gone: under a root that was listed, and not found there.
    std::unordered_multimap<ContentHash, size_t, HashKey> gone_by_hash;
    std::vector<size_t> gone;
    for (size_t i = 0; i < stored.size(); ++i) {
        if (seen[i]) continue;
        const auto& p = stored[i].path;
        bool under_root = false, protected_path = false;
        for (const auto& root : scan.roots) under_root = under_root || index::is_under(p, root);
        for (const auto& u : scan.unlisted) protected_path = protected_path || index::is_under(p, u);
        if (!under_root || protected_path) continue;
        std::error_code ec;
        if (std::filesystem::exists(std::filesystem::path(p), ec) || ec) continue;  // e.g. not an image extension now
        gone.push_back(i);
        gone_by_hash.emplace(stored[i].hash, i);
    }

    // Metadata-only changes, in one transaction.
    std::vector<Pending> to_encode;
    std::vector<bool> moved_away(stored.size(), false);
    {
        index::Transaction t(store.db());
        int64_t generation = 0;
        auto gen = [&] { return generation ? generation : (generation = store.next_generation()); };
        for (const auto& c : candidates) {
            const auto& f = *c.file;
            if (c.old_row) {
                const auto& old = stored[stored_by_path.at(f.path)];
                if (old.hash == c.hash) {  // touched, same content
                    store.touch(old.id, f.size, f.mtime_ns);
                    gen();
                    ++progress.unchanged;
                    continue;
                }
            } else if (auto g = gone_by_hash.find(c.hash); g != gone_by_hash.end()) {
                // A file that vanished from its old place reappears here: same row, new path.
                const size_t i = g->second;
                gone_by_hash.erase(g);
                moved_away[i] = true;
                store.move(stored[i].id, f.path, f.size, f.mtime_ns, gen());
                ++progress.reused;
                continue;
            }
            // Content seen before (a copy, or a file restored): reuse its vector.
            const std::optional<std::vector<float>> vector = store.vector_of_hash(c.hash);
            if (!vector) {
                to_encode.push_back(c);
                continue;
            }
            if (c.old_row) store.tombstone(c.old_row, gen());
            store.insert(f.path, f.size, f.mtime_ns, c.hash, vector->data(), gen());
            ++progress.reused;
        }
        if (options.drop_missing) {
            for (size_t i : gone) {
                if (moved_away[i]) continue;
                store.tombstone(stored[i].id, gen());
                ++progress.removed;
            }
        }
        t.commit();
    }
    progress.to_encode = to_encode.size();
    report();
    if (to_encode.empty()) {
        // Bring the graph up to date now rather than at the first search, unless nothing changed
        // (then re-indexing an unchanged tree costs no graph load).
        if (progress.reused + progress.removed > 0) impl.refresh();
        return progress;
    }

    std::vector<std::filesystem::path> paths;
    std::unordered_map<std::string, size_t> pending_by_path;
    for (size_t i = 0; i < to_encode.size(); ++i) {
        paths.emplace_back(to_encode[i].file->path);
        pending_by_path.emplace(to_encode[i].file->path, i);
    }
    const int dim = recorded.dim;
    Clip& clip = open_clip();
    check_clip(*this, clip);
    embed_image_files(
        clip, paths, options.run,
        [&](const std::vector<std::filesystem::path>& batch_paths, Matrix& embeddings) {
            if (embeddings.cols != dim) throw Error("the model gave " + std::to_string(embeddings.cols) + "-d vectors");
            index::Transaction t(store.db());
            const int64_t generation = store.next_generation();
            for (size_t r = 0; r < batch_paths.size(); ++r) {
                const Pending& p = to_encode.at(pending_by_path.at(batch_paths[r].native()));
                std::span<float> v(embeddings.row(static_cast<int>(r)), dim);
                normalize(v);
                if (p.old_row) store.tombstone(p.old_row, generation);
                store.insert(p.file->path, p.file->size, p.file->mtime_ns, p.hash, v.data(), generation);
            }
            t.commit();
            progress.encoded += batch_paths.size();
            report();
        },
        fail);
    impl.refresh();
    return progress;
}

size_t Index::remove(const std::vector<std::string>& paths) {
    const std::lock_guard guard(impl_->mutex);
    Impl& impl = *impl_;
    if (impl.options.read_only) throw Error(path().string() + ": opened read-only");
    index::WriterLock lock(path());
    std::vector<std::string> targets;
    for (const auto& p : paths) targets.push_back(index::normal_path(p));
    size_t removed = 0;
    index::Transaction t(impl.store.db());
    int64_t generation = 0;
    for (const auto& row : impl.store.live_rows()) {
        bool hit = false;
        for (const auto& target : targets) hit = hit || index::is_under(row.path, target);
        if (!hit) continue;
        if (!generation) generation = impl.store.next_generation();
        impl.store.tombstone(row.id, generation);
        ++removed;
    }
    t.commit();
    return removed;
}

}  // namespace zeroclip
