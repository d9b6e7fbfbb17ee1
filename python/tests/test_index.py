"""zeroclip.Index (the photo index of include/zeroclip/index.h) against exact cosine search."""
import os
import shutil

import numpy as np
import pytest

import zeroclip
from conftest import IMAGES, MODEL, copy_to_non_utf8_name

NAMES = ["jpeg_baseline.jpg", "png_rgb.png", "webp_lossy.webp", "bmp_24.bmp", "gif_interlaced_trns.gif",
         "png_rgba.png", "jpeg_gray.jpg"]


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in NAMES:
        shutil.copy(IMAGES / name, folder / name)
    return folder


def unit(rows):
    return rows / np.linalg.norm(rows, axis=-1, keepdims=True)


def test_add_search_and_remove_match_exact_cosine(clip, photos, tmp_path):
    index = zeroclip.Index(str(tmp_path / "photos.zcdb"), clip)
    added = index.add([str(photos)])
    assert added["encoded"] == len(NAMES) and added["failed"] == [] and len(index) == len(NAMES)
    again = index.add([str(photos)])
    assert again["encoded"] == 0 and again["unchanged"] == len(NAMES)  # nothing changed: nothing encoded

    paths = sorted(str(photos / n) for n in NAMES)
    images = unit(clip.embed_images(paths).astype(np.float64))
    query = unit(clip.embed_texts(["a photo of a cat"])[0].astype(np.float64))
    scores = images @ query
    expected = [paths[i] for i in np.argsort(-scores, kind="stable")[:3]]

    hits = index.search("a photo of a cat", k=3)
    assert [h["path"] for h in hits] == expected
    assert np.allclose([h["score"] for h in hits], np.sort(scores)[::-1][:3], atol=1e-5)
    by_vector = index.search(clip.embed_texts(["a photo of a cat"])[0], k=3)
    assert [h["path"] for h in by_vector] == expected

    same = index.search_image(paths[2], k=1)
    assert same[0]["path"] == paths[2] and same[0]["score"] > 0.9999

    assert index.remove([paths[0]]) == 1 and len(index) == len(NAMES) - 1
    assert paths[0] not in [h["path"] for h in index.search("a photo of a cat", k=len(NAMES))]


def test_bad_queries_and_another_model(clip, photos, tmp_path):
    index = zeroclip.Index(str(tmp_path / "photos.zcdb"), clip)
    index.add([str(photos)])
    with pytest.raises(ValueError, match="k must be"):
        index.search("a cat", k=0)
    with pytest.raises(ValueError):
        index.search(np.zeros((2, 2), np.float32))
    other = zeroclip.Clip(str(MODEL.parent / "clip-bf16-tanh-eos2"), threads=1)
    with pytest.raises(RuntimeError):
        zeroclip.Index(str(tmp_path / "photos.zcdb"), other)


def test_file_names_that_are_not_utf8(clip, photos, tmp_path):
    """add, search and remove name a file whose bytes are not UTF-8 as os.fsdecode does."""
    name = copy_to_non_utf8_name(IMAGES / "jpeg_cmyk.jpg", photos)
    db = os.path.join(os.fsencode(tmp_path), b"photos\xff.zcdb")
    index = zeroclip.Index(db, clip)
    assert index.path == os.fsdecode(db)
    added = index.add([photos])
    assert added["encoded"] == len(NAMES) + 1 and added["failed"] == []
    hits = index.search(clip.embed_images([name])[0], k=1, exact=True)
    assert hits[0]["path"] == name and os.fsencode(hits[0]["path"]) == os.fsencode(name)
    assert index.search_image(os.fsencode(name), k=1)[0]["path"] == name
    assert index.add([photos])["unchanged"] == len(NAMES) + 1  # the stored path is the file's
    assert index.remove([name]) == 1 and len(index) == len(NAMES)
