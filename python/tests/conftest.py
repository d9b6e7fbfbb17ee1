"""Shared fixtures: the repository's tiny model and images, the CLI built beside the module."""
import os
import pathlib
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
