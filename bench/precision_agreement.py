#!/usr/bin/env python3
"""How far bf16 and int8 embeddings are from fp32: worst-row cosine per tower.

Runs `zeroclip embed` on the same images and prompts in each precision and compares the rows
(numpy only; run with Debian's /usr/bin/python3):

    /usr/bin/python3 bench/precision_agreement.py --zeroclip build/zeroclip \\
        --model /work/models/random-clip-vit-b-32 --images ../shared/data/imagenette-val --limit 64
"""
import argparse
import os
import subprocess
import tempfile

import numpy as np

PROMPTS = [f"a {style} photo of a {label}." for style in ("bad", "bright", "cropped", "close-up")
           for label in ("tench", "church", "golf ball", "parachute", "garbage truck", "French horn")]


def embed(binary, model, precision, inputs, out_dir, name):
    out = os.path.join(out_dir, f"{name}-{precision}.npy")
    subprocess.run([binary, "embed", "-m", model, "--precision", precision, "-o", out] + inputs, check=True,
                   capture_output=True)
    return np.load(out)


def worst_cosine(a, b):
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return cos.min()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zeroclip", default="build/zeroclip")
    parser.add_argument("--model", required=True)
    parser.add_argument("--images", required=True, help="a folder of images (searched recursively)")
    parser.add_argument("--limit", type=int, default=64, help="images to compare, spread over the folder")
    args = parser.parse_args()

    paths = sorted(os.path.join(root, f) for root, _, files in os.walk(args.images) for f in files)
    step = max(1, len(paths) // args.limit)
    paths = paths[::step][:args.limit]
    with tempfile.TemporaryDirectory() as tmp:
        prompts_file = os.path.join(tmp, "prompts.txt")
        with open(prompts_file, "w") as f:
            f.write("\n".join(PROMPTS) + "\n")
        towers = {"image": paths, "text": ["--file", prompts_file]}
        reference = {t: embed(args.zeroclip, args.model, "fp32", inputs, tmp, t) for t, inputs in towers.items()}
        print(f"{os.path.basename(os.path.normpath(args.model))}: {len(paths)} images, {len(PROMPTS)} prompts")
        for precision in ("bf16", "int8"):
            cells = [f"{t} {worst_cosine(embed(args.zeroclip, args.model, precision, inputs, tmp, t), reference[t]):.5f}"
                     for t, inputs in towers.items()]
            print(f"  {precision} vs fp32, worst-row cosine: " + ", ".join(cells))


if __name__ == "__main__":
    main()
