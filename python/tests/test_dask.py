"""zeroclip.dask.embed on a two-worker LocalCluster against the single-process `zeroclip embed`."""
import json
import os
import shutil
import subprocess

import numpy as np
import pytest

distributed = pytest.importorskip("distributed", reason="python3-distributed is not installed")

import zeroclip.dask  # noqa: E402
from conftest import IMAGES, MODEL, cli_path, copy_to_non_utf8_name  # noqa: E402
from distributed import Client, LocalCluster, WorkerPlugin  # noqa: E402

NAMES = ["jpeg_baseline.jpg", "png_rgb.png", "webp_lossy.webp", "bmp_24.bmp", "gif_interlaced_trns.gif",
         "png_rgba.png", "jpeg_gray.jpg", "png_palette_trns.png", "jpeg_cmyk.jpg", "webp_lossless.webp"]


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as c:
        yield c


@pytest.fixture
def photos(tmp_path):
    """A folder of fixture images in two sub-folders, plus one file that is not an image."""
    for i, name in enumerate(NAMES):
        sub = tmp_path / "photos" / ("a" if i % 2 else "b")
        sub.mkdir(parents=True, exist_ok=True)
        shutil.copy(IMAGES / name, sub / name)
    (tmp_path / "photos" / "a" / "broken.jpg").write_bytes(b"not a jpeg")
    return tmp_path / "photos"


def single_process(photos, tmp_path):
    """`zeroclip embed --list` on the folder: the rows' paths and the vectors."""
    result = subprocess.run([cli_path(), "embed", "-m", str(MODEL), "-o", str(tmp_path / "single.npy"),
                             "--threads", "1", "--list", str(photos)], capture_output=True, text=True)
    assert result.returncode == 1 and "broken.jpg" in result.stderr  # the broken file is skipped, reported
    return result.stdout.splitlines(), np.load(tmp_path / "single.npy")


def test_equals_single_process_embed_and_reruns_skip_finished_shards(client, photos, tmp_path):
    out = tmp_path / "shards"
    summary = zeroclip.dask.embed([photos], model=str(MODEL), out=str(out), partition_size=3, threads=1)
    assert summary["shards"] == 4 and summary["written"] == 4 and summary["rows"] == len(NAMES)
    assert [f["path"] for f in summary["failed"]] == [str(photos / "a" / "broken.jpg")]
    paths, vectors = zeroclip.dask.load(str(out))
    expected_paths, expected = single_process(photos, tmp_path)
    assert paths == expected_paths
    assert vectors.dtype == np.float32 and np.array_equal(vectors, expected)
    assert not [f for f in os.listdir(out) if f.endswith(".tmp")]

    # Each worker loaded the model at most once, however many partitions it ran.
    loads = client.run(lambda dask_worker: [p.loads for p in dask_worker.plugins.values()
                                            if isinstance(p, zeroclip.dask.ModelPlugin)])
    counts = [n for per_worker in loads.values() for n in per_worker]
    assert counts and all(n <= 1 for n in counts) and sum(counts) >= 1

    # A rerun finds every shard finished and writes nothing.
    mtimes = {f: os.stat(out / f).st_mtime_ns for f in os.listdir(out)}
    again = zeroclip.dask.embed([photos], model=str(MODEL), out=str(out), partition_size=3, threads=1)
    assert again["written"] == 0 and again["skipped"] == 4
    assert {f: os.stat(out / f).st_mtime_ns for f in os.listdir(out)} == mtimes

    # A lost shard (or one of other inputs) is redone, and only that one.
    os.remove(out / "shard-00002.json")
    third = zeroclip.dask.embed([photos], model=str(MODEL), out=str(out), partition_size=3, threads=1)
    assert third["written"] == 1
    assert np.array_equal(zeroclip.dask.load(str(out))[1], expected)


class FailFirstAttempt(WorkerPlugin):
    """Makes the first attempt at partition 1 fail on whichever worker runs it (a marker file,
    created exclusively, tells the attempts apart across worker processes)."""

    name = "fail-first-attempt"

    def __init__(self, marker):
        self.marker = marker

    def setup(self, worker):
        original = zeroclip.dask._embed_partition
        marker = self.marker

        def flaky(plugin_name, index, inputs, out):
            if index == 1:
                try:
                    os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                    raise OSError("injected failure of partition 1")
                except FileExistsError:
                    pass
            return original(plugin_name, index, inputs, out)

        zeroclip.dask._embed_partition = flaky  # tasks name the function; the worker looks it up here


def test_failed_partition_is_retried(photos, tmp_path):
    marker = tmp_path / "failed-once"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as c:
        c.register_worker_plugin(FailFirstAttempt(str(marker)))
        with pytest.raises(OSError, match="injected failure"):
            zeroclip.dask.embed([photos], model=str(MODEL), out=str(tmp_path / "no-retry"), partition_size=3,
                                threads=1, retries=0)
        # The other partitions finished; a rerun does the failed one only.
        assert sorted(f for f in os.listdir(tmp_path / "no-retry") if f.endswith(".json")) == \
            ["shard-00000.json", "shard-00002.json", "shard-00003.json"]
        os.remove(marker)
        summary = zeroclip.dask.embed([photos], model=str(MODEL), out=str(tmp_path / "retried"), partition_size=3,
                                      threads=1, retries=2)
    assert marker.exists() and summary["written"] == 4
    expected_paths, expected = single_process(photos, tmp_path)
    paths, vectors = zeroclip.dask.load(str(tmp_path / "retried"))
    assert paths == expected_paths and np.array_equal(vectors, expected)
    meta = json.loads((tmp_path / "retried" / "shard-00001.json").read_text())
    assert meta["paths"] == [p for p in expected_paths if p in meta["inputs"]]


def test_bad_arguments(client, tmp_path):
    with pytest.raises(ValueError, match="partition_size"):
        zeroclip.dask.embed([IMAGES], model=str(MODEL), out=str(tmp_path), partition_size=0)
    with pytest.raises(ValueError, match="no images"):
        zeroclip.dask.embed([tmp_path / "absent"], model=str(MODEL), out=str(tmp_path / "o"))


def test_shards_feed_the_index_like_add(client, clip, photos, tmp_path):
    """The job's shards imported into an index give the search results of an index built by add,
    and a later add of the same tree encodes nothing."""
    out = tmp_path / "shards"
    zeroclip.dask.embed([photos], model=str(MODEL), out=str(out), partition_size=3, threads=1)
    imported = zeroclip.Index(str(tmp_path / "imported.zcdb"), clip)
    result = imported.import_shards(str(out))
    assert result["shards"] == 4 and result["rows"] == len(NAMES) and result["imported"] == len(NAMES)
    assert [p for p, _ in result["failed"]] == [str(photos / "a" / "broken.jpg")]
    assert len(imported) == len(NAMES)

    added = zeroclip.Index(str(tmp_path / "added.zcdb"), clip)
    assert added.add([str(photos)])["encoded"] == len(NAMES)
    for query in ["a photo of a cat", "a red square", ["a dog", "grass"]]:
        a = imported.search(query, k=len(NAMES), exact=True)
        b = added.search(query, k=len(NAMES), exact=True)
        assert [h["path"] for h in a] == [h["path"] for h in b]
        assert np.allclose([h["score"] for h in a], [h["score"] for h in b], atol=1e-6)
    image = str(photos / "b" / NAMES[0])
    assert [h["path"] for h in imported.search_image(image, k=3)] == [h["path"] for h in added.search_image(image, k=3)]

    again = imported.add([str(photos)])
    assert again["encoded"] == 0 and again["unchanged"] == len(NAMES)
    assert imported.import_shards(str(out))["unchanged"] == len(NAMES)


def test_older_shards_are_refused_and_rewritten_by_a_rerun(client, clip, photos, tmp_path):
    out = tmp_path / "shards"
    zeroclip.dask.embed([photos], model=str(MODEL), out=str(out), partition_size=3, threads=1)
    old = out / "shard-00001.json"
    meta = json.loads(old.read_text())
    for key in ("fingerprint", "files", "dim", "cwd"):  # what shards held before the index could import them
        del meta[key]
    old.write_text(json.dumps(meta))
    index = zeroclip.Index(str(tmp_path / "photos.zcdb"), clip)
    with pytest.raises(ValueError, match="shard-00001.json.*rerun zeroclip.dask.embed"):
        index.import_shards(str(out))
    assert len(index) == 0  # nothing imported, not even the good shards
    with pytest.raises(FileNotFoundError, match="absent"):
        index.import_shards(str(tmp_path / "absent"))
    assert zeroclip.dask.embed([photos], model=str(MODEL), out=str(out), partition_size=3, threads=1)["written"] == 1
    assert index.import_shards(str(out))["imported"] == len(NAMES)


def test_file_names_that_are_not_utf8(client, photos, tmp_path):
    """Shards record a name that is not UTF-8 by its bytes ({"bytes_hex"}: JSON strings cannot
    hold them), and load and the index's import give it back as os.fsdecode does."""
    name = copy_to_non_utf8_name(IMAGES / "jpeg_422.jpg", photos / "a")
    model = os.fsdecode(os.path.join(os.fsencode(tmp_path), b"model\xff"))  # the model's folder too
    shutil.copytree(MODEL, model)
    clip = zeroclip.Clip(model, threads=1)
    bad = os.path.join(os.fsencode(photos / "b"), b"bad\xff.jpg")
    with open(bad, "wb") as f:
        f.write(b"not an image")
    out = tmp_path / "shards"
    summary = zeroclip.dask.embed([photos], model=model, out=str(out), partition_size=3, threads=1)
    assert summary["rows"] == len(NAMES) + 1
    assert sorted(f["path"] for f in summary["failed"]) == sorted([str(photos / "a" / "broken.jpg"), os.fsdecode(bad)])
    inputs, _ = zeroclip.expand_image_paths([photos])
    expected_paths, expected, _ = clip.embed_image_files(inputs)  # one process, one call
    paths, vectors = zeroclip.dask.load(str(out))
    assert name in paths and paths == expected_paths and np.array_equal(vectors, expected)
    texts = [f.read_text(encoding="utf-8") for f in sorted(out.glob("shard-*.json"))]
    records = [r for t in texts for r in json.loads(t)["paths"]]
    assert {"bytes_hex": os.fsencode(name).hex()} in records
    assert json.loads(texts[0])["model"] == {"bytes_hex": os.fsencode(model).hex()}
    assert str(photos / "b" / NAMES[0]) in records  # UTF-8 names stay strings
    assert not any("\\udc" in t for t in texts)  # no lone surrogates, which strict JSON readers refuse
    assert zeroclip.dask.embed([photos], model=model, out=str(out), partition_size=3, threads=1)["written"] == 0

    index = zeroclip.Index(str(tmp_path / "photos.zcdb"), clip)
    result = index.import_shards(str(out))
    assert result["imported"] == len(NAMES) + 1
    assert sorted(p for p, _ in result["failed"]) == sorted([str(photos / "a" / "broken.jpg"), os.fsdecode(bad)])
    assert index.search(clip.embed_images([name])[0], k=1, exact=True)[0]["path"] == name
    assert index.add([photos])["unchanged"] == len(NAMES) + 1
