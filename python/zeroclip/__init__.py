"""zeroclip: CLIP zero-shot classification and embeddings on a native C++ engine.

    import zeroclip
    clip = zeroclip.Clip("openai/clip-vit-base-patch32", precision="bf16")
    clip.embed_texts(["a photo of a cat"])          # numpy float32 [1, 512]
    clip.classify(["cat.jpg"], labels=["cat", "dog"])

Errors are ValueError (bad input), FileNotFoundError (a missing file or model) or RuntimeError,
with zeroclip's one-line message. `zeroclip.dask.embed` embeds collections on a Dask cluster.
"""
from ._zeroclip import Clip, __version__, evaluate, expand_image_paths, resolve_model, template_set

__all__ = ["Clip", "evaluate", "expand_image_paths", "resolve_model", "template_set", "__version__"]
