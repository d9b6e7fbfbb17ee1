"""Shared fixtures: the repository's tiny model and images, the CLI built beside the module."""
import os
import pathlib
import shutil
import subprocess

import pytest

SOURCE_DIR = pathlib.Path(os.environ.get("ZEROCLIP_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
FIXTURES = SOURCE_DIR / "tests" / "fixtures"
MODEL = FIXTURES / "models" / "clip-f32-quickgelu"
IMAGES = FIXTURES / "images"
SHARED = SOURCE_DIR.parent / "shared"


def cli_path():
    return os.environ.get("ZEROCLIP_CLI", str(SOURCE_DIR / "build" / "zeroclip"))


def run_cli(*args):
    """Runs the zeroclip CLI; returns stdout, failing the test with stderr on a non-zero exit."""
    result = subprocess.run([cli_path(), *map(str, args)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def copy_to_non_utf8_name(source, folder, name=b"caf\xe9 \xff.jpg"):
    """Copies `source` to folder/name, a file name whose bytes are not UTF-8 (Latin-1 é and a
    byte no encoding uses); returns its path as os.fsdecode gives it. Skips the test when the file
    system refuses such a name."""
    target = os.path.join(os.fsencode(folder), name)
    try:
        shutil.copyfile(source, target)
    except OSError as e:
        pytest.skip(f"the file system refuses the file name {name!r}: {e}")
    return os.fsdecode(target)


@pytest.fixture(scope="session")
def model_dir():
    return str(MODEL)


@pytest.fixture(scope="session")
def clip():
    import zeroclip
    return zeroclip.Clip(str(MODEL), threads=1)


@pytest.fixture(scope="session")
def image_paths():
    return [str(IMAGES / name) for name in
            ("jpeg_baseline.jpg", "png_rgb.png", "webp_lossy.webp", "bmp_24.bmp", "gif_interlaced_trns.gif",
             "png_rgba.png", "jpeg_gray.jpg")]
