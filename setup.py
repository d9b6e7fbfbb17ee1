"""Builds the extension zeroclip._zeroclip with the project's own CMake build, so that
`pip install --no-build-isolation .` needs nothing beyond scripts/install-deps.sh's packages.
ZEROCLIP_CMAKE_ARGS adds CMake options, e.g. "-DZEROCLIP_CUDA=OFF -DZEROCLIP_NATIVE=OFF"."""
import os
import pathlib
import shlex
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).parent.resolve()


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build = pathlib.Path(self.build_temp).resolve() / "cmake"
        subprocess.check_call(["cmake", "-S", str(ROOT), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                               f"-DPython3_EXECUTABLE={sys.executable}", "-DZEROCLIP_BUILD_TESTS=OFF",
                               "-DZEROCLIP_EXAMPLES=OFF", *shlex.split(os.environ.get("ZEROCLIP_CMAKE_ARGS", ""))])
        subprocess.check_call(["cmake", "--build", str(build), "--target", "_zeroclip", "-j", str(os.cpu_count() or 1)])
        built = next((build / "python" / "zeroclip").glob("_zeroclip*.so"))
        target = pathlib.Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, target)
        # A CUDA build's backend module (libzeroclip-cuda.so), which the extension loads from its
        # own directory when a GPU is asked for.
        for module in (build / "python" / "zeroclip").glob("libzeroclip-*.so"):
            shutil.copyfile(module, target.parent / module.name)


setup(ext_modules=[Extension("zeroclip._zeroclip", sources=[])], cmdclass={"build_ext": CMakeBuild})
