"""zeroclip: CLIP zero-shot classification and embeddings on a native C++ engine.

    import zeroclip
    clip = zeroclip.Clip("openai/clip-vit-base-patch32", precision="bf16")
    clip.embed_texts(["a photo of a cat"])          # numpy float32 [1, 512]
    clip.classify(["cat.jpg"], labels=["cat", "dog"])

Errors are ValueError (bad input), FileNotFoundError (a missing file or model) or RuntimeError,
with zeroclip's one-line message. `zeroclip.dask.embed` embeds collections on a Dask cluster.
"""
import os

# As the command-line program does: OpenMP threads that spin while they wait starve the image
# decoders beside them (on 2 busy cores the module spent twice the CPU time of the CLI). libgomp
# reads its wait policy once, when it loads, that is with the extension below, unless another
# module (torch...) loaded it first; a policy the user set is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

from ._zeroclip import Clip, Index, __version__, evaluate, expand_image_paths, resolve_model, template_set

__all__ = ["Clip", "Index", "evaluate", "expand_image_paths", "resolve_model", "template_set", "__version__"]
