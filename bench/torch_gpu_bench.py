#!/usr/bin/env python3
"""PyTorch bf16 throughput of a CLIP image tower (get_image_features) on the GPU: the baseline
for `zeroclip bench --device cuda`.

Uses transformers' CLIPVisionModelWithProjection (SDPA attention) when it is installed, else a
minimal PyTorch CLIP vision tower with the same shapes and F.scaled_dot_product_attention.
Weights are random: throughput does not depend on them. Prints one JSON line.

Run: python3 bench/torch_gpu_bench.py MODEL_DIR [--batch 256] [--iters 10] [--compile]
"""
import argparse
import json
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Layer(nn.Module):
    def __init__(self, d, inter, heads):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.out = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc1, self.fc2 = nn.Linear(d, inter), nn.Linear(inter, d)

    def forward(self, x):
        b, s, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(b, s, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, s, d)
        x = x + self.out(a)
        h = self.fc1(self.ln2(x))
        return x + self.fc2(h * torch.sigmoid(1.702 * h))  # quick_gelu


class MinimalVisionTower(nn.Module):
    def __init__(self, vc, projection_dim):
        super().__init__()
        d, p = vc["hidden_size"], vc["patch_size"]
        self.patch = nn.Conv2d(3, d, p, p, bias=False)
        self.cls = nn.Parameter(torch.randn(d))
        self.pos = nn.Parameter(torch.randn((vc["image_size"] // p) ** 2 + 1, d))
        self.pre, self.post = nn.LayerNorm(d), nn.LayerNorm(d)
        self.layers = nn.ModuleList(Layer(d, vc["intermediate_size"], vc["num_attention_heads"])
                                    for _ in range(vc["num_hidden_layers"]))
        self.proj = nn.Linear(d, projection_dim, bias=False)

    def forward(self, pixels):
        x = self.patch(pixels).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], 1, -1), x], dim=1) + self.pos
        x = self.pre(x)
        for layer in self.layers:
            x = layer(x)
        return self.proj(self.post(x[:, 0]))


def build(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    vc = config.get("vision_config") or config.get("vision_config_dict")
    try:
        from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection
        hf = CLIPVisionConfig(**{k: v for k, v in vc.items() if k != "projection_dim"},
                              projection_dim=config["projection_dim"])
        model = CLIPVisionModelWithProjection._from_config(hf, attn_implementation="sdpa",
                                                           torch_dtype=torch.bfloat16)
        return "transformers CLIPVisionModelWithProjection (sdpa)", vc, lambda m, x: m(pixel_values=x).image_embeds, model
    except ImportError:
        return "minimal torch tower (sdpa)", vc, lambda m, x: m(x), MinimalVisionTower(vc, config["projection_dim"])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model_dir")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--compile", action="store_true")
    args = parser.parse_args()

    name, vc, run, model = build(args.model_dir)
    model = model.to("cuda", torch.bfloat16).eval()
    if args.compile:
        model = torch.compile(model)
        name += " + torch.compile"
    size = vc.get("image_size", 224)
    x = torch.randn(args.batch, 3, size, size, device="cuda", dtype=torch.bfloat16)
    with torch.inference_mode():
        for _ in range(3):
            run(model, x)
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        for _ in range(args.iters):
            run(model, x)
        torch.cuda.synchronize()
        seconds = time.perf_counter() - start
    print(json.dumps({"impl": name, "model": os.path.basename(os.path.normpath(args.model_dir)),
                      "batch": args.batch, "images_per_s": args.batch * args.iters / seconds,
                      "ms_per_batch": 1000 * seconds / args.iters,
                      "peak_gpu_mb": torch.cuda.max_memory_allocated() >> 20,
                      "device": torch.cuda.get_device_name(), "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
