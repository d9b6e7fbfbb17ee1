"""Type stubs of zeroclip's extension module (the bindings of the C++ library).

Paths are taken as str, bytes or os.PathLike (encoded as os.fsencode does) and returned as str
decoded as os.fsdecode does, so file names that are not UTF-8 survive the round trip."""
import os
from typing import Any, Optional, Sequence, Union

import numpy as np
import numpy.typing as npt

__version__: str

PathLike = Union[str, bytes, os.PathLike[str], os.PathLike[bytes]]
ImageLike = Union[PathLike, npt.NDArray[np.uint8]]
Templates = Union[None, str, Sequence[str]]

class Clip:
    """A CLIP model: tokenizer, image preprocessing and both towers."""

    def __init__(self, model: PathLike, precision: str = "fp32", threads: int = 0, device: str = "cpu",
                 batch_size: int = 32) -> None:
        """model: hub id "org/name[@revision]" or a local directory; precision "fp32" | "bf16" | "int8"."""
    @property
    def model(self) -> str: ...
    @property
    def model_dir(self) -> str: ...
    @property
    def precision(self) -> str: ...
    @property
    def fingerprint(self) -> str:
        """Identity of the model's files (weights and configs), as an index records it."""
    @property
    def projection_dim(self) -> int: ...
    @property
    def image_size(self) -> int: ...
    @property
    def context_length(self) -> int: ...
    @property
    def logit_scale(self) -> float: ...
    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids with start and end tokens, truncated to context_length."""
    def embed_texts(self, texts: Sequence[str], batch_size: int = 4096) -> npt.NDArray[np.float32]:
        """get_text_features: float32 [len(texts), projection_dim], not normalised."""
    def embed_images(self, images: Sequence[ImageLike]) -> npt.NDArray[np.float32]:
        """get_image_features of paths and/or uint8 arrays [H, W] or [H, W, 1|2|3|4]: [len(images), projection_dim]."""
    def embed_image_files(self, paths: Sequence[PathLike]
                          ) -> tuple[list[str], npt.NDArray[np.float32], list[tuple[str, str]]]:
        """Like `zeroclip embed`: (paths that decoded, their rows, (path, message) of the skipped ones)."""
    def preprocess(self, images: Sequence[ImageLike]) -> npt.NDArray[np.float32]:
        """CLIPImageProcessor's pixel_values: float32 [len(images), 3, image_size, image_size]."""
    def classify(self, images: Sequence[ImageLike], labels: Sequence[str], templates: Templates = None,
                 top_k: int = 5) -> list[dict[str, Any]]:
        """[{"image": path or None, "predictions": [{"label": str, "score": float}, ...]}, ...]."""

def evaluate(clip: Clip, dataset: PathLike, templates: Templates = None, classnames: PathLike = "", limit: int = 0,
             cache: PathLike = "", out: PathLike = "") -> dict[str, Any]:
    """The metrics.json dict of `zeroclip eval` (dataset "imagefolder:DIR", "cifar10:DIR", "csv:FILE"...)."""
def resolve_model(model: PathLike) -> str:
    """The local directory of a model directory or hub id (downloading when needed)."""
def expand_image_paths(inputs: Sequence[PathLike]) -> tuple[list[str], list[tuple[str, str]]]:
    """Files as given, directories expanded to their images in sorted order; (paths, missing inputs)."""
def template_set(name: PathLike) -> list[str]:
    """A built-in prompt template set (imagenet, cifar10, ...) or a file of one template a line."""

class Index:
    """A persistent, incremental index of a photo collection (one SQLite file + an HNSW graph)."""

    def __init__(self, path: PathLike, clip: Clip) -> None:
        """Opens `path`, creating it for clip's model when missing."""
    @property
    def path(self) -> str: ...
    def add(self, paths: Sequence[PathLike]) -> dict[str, Any]:
        """Adds new and changed files under paths: {scanned, unchanged, reused, encoded, removed, failed}."""
    def import_shards(self, dir: PathLike) -> dict[str, Any]:
        """Adds the vectors zeroclip.dask.embed wrote under dir, encoding nothing (every shard is
        checked first: a bad one raises, naming the file, and nothing is imported); files already
        indexed are skipped. {shards, rows, imported, unchanged, failed: [(path, message)]}."""
    def search(self, query: Union[str, Sequence[str], npt.NDArray[np.float32]], k: int = 10,
               threshold: Optional[float] = None, exact: bool = False) -> list[dict[str, Any]]:
        """[{"path", "score", "row"}], best first, for a text, texts or an embedding."""
    def search_image(self, image: PathLike, k: int = 10, threshold: Optional[float] = None,
                     exact: bool = False) -> list[dict[str, Any]]:
        """[{"path", "score", "row"}], best first, for an image file."""
    def remove(self, paths: Sequence[PathLike]) -> int:
        """Drops these files (or everything under these folders); returns how many."""
    def __len__(self) -> int: ...
