#!/usr/bin/python3
"""Writes a full-size random SigLIP checkpoint (google/siglip-base-patch16-224's shapes) in the
Hugging Face layout, for `zeroclip bench` (the weights are never committed).

Weights come from scripts/make_tiny_model.py's SigLIP generator; the tokenizer is the shared
conformance spiece-tiny.model (1000 pieces: the text tower's cost does not depend on the vocabulary).
The config.json lists only what differs from SiglipConfig's defaults, as google/siglip-* does.

Run: /usr/bin/python3 bench/make_random_siglip.py [--out /work/models]
"""
import argparse
import json
import os
import shutil
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from make_tiny_model import make_siglip_weights, write_safetensors  # noqa: E402

SHARED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "conformance", "siglip")
BASE = dict(max_positions=64, text=dict(hidden=768, heads=12, layers=12, intermediate=3072),
            vision=dict(hidden=768, heads=12, layers=12, intermediate=3072, image=224, patch=16))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="/work/models")
    args = parser.parse_args()
    out = os.path.join(args.out, "random-siglip-b-16")
    os.makedirs(out, exist_ok=True)
    weights = make_siglip_weights(BASE, 1000, torch.Generator().manual_seed(11))
    write_safetensors(os.path.join(out, "model.safetensors"), weights)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump({"architectures": ["SiglipModel"], "model_type": "siglip",
                   "text_config": {"vocab_size": 1000}, "vision_config": {}}, f, indent=1)
    model = os.path.join(SHARED, "models", "tiny-siglip")
    shutil.copyfile(os.path.join(SHARED, "spiece-tiny.model"), os.path.join(out, "spiece.model"))
    with open(os.path.join(model, "preprocessor_config.json")) as f:
        preprocess = json.load(f)
    preprocess["size"] = {"height": 224, "width": 224}
    with open(os.path.join(out, "preprocessor_config.json"), "w") as f:
        json.dump(preprocess, f, indent=1)
    print("wrote", out)


if __name__ == "__main__":
    main()
