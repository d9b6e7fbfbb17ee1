#!/usr/bin/python3
"""zeroclip against PyTorch on the same full-size CLIP checkpoints, in one run.

For each model directory (see bench/make_random_clip.py) and each precision, runs
`zeroclip bench --json` and the same tower in PyTorch (a plain CLIP forward written here with
torch.nn.functional: fp32, and bf16 under torch.autocast), all on `--threads` threads, then prints
a markdown table of throughputs with zeroclip / PyTorch ratios. With --onnxruntime, fp32 rows also run
ONNX Runtime (bench/onnxruntime_bench.mjs on the graph of bench/export_onnx.py, same batch size and
threads), the fair fp32 peer, and add zeroclip / ONNX Runtime ratios. Timings on a machine that other
processes share are noisy: run it when the machine is idle, and compare within one run.

Run: /usr/bin/python3 bench/compare.py [--zeroclip build/zeroclip] [--threads 2] [--batch-size 32]
         [--models /work/models/random-clip-vit-b-32,/work/models/random-clip-vit-l-14]
         [--onnxruntime [--onnx-dir /work/models]]
"""
import argparse
import json
import math
import os
import struct
import subprocess
import time

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def load_safetensors(path):
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + size)
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise SystemExit(f"{path}: {name} is {info['dtype']}; this script reads F32 checkpoints")
        begin, end = info["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype="<f4").reshape(info["shape"])
        tensors[name] = torch.from_numpy(array.copy())
    return tensors


def quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


def encoder(h, w, prefix, layers, heads):
    batch, seq = h.shape[:2]
    width = int(h.shape[2])  # a Python int even under tracing: ONNX LayerNormalization needs a static shape
    head_dim = width // heads
    for i in range(layers):
        p = f"{prefix}.encoder.layers.{i}"
        x = F.layer_norm(h, (width,), w[p + ".layer_norm1.weight"], w[p + ".layer_norm1.bias"], 1e-5)
        q, k, v = (F.linear(x, w[f"{p}.self_attn.{n}.weight"], w[f"{p}.self_attn.{n}.bias"])
                   .view(batch, seq, heads, head_dim).transpose(1, 2) for n in ("q_proj", "k_proj", "v_proj"))
        scores = (q @ k.transpose(-1, -2)) * head_dim ** -0.5
        attended = (scores.softmax(-1) @ v).transpose(1, 2).reshape(batch, seq, width)
        h = h + F.linear(attended, w[p + ".self_attn.out_proj.weight"], w[p + ".self_attn.out_proj.bias"])
        x = F.layer_norm(h, (width,), w[p + ".layer_norm2.weight"], w[p + ".layer_norm2.bias"], 1e-5)
        x = quick_gelu(F.linear(x, w[p + ".mlp.fc1.weight"], w[p + ".mlp.fc1.bias"]))
        h = h + F.linear(x, w[p + ".mlp.fc2.weight"], w[p + ".mlp.fc2.bias"])
    return h


def image_features(pixels, w, config):
    vc = config["vision_config"]
    width = vc["hidden_size"]
    patches = F.conv2d(pixels, w["vision_model.embeddings.patch_embedding.weight"], stride=vc["patch_size"])
    h = patches.flatten(2).transpose(1, 2)
    cls = w["vision_model.embeddings.class_embedding"].expand(h.shape[0], 1, width).to(h.dtype)
    h = torch.cat([cls, h], dim=1) + w["vision_model.embeddings.position_embedding.weight"]
    h = F.layer_norm(h, (width,), w["vision_model.pre_layrnorm.weight"], w["vision_model.pre_layrnorm.bias"], 1e-5)
    h = encoder(h, w, "vision_model", vc["num_hidden_layers"], vc["num_attention_heads"])
    pooled = F.layer_norm(h[:, 0], (width,), w["vision_model.post_layernorm.weight"],
                          w["vision_model.post_layernorm.bias"], 1e-5)
    return F.linear(pooled, w["visual_projection.weight"])


def torch_images_per_s(model_dir, precision, batch, threads):
    torch.set_num_threads(threads)
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    w = load_safetensors(os.path.join(model_dir, "model.safetensors"))
    size = config["vision_config"]["image_size"]
    pixels = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(1))
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16")
    with torch.no_grad(), autocast:
        image_features(pixels[:2], w, config)  # warm-up
        start = time.perf_counter()
        image_features(pixels, w, config)
        return batch / (time.perf_counter() - start)


def zeroclip_bench(binary, model_dir, precision, batch, threads, images):
    out = subprocess.run([binary, "bench", "-m", model_dir, "--precision", precision, "--batch-size", str(batch),
                          "--threads", str(threads), "--images", str(images), "--json", "--peak"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def onnxruntime_bench(onnx_path, batch, threads, image_size, batches):
    out = subprocess.run(["node", os.path.join(ROOT, "bench", "onnxruntime_bench.mjs"), "--model", onnx_path,
                          "--batch-size", str(batch), "--threads", str(threads), "--image-size", str(image_size),
                          "--batches", str(batches)], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zeroclip", default=os.path.join(ROOT, "build", "zeroclip"))
    parser.add_argument("--models", default="/work/models/random-clip-vit-b-32,/work/models/random-clip-vit-l-14")
    parser.add_argument("--precisions", default="fp32,bf16,int8")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--images", type=int, default=0, help="zeroclip images to time (default: 2 batches)")
    parser.add_argument("--torch-batch-size", type=int, default=8,
                        help="PyTorch images per timed batch (its fp32 is slow: Debian's generic BLAS)")
    parser.add_argument("--no-torch", action="store_true", help="no PyTorch runs")
    parser.add_argument("--onnxruntime", action="store_true",
                        help="also run ONNX Runtime fp32 on fp32 rows (needs bench/export_onnx.py's graphs)")
    parser.add_argument("--onnx-dir", default="/work/models", help="where <model dir name>.onnx are")
    parser.add_argument("--onnx-batches", type=int, default=2, help="ONNX Runtime batches to time")
    args = parser.parse_args()

    rows = []
    for model_dir in args.models.split(","):
        for precision in args.precisions.split(","):
            z = zeroclip_bench(args.zeroclip, model_dir, precision, args.batch_size, args.threads,
                               args.images or 2 * args.batch_size)
            skip_torch = args.no_torch or precision not in ("fp32", "bf16")  # no int8 path here
            t = math.nan if skip_torch else torch_images_per_s(model_dir, precision, args.torch_batch_size,
                                                                        args.threads)
            o = math.nan
            if args.onnxruntime and precision == "fp32":
                with open(os.path.join(model_dir, "config.json")) as f:
                    image_size = json.load(f)["vision_config"]["image_size"]
                onnx_path = os.path.join(args.onnx_dir, os.path.basename(os.path.normpath(model_dir)) + ".onnx")
                o = onnxruntime_bench(onnx_path, args.batch_size, args.threads, image_size,
                                      args.onnx_batches)["images_per_s"]
            rows.append((os.path.basename(model_dir), precision, z, t, o))
            print(f"{rows[-1][0]} {precision}: zeroclip {z['images_per_s']:.2f} img/s, torch {t:.2f} img/s"
                  + (f", onnxruntime {o:.2f} img/s" if args.onnxruntime else ""), flush=True)

    print(f"\nImage tower, batch {args.batch_size} (PyTorch {args.torch_batch_size}), {args.threads} threads, "
          f"{os.uname().nodename}, load average {os.getloadavg()[0]:.1f}\n")
    ort_header = " ONNX Runtime fp32 img/s | zeroclip / ONNX Runtime |" if args.onnxruntime else ""
    print("| model | precision | zeroclip img/s | zeroclip ms/batch | of CPU peak | peak RSS MiB (weights) | kernels | "
          "PyTorch img/s | zeroclip / PyTorch |" + ort_header)
    print("|---|---|---|---|---|---|---|---|---|" + "---|---|" * args.onnxruntime)
    for name, precision, z, t, o in rows:
        ort_cells = f" {o:.2f} | {z['images_per_s'] / o:.2f}x |" if args.onnxruntime else ""
        print(f"| {name} | {precision} | {z['images_per_s']:.2f} | {z['ms_per_batch']:.0f} | "
              f"{100 * z['fraction_of_peak']:.0f}% | "
              f"{z['peak_rss_mb']:.0f} ({z['weights_mb']:.0f}) | {z['isa']} | {t:.2f} | "
              f"{z['images_per_s'] / t:.1f}x |{ort_cells}".replace("nan", "-").replace("-x", "-"))


if __name__ == "__main__":
    main()
