"""Embedding image collections on a Dask cluster (Debian's python3-distributed).

    from distributed import Client
    import zeroclip.dask
    client = Client("tcp://scheduler:8786")          # or LocalCluster(n_workers=2, threads_per_worker=1)
    zeroclip.dask.embed(["photos/"], model="openai/clip-vit-base-patch32", out="/shared/embeds")
    paths, vectors = zeroclip.dask.load("/shared/embeds")

The paths are split into partitions of `partition_size`; each partition becomes one task, which a
worker runs through the library's embedding pipeline with a model that worker loaded once (a
worker plugin) and writes as one shard: shard-NNNNN.npy (float32 [rows, D]) and shard-NNNNN.json
(the input paths, the rows' paths with the [size, mtime_ns] each file had before it was read, the
unreadable ones, the model with its fingerprint, precision and dim, and the worker's cwd), each
written to a temporary name and renamed, the .json last. A shard whose .json names the same inputs
(and the model's fingerprint) is finished: a rerun skips it. The shards feed a search index
without encoding anything again: `zeroclip index --db F --import DIR` or `Index.import_shards`.
Failed tasks are retried (`retries`), and tasks of a lost worker are rescheduled by Dask. Workers
need the images and `out` at the same paths (a shared file system); directories in `paths` are
expanded on the client, like `zeroclip embed` does.

Paths are str as os.fsdecode gives them, so any file name works. In a shard's .json a path (and
the model, which may be a directory) is a string when its bytes are UTF-8, else
{"bytes_hex": "<its bytes in hex>"} (a JSON string cannot hold other bytes losslessly); `load`
and the index's import read both forms.
"""
import hashlib
import json
import os
import tempfile
import threading

import numpy as np
from distributed import WorkerPlugin, get_client, get_worker, wait

import zeroclip

_SHARD = "shard-{:05d}"


class ModelPlugin(WorkerPlugin):
    """Holds one zeroclip.Clip per worker, loaded at the first task that needs it (not in setup,
    so that the worker's event loop never waits for a model to load)."""

    def __init__(self, model, precision="fp32", threads=None, batch_size=32):
        self.options = {"model": model, "precision": precision, "threads": threads, "batch_size": batch_size}
        digest = hashlib.sha256(json.dumps(self.options, sort_keys=True).encode()).hexdigest()[:16]
        self.name = f"zeroclip-model-{digest}"
        self.loads = 0
        self._clip = None

    def setup(self, worker):
        self._lock = threading.Lock()
        if self.options["threads"] is None:  # the model gets the threads the worker was given
            self.options = {**self.options, "threads": worker.state.nthreads if hasattr(worker, "state") else worker.nthreads}

    def clip(self):
        with self._lock:
            if self._clip is None:
                self._clip = zeroclip.Clip(**self.options)
                self.loads += 1
            return self._clip


def _path_record(path):
    """A path as a shard's .json records it: its text when its bytes are UTF-8, else its bytes in hex."""
    raw = os.fsencode(path)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return {"bytes_hex": raw.hex()}


def _path_from_record(record):
    """The path (str, as os.fsdecode gives it) of a shard's path record."""
    if isinstance(record, str):
        return record  # UTF-8 text: the same str os.fsdecode makes of its bytes
    return os.fsdecode(bytes.fromhex(record["bytes_hex"]))


def _failures_from_records(records):
    return [{"path": _path_from_record(f["path"]), "error": f["error"]} for f in records]


def _shard_base(out, index):
    return os.path.join(out, _SHARD.format(index))


def _finished(out, index, inputs):
    """Whether the shard of this partition was written whole for exactly these inputs."""
    base = _shard_base(out, index)
    try:
        with open(base + ".json", encoding="utf-8") as f:
            meta = json.load(f)
        if [_path_from_record(r) for r in meta.get("inputs", [])] != inputs:
            return False  # another partition's: redone
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return False
    if "fingerprint" not in meta or "files" not in meta:
        return False  # an older shard that an index cannot check: redone
    try:
        return np.load(base + ".npy", mmap_mode="r").shape[0] == len(meta["paths"])
    except (OSError, ValueError):
        return False


def _write_atomically(path, write):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _embed_partition(plugin_name, index, inputs, out):
    """One task: embeds a partition on this worker's model and writes its shard."""
    base = _shard_base(out, index)
    if not _finished(out, index, inputs):  # a retry may find the shard an earlier attempt finished
        clip = get_worker().plugins[plugin_name].clip()
        # Each file's size and mtime before it is read: an index imports a row only while its
        # file still matches them (a file changed meanwhile may not match its vector).
        stats = {}
        for p in inputs:
            try:
                st = os.stat(p)
                stats[p] = [st.st_size, st.st_mtime_ns]
            except OSError:
                pass  # the encoder reports it
        paths, vectors, failures = clip.embed_image_files(inputs)
        _write_atomically(base + ".npy", lambda f: np.save(f, vectors))
        meta = {"inputs": [_path_record(p) for p in inputs], "paths": [_path_record(p) for p in paths],
                "files": [stats.get(p, [-1, -1]) for p in paths],
                "failed": [{"path": _path_record(p), "error": e} for p, e in failures], "model": _path_record(clip.model),
                "fingerprint": clip.fingerprint, "precision": clip.precision, "dim": clip.projection_dim,
                "cwd": _path_record(os.getcwd())}
        _write_atomically(base + ".json", lambda f: f.write(json.dumps(meta).encode("utf-8")))
    with open(base + ".json", encoding="utf-8") as f:
        meta = json.load(f)
    return {"shard": base, "rows": len(meta["paths"]), "failed": _failures_from_records(meta["failed"])}


def _register(client, plugin):
    if hasattr(client, "register_plugin"):  # distributed >= 2023.9
        client.register_plugin(plugin, name=plugin.name)
    else:
        client.register_worker_plugin(plugin, name=plugin.name)


def embed(paths, model, out, partition_size=1024, precision="fp32", threads=None, batch_size=32, retries=2,
          client=None):
    """Embeds image files (or directories of them) on the current Dask client's workers into
    shards under `out`; returns {"shards", "written", "skipped", "rows", "failed"}.

    Rows equal what `zeroclip embed -o F.npy PATHS...` writes, in the same order, when the shards
    are concatenated in index order (`load`). threads: model threads per worker (default: the
    worker's nthreads). retries: how often a failed partition is retried before the job fails.
    """
    if partition_size < 1:
        raise ValueError(f"partition_size must be at least 1, got {partition_size}")
    client = client or get_client()
    inputs, missing = zeroclip.expand_image_paths([os.fspath(p) for p in paths])
    if not inputs:
        raise ValueError("no images to embed" + (f": {missing[0][1]}" if missing else ""))
    os.makedirs(out, exist_ok=True)
    plugin = ModelPlugin(model, precision, threads, batch_size)
    _register(client, plugin)
    partitions = [inputs[i:i + partition_size] for i in range(0, len(inputs), partition_size)]
    todo = [i for i, part in enumerate(partitions) if not _finished(out, i, part)]
    run = hashlib.sha256(json.dumps([os.path.abspath(out), plugin.name, partitions]).encode()).hexdigest()[:16]
    futures = [client.submit(_embed_partition, plugin.name, i, partitions[i], out, key=f"zeroclip-embed-{run}-{i}",
                             retries=retries, pure=False) for i in todo]
    wait(futures)  # every partition runs to its end before a failure is raised: their shards are kept
    client.gather(futures)
    rows, failed = 0, [{"path": p, "error": e} for p, e in missing]
    for i in range(len(partitions)):
        with open(_shard_base(out, i) + ".json", encoding="utf-8") as f:
            meta = json.load(f)
        rows += len(meta["paths"])
        failed += _failures_from_records(meta["failed"])
    return {"shards": len(partitions), "written": len(todo), "skipped": len(partitions) - len(todo), "rows": rows,
            "failed": failed}


def load(out):
    """The shards of `out` concatenated in partition order: (paths, float32 [rows, D])."""
    names = sorted((f for f in os.listdir(out) if f.startswith("shard-") and f.endswith(".json")),
                   key=lambda f: int(f[len("shard-"):-len(".json")]))
    if not names:
        raise FileNotFoundError(f"{out}: no shards")
    paths, parts = [], []
    for name in names:
        base = os.path.join(out, name[:-len(".json")])
        with open(base + ".json", encoding="utf-8") as f:
            paths += [_path_from_record(r) for r in json.load(f)["paths"]]
        parts.append(np.load(base + ".npy"))
    return paths, np.concatenate(parts)
