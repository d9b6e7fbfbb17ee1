"""zeroclip's Python module against the command-line program and the library's contracts."""
import json
import os
import pathlib
import shutil
import threading
import time

import numpy as np
import pytest

import zeroclip
from conftest import IMAGES, MODEL, SHARED, SOURCE_DIR, copy_to_non_utf8_name, run_cli


def decoded(name):
    """The RGB pixels zeroclip's decoder produces for a fixture image (the committed .rgb), HWC."""
    index = json.loads((IMAGES / "index.json").read_text())
    entry = next(e for e in index["decode"] if e["file"] == name)
    pixels = np.fromfile(IMAGES / entry["expected"], dtype=np.uint8)
    return pixels.reshape(entry["height"], entry["width"], 3)


# ---------------------------------------------------------------- parity with the CLI

def test_embed_texts_equals_cli_npy_bit_for_bit(clip, tmp_path):
    texts = ["a photo of a cat", "a photo of a dog", "ünïcode and   spaces", ""]
    args = [x for t in texts for x in ("--text", t)]
    run_cli("embed", "-m", MODEL, "-o", tmp_path / "t.npy", "--threads", 1, *args)
    expected = np.load(tmp_path / "t.npy")
    got = clip.embed_texts(texts)
    assert got.dtype == np.float32 and got.shape == (4, clip.projection_dim)
    assert np.array_equal(got, expected)


def test_embed_images_equals_cli_npy_bit_for_bit(clip, image_paths, tmp_path):
    run_cli("embed", "-m", MODEL, "-o", tmp_path / "i.npy", "--threads", 1, *image_paths)
    got = clip.embed_images(image_paths)
    assert got.shape == (len(image_paths), clip.projection_dim)
    assert np.array_equal(got, np.load(tmp_path / "i.npy"))
    # The skipping pipeline of `zeroclip embed` gives the same rows.
    paths, rows, failures = clip.embed_image_files(image_paths + [str(IMAGES / "missing.jpg")])
    assert paths == image_paths and failures[0][0].endswith("missing.jpg")
    assert np.array_equal(rows, got)


def test_preprocess_equals_cli_npy(clip, image_paths, tmp_path):
    run_cli("preprocess", "-m", MODEL, "-o", tmp_path / "p.npy", *image_paths)
    got = clip.preprocess(image_paths)
    assert got.shape == (len(image_paths), 3, clip.image_size, clip.image_size)
    assert np.array_equal(got, np.load(tmp_path / "p.npy"))


def test_tokenize_equals_cli(clip):
    texts = ["a photo of a cat", "Hello, World!", "x " * 100]
    assert clip.tokenize(texts) == json.loads(run_cli("tokenize", "-m", MODEL, *texts))
    assert len(clip.tokenize(["x " * 100])[0]) == clip.context_length


def test_classify_equals_cli_json(clip, image_paths):
    labels = ["cat", "dog", "garbage truck", "tench"]
    got = clip.classify(image_paths, labels=labels, templates="imagenet", top_k=3)
    lines = run_cli("classify", "-m", MODEL, "-l", ",".join(labels), "--templates", "imagenet", "--top-k", 3,
                    "--json", *image_paths).splitlines()
    expected = [json.loads(line) for line in lines]
    assert [r["image"] for r in got] == image_paths
    for g, e in zip(got, expected):
        assert [p["label"] for p in g["predictions"]] == [p["label"] for p in e["predictions"]]
        # The CLI prints each float32 score in its shortest round-trip form.
        assert [np.float32(p["score"]) for p in g["predictions"]] == [np.float32(p["score"]) for p in e["predictions"]]


def test_classify_templates_forms(clip, image_paths, tmp_path):
    one = clip.classify(image_paths[:1], labels=["cat", "dog"])  # default "a photo of a {}."
    listed = clip.classify(image_paths[:1], labels=["cat", "dog"], templates=["a photo of a {}."])
    assert one == listed
    (tmp_path / "t.txt").write_text("a photo of a {}.\n")
    assert clip.classify(image_paths[:1], labels=["cat", "dog"], templates=str(tmp_path / "t.txt")) == one
    scores = [p["score"] for p in one[0]["predictions"]]
    assert abs(sum(scores) - 1.0) < 1e-5


def test_evaluate_equals_cli_eval(clip, tmp_path):
    data = tmp_path / "data"
    for cls, names in {"cat": ["jpeg_baseline.jpg", "png_rgb.png"], "dog": ["bmp_24.bmp", "webp_lossy.webp"]}.items():
        (data / cls).mkdir(parents=True)
        for n in names:
            shutil.copy(IMAGES / n, data / cls / n)
    got = zeroclip.evaluate(clip, dataset=f"imagefolder:{data}", templates="imagenet", out=str(tmp_path / "out"))
    expected = json.loads(run_cli("eval", "-m", MODEL, "--dataset", f"imagefolder:{data}", "--templates",
                                  "imagenet", "--json", "-q"))
    assert got["metrics"] == expected["metrics"] and got["n"] == 4
    assert got["per_class"] == expected["per_class"]
    assert (tmp_path / "out" / "metrics.json").exists() and (tmp_path / "out" / "report.html").exists()


# ---------------------------------------------------------------- numpy in, numpy out

def test_results_are_numpy_arrays_owning_the_library_buffer(clip, image_paths):
    for array in (clip.embed_texts(["a"]), clip.embed_images(image_paths[:1]), clip.preprocess(image_paths[:1])):
        assert isinstance(array, np.ndarray) and array.dtype == np.float32
        assert array.flags.c_contiguous and array.flags.writeable
        assert not array.flags.owndata  # the buffer is the library's, handed over without a copy
        assert type(array.base).__name__ == "PyCapsule"


def test_arrays_embed_like_the_files_they_decode_to(clip):
    names = ["jpeg_baseline.jpg", "png_rgb.png", "webp_lossy.webp"]
    arrays = [decoded(n) for n in names]
    from_files = clip.embed_images([str(IMAGES / n) for n in names])
    assert np.array_equal(clip.embed_images(arrays), from_files)
    # Mixed lists keep their order; os.PathLike works like str.
    mixed = clip.embed_images([IMAGES / names[0], arrays[1], str(IMAGES / names[2])])
    assert np.array_equal(mixed, from_files)
    assert np.array_equal(clip.preprocess(arrays), clip.preprocess([str(IMAGES / n) for n in names]))


def test_gray_rgba_and_strided_arrays_follow_pillow_convert_rgb(clip):
    rgb = decoded("png_rgb.png")
    gray = rgb[:, :, 1].copy()
    expected_gray = clip.embed_images([np.repeat(gray[:, :, None], 3, axis=2)])
    assert np.array_equal(clip.embed_images([gray]), expected_gray)                # [H, W]: L
    assert np.array_equal(clip.embed_images([gray[:, :, None]]), expected_gray)    # [H, W, 1]
    la = np.stack([gray, np.full_like(gray, 7)], axis=2)
    assert np.array_equal(clip.embed_images([la]), expected_gray)                   # LA: alpha dropped
    rgba = np.concatenate([rgb, np.zeros_like(rgb[:, :, :1])], axis=2)
    assert np.array_equal(clip.embed_images([rgba]), clip.embed_images([rgb]))      # RGBA: alpha dropped
    bgr = rgb[:, :, ::-1]                                                            # a strided view
    assert np.array_equal(clip.embed_images([bgr]), clip.embed_images([bgr.copy()]))


# ---------------------------------------------------------------- errors

def test_bad_input_raises_value_error_naming_it(clip, image_paths):
    rgb = decoded("png_rgb.png")
    cases = [
        ([rgb.astype(np.float32)], "dtype"),
        ([rgb[None]], "dimensions"),
        ([np.zeros((4, 4, 5), np.uint8)], "channels"),
        ([np.zeros((0, 4, 3), np.uint8)], "empty"),
        ([np.broadcast_to(np.zeros(1, np.uint8), (2**31 + 1, 2, 3))], "limit"),  # no memory behind it
        ([], "no images"),
        ([str(MODEL / "config.json")], "config.json"),  # not an image
    ]
    for images, words in cases:
        with pytest.raises(ValueError, match=words):
            clip.embed_images(images)
    with pytest.raises(ValueError, match=r"images\[1\]"):
        clip.embed_images([image_paths[0], rgb.astype(np.int16)])
    with pytest.raises(ValueError, match="no texts"):
        clip.embed_texts([])
    with pytest.raises(ValueError, match="labels"):
        clip.classify(image_paths[:1], labels=[])
    with pytest.raises(ValueError, match="placeholder"):
        clip.classify(image_paths[:1], labels=["cat"], templates=["no placeholder"])
    with pytest.raises(ValueError, match="top_k"):
        clip.classify(image_paths[:1], labels=["cat"], top_k=0)
    with pytest.raises(ValueError, match="dataset"):
        zeroclip.evaluate(clip, dataset="nonsense:x")


def test_missing_files_raise_file_not_found(clip, image_paths, tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.jpg"):
        clip.embed_images([image_paths[0], str(IMAGES / "missing.jpg")])
    with pytest.raises(FileNotFoundError, match="no-such-model"):
        zeroclip.Clip(str(tmp_path / "no-such-model"))
    with pytest.raises(FileNotFoundError):
        zeroclip.evaluate(clip, dataset=f"imagefolder:{tmp_path / 'absent'}")


def test_other_errors(clip, tmp_path, image_paths):
    with pytest.raises(ValueError, match="precision"):
        zeroclip.Clip(str(MODEL), precision="fp64")
    broken = tmp_path / "model"
    shutil.copytree(MODEL, broken)
    (broken / "model.safetensors").write_bytes(b"\x00" * 16)
    with pytest.raises(RuntimeError, match="safetensors"):
        zeroclip.Clip(str(broken))
    with pytest.raises(TypeError):
        clip.embed_images("cat.jpg")  # a str, not a list
    with pytest.raises(TypeError):
        clip.embed_images([42])
    with pytest.raises(TypeError):
        clip.embed_texts("a photo")


def test_file_names_that_are_not_utf8_cross_as_os_fsdecode_gives_them(clip, tmp_path):
    """A file name's bytes need not be UTF-8: paths come back as os.fsdecode's str (surrogate
    escapes), and go in as str, bytes or os.PathLike, always naming the same file."""
    name = copy_to_non_utf8_name(IMAGES / "png_rgb.png", tmp_path)
    raw = os.fsencode(name)
    plain = str(tmp_path / "plain.png")
    shutil.copyfile(IMAGES / "png_rgb.png", plain)
    bad = os.path.join(os.fsencode(tmp_path), b"bad\xff.jpg")
    with open(bad, "wb") as f:
        f.write(b"not an image")
    gone = os.path.join(os.fsencode(tmp_path), b"gone\xff.jpg")

    paths, missing = zeroclip.expand_image_paths([tmp_path, gone])
    assert sorted(os.fsencode(p) for p in paths) == sorted([raw, bad, os.fsencode(plain)])
    assert name in paths and os.fsdecode(bad) in paths
    assert [p for p, _ in missing] == [os.fsdecode(gone)] and "gone\\xff.jpg" in missing[0][1]
    assert zeroclip.expand_image_paths([raw])[0] == [name]

    # Same bytes, same vectors: the file behind the name is the plain copy's.
    expected = clip.embed_images([plain])[0]
    for vector in clip.embed_images([name, raw, pathlib.Path(name)]):
        assert np.array_equal(vector, expected)
    got, vectors, failures = clip.embed_image_files([name, bad, plain])
    assert got == [name, plain] and np.array_equal(vectors, np.stack([expected, expected]))
    assert [p for p, _ in failures] == [os.fsdecode(bad)] and "bad\\xff.jpg" in failures[0][1]
    assert clip.classify([raw], labels=["cat", "dog"])[0]["image"] == name
    with pytest.raises(FileNotFoundError, match=r"gone\\xff\.jpg"):
        clip.embed_images([os.fsdecode(gone)])
    with pytest.raises(TypeError):
        clip.embed_images(raw)  # one bytes path, not a list


# ---------------------------------------------------------------- threads

def test_gil_is_released_while_the_model_runs(clip):
    # Enough texts that the encode is long enough to tell, on a fast or a quiet machine too.
    for count in (2000, 8000, 32000):
        texts = [f"a photo of a number {i}" for i in range(count)]
        state = {}

        def encode():
            state["start"] = time.perf_counter()
            state["result"] = clip.embed_texts(texts)
            state["end"] = time.perf_counter()

        worker = threading.Thread(target=encode)
        ticks = []
        worker.start()
        while worker.is_alive():
            ticks.append(time.perf_counter())
        worker.join()
        duration = state["end"] - state["start"]
        if duration > 0.05:
            break
    during = [t for t in ticks if state["start"] <= t <= state["end"]]
    gaps = np.diff([state["start"], *during, state["end"]])
    assert duration > 0.05, "the encode was too short to tell"
    # Had the call held the GIL, this thread would have stood still for the whole encode.
    assert gaps.max() < 0.5 * duration, (gaps.max(), duration)
    assert state["result"].shape == (count, clip.projection_dim)


def test_two_threads_encoding_at_once_both_progress_and_agree(image_paths):
    clips = [zeroclip.Clip(str(MODEL), threads=1) for _ in range(2)]
    texts = [f"photo {i}" for i in range(600)]
    expected_texts = clips[0].embed_texts(texts)
    expected_images = clips[0].embed_images(image_paths)
    results, spans = {}, {}

    def run(k):
        start = time.perf_counter()
        results[k] = (clips[k].embed_texts(texts), clips[k].embed_images(image_paths))
        spans[k] = (start, time.perf_counter())

    threads = [threading.Thread(target=run, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(2):
        assert np.array_equal(results[k][0], expected_texts) and np.array_equal(results[k][1], expected_images)
    # The same Clip from two threads: calls take turns on its lock, results unchanged.
    shared = {}
    pair = [threading.Thread(target=lambda k=k: shared.setdefault(k, clips[0].embed_texts(texts))) for k in range(2)]
    for t in pair:
        t.start()
    for t in pair:
        t.join()
    assert all(np.array_equal(shared[k], expected_texts) for k in range(2))


# ---------------------------------------------------------------- metadata, hub

def test_properties_and_hub(clip, tmp_path):
    assert clip.precision == "fp32" and clip.model == str(MODEL)
    assert clip.logit_scale > 0 and clip.projection_dim == 16
    assert zeroclip.resolve_model(str(MODEL)) == str(MODEL)
    assert len(zeroclip.template_set("imagenet")) == 80
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_HUB_CACHE"] = str(tmp_path / "hub")
    try:
        with pytest.raises(FileNotFoundError, match="HF_HUB_OFFLINE"):
            zeroclip.Clip("openai/clip-vit-base-patch32")
    finally:
        del os.environ["HF_HUB_OFFLINE"], os.environ["HF_HUB_CACHE"]
    assert zeroclip.Clip.embed_images.__doc__ and "uint8" in zeroclip.Clip.embed_images.__doc__


# ---------------------------------------------------------------- conformance (../shared)

@pytest.mark.parametrize("name", ["tiny", "tiny-bf16", "tiny-gelu-f16"])
def test_conformance_goldens(name):
    golden_file = SHARED / "conformance" / f"golden-{name}.json"
    if not golden_file.exists():
        pytest.skip(f"{golden_file} absent (the conformance data lives in ../shared)")
    golden = json.loads(golden_file.read_text())
    clip = zeroclip.Clip(str(SHARED / "conformance" / "models" / name), threads=1)
    assert clip.tokenize(golden["texts"]) == golden["input_ids"]
    assert clip.logit_scale == np.float32(golden["logit_scale"])

    def worst_cosine(actual, expected):
        expected = np.asarray(expected, dtype=np.float64)
        actual = actual.astype(np.float64)
        cos = (actual * expected).sum(1) / np.linalg.norm(actual, axis=1) / np.linalg.norm(expected, axis=1)
        return cos.min()

    assert worst_cosine(clip.embed_texts(golden["texts"]), golden["text_embeds"]) >= 0.99999
    images = [str(SHARED / "conformance" / "images" / n) for n in golden["images"]]
    assert worst_cosine(clip.embed_images(images), golden["image_embeds"]) >= 0.99999


def test_stubs_cover_every_public_name():
    stubs = (SOURCE_DIR / "python" / "zeroclip" / "_zeroclip.pyi").read_text()
    import ast
    tree = ast.parse(stubs)
    declared = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    public = {n for n in dir(zeroclip._zeroclip) if not n.startswith("_")}
    public |= {n for n in dir(zeroclip.Clip) if not n.startswith("_")}
    public |= {n for n in dir(zeroclip.Index) if not n.startswith("_")}
    assert public - declared == set()
    for name in public - {"Clip", "Index", "path"}:
        obj = getattr(zeroclip._zeroclip, name, None) or getattr(zeroclip.Clip, name, None) or getattr(zeroclip.Index, name)
        assert obj.__doc__, name


def test_import_makes_openmp_wait_passively_unless_the_user_chose():
    import subprocess
    import sys
    code = "import os, zeroclip; print(os.environ['OMP_WAIT_POLICY'])"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    assert subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True).stdout == "passive\n"
    env["OMP_WAIT_POLICY"] = "active"
    assert subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True).stdout == "active\n"
