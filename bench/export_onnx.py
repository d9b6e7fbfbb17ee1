#!/usr/bin/python3
"""Export the CLIP image tower (with visual_projection) of a checkpoint to ONNX, for ONNX Runtime.

Uses the PyTorch tower of bench/compare.py (the same forward and safetensors loader), exported with
torch.onnx.export (opset 17, dynamic batch axis) to OUT_DIR/<model dir name>.onnx. Then checks the
export: one batch through ONNX Runtime (bench/onnxruntime_bench.mjs) against the torch tower, and
prints the lowest per-image cosine (expected ≥ 0.9999).

Run: /usr/bin/python3 bench/export_onnx.py [--models /work/models/random-clip-vit-b-32,...]
         [--out-dir /work/models] [--check-batch 4]
Needs onnxruntime-node for the check: cd bench/onnx && npm install
"""
import argparse
import json
import os
import subprocess
import tempfile
import warnings

import numpy as np
import torch

from compare import image_features, load_safetensors

BENCH = os.path.dirname(os.path.abspath(__file__))


class ImageTower(torch.nn.Module):
    """compare.image_features with the vision weights as buffers, so they export as named initializers."""

    def __init__(self, weights, config):
        super().__init__()
        self.config = config
        self.names = [n for n in weights if n.startswith(("vision_model.", "visual_projection."))]
        for name in self.names:
            self.register_buffer(name.replace(".", "__"), weights[name])

    def forward(self, pixels):
        w = {name: getattr(self, name.replace(".", "__")) for name in self.names}
        return image_features(pixels, w, self.config)


def export(model_dir, out_path):
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    tower = ImageTower(load_safetensors(os.path.join(model_dir, "model.safetensors")), config).eval()
    size = config["vision_config"]["image_size"]
    with torch.no_grad():
        torch.onnx.export(tower, torch.zeros(2, 3, size, size), out_path, opset_version=17,
                          input_names=["pixel_values"], output_names=["image_embeds"],
                          dynamic_axes={"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}})
    return tower, size


def check(tower, size, onnx_path, batch):
    pixels = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        expected = tower(pixels).numpy()
    with tempfile.TemporaryDirectory() as tmp:
        pixels_path, output_path = os.path.join(tmp, "pixels.f32"), os.path.join(tmp, "embeds.f32")
        pixels.numpy().astype("<f4").tofile(pixels_path)
        subprocess.run(["node", os.path.join(BENCH, "onnxruntime_bench.mjs"), "--model", onnx_path,
                        "--batch-size", str(batch), "--image-size", str(size), "--threads", "2",
                        "--run-input", pixels_path, "--run-output", output_path], check=True)
        actual = np.fromfile(output_path, dtype="<f4").reshape(expected.shape)
    cosine = (actual * expected).sum(1) / (np.linalg.norm(actual, axis=1) * np.linalg.norm(expected, axis=1))
    return cosine.min(), np.abs(actual - expected).max()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="/work/models/random-clip-vit-b-32,/work/models/random-clip-vit-l-14")
    parser.add_argument("--out-dir", default="/work/models")
    parser.add_argument("--check-batch", type=int, default=4, help="images in the ORT-vs-torch check (0: skip)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)  # the traced shapes are intended
    for model_dir in args.models.split(","):
        out_path = os.path.join(args.out_dir, os.path.basename(os.path.normpath(model_dir)) + ".onnx")
        tower, size = export(model_dir, out_path)
        print(f"{out_path}: {os.path.getsize(out_path) / 2**20:.0f} MiB", flush=True)
        if args.check_batch:
            cosine, max_diff = check(tower, size, out_path, args.check_batch)
            print(f"  ONNX Runtime vs torch, batch {args.check_batch}: min cosine {cosine:.7f}, "
                  f"max |diff| {max_diff:.2e}", flush=True)
            if cosine < 0.9999:
                raise SystemExit(f"{out_path}: ONNX Runtime output differs from the torch tower (cosine {cosine})")


if __name__ == "__main__":
    main()
