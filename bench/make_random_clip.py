#!/usr/bin/python3
"""Writes full-size random CLIP checkpoints (ViT-B/32, ViT-B/16, ViT-L/14) in the Hugging Face layout.

The configs are those of openai/clip-vit-base-patch32, -base-patch16 and -large-patch14; weights
are random (float32), scaled like a trained model's so that activations stay in a realistic
range. The tokenizer and preprocessor files come from the conformance model `tiny` (the real
CLIP vocabulary). Used by bench/compare.py; the weights are never committed.

Run: /usr/bin/python3 bench/make_random_clip.py [--out /work/models] [--models vit-b-32,vit-l-14]
"""
import argparse
import json
import math
import os
import shutil
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from make_tiny_model import write_safetensors  # noqa: E402  (the fixtures' safetensors writer)

TOKENIZER_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared",
                             "conformance", "models", "tiny")

CONFIGS = {
    "vit-b-32": dict(text=dict(hidden=512, layers=12, heads=8, intermediate=2048),
                     vision=dict(hidden=768, layers=12, heads=12, intermediate=3072, patch=32),
                     projection=512),
    "vit-b-16": dict(text=dict(hidden=512, layers=12, heads=8, intermediate=2048),
                     vision=dict(hidden=768, layers=12, heads=12, intermediate=3072, patch=16),
                     projection=512),
    "vit-l-14": dict(text=dict(hidden=768, layers=12, heads=12, intermediate=3072),
                     vision=dict(hidden=1024, layers=24, heads=16, intermediate=4096, patch=14),
                     projection=768),
}
VOCAB, CONTEXT, IMAGE = 49408, 77, 224


def make_weights(m, gen):
    w = {}

    def randn(*shape, std):
        return torch.randn(*shape, generator=gen, dtype=torch.float32) * std

    def layer_norm(prefix, d):
        w[prefix + ".weight"] = 1.0 + randn(d, std=0.1)
        w[prefix + ".bias"] = randn(d, std=0.05)

    def linear(prefix, out, inp, bias=True):
        w[prefix + ".weight"] = randn(out, inp, std=1.0 / math.sqrt(inp))
        if bias:
            w[prefix + ".bias"] = randn(out, std=0.02)

    def encoder(prefix, c):
        d = c["hidden"]
        for i in range(c["layers"]):
            p = f"{prefix}.encoder.layers.{i}"
            layer_norm(p + ".layer_norm1", d)
            for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
                linear(f"{p}.self_attn.{proj}", d, d)
            layer_norm(p + ".layer_norm2", d)
            linear(p + ".mlp.fc1", c["intermediate"], d)
            linear(p + ".mlp.fc2", d, c["intermediate"])

    t, v = m["text"], m["vision"]
    w["text_model.embeddings.token_embedding.weight"] = randn(VOCAB, t["hidden"], std=0.02)
    w["text_model.embeddings.position_embedding.weight"] = randn(CONTEXT, t["hidden"], std=0.01)
    encoder("text_model", t)
    layer_norm("text_model.final_layer_norm", t["hidden"])
    linear("text_projection", m["projection"], t["hidden"], bias=False)

    grid = IMAGE // v["patch"]
    w["vision_model.embeddings.class_embedding"] = randn(v["hidden"], std=0.05)
    w["vision_model.embeddings.patch_embedding.weight"] = randn(
        v["hidden"], 3, v["patch"], v["patch"], std=1.0 / (v["patch"] * math.sqrt(3)))
    w["vision_model.embeddings.position_embedding.weight"] = randn(grid * grid + 1, v["hidden"], std=0.02)
    layer_norm("vision_model.pre_layrnorm", v["hidden"])
    encoder("vision_model", v)
    layer_norm("vision_model.post_layernorm", v["hidden"])
    linear("visual_projection", m["projection"], v["hidden"], bias=False)
    w["logit_scale"] = torch.tensor(math.log(1 / 0.07))
    return w


def write_config(m, path):
    t, v = m["text"], m["vision"]
    config = {
        "architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": m["projection"],
        "logit_scale_init_value": 2.6592, "torch_dtype": "float32",
        "text_config": {"hidden_size": t["hidden"], "intermediate_size": t["intermediate"],
                        "num_attention_heads": t["heads"], "num_hidden_layers": t["layers"],
                        "max_position_embeddings": CONTEXT, "vocab_size": VOCAB,
                        "hidden_act": "quick_gelu", "layer_norm_eps": 1e-05, "bos_token_id": 49406,
                        "eos_token_id": 49407, "pad_token_id": 1, "projection_dim": m["projection"]},
        "vision_config": {"hidden_size": v["hidden"], "intermediate_size": v["intermediate"],
                          "num_attention_heads": v["heads"], "num_hidden_layers": v["layers"],
                          "image_size": IMAGE, "patch_size": v["patch"], "num_channels": 3,
                          "hidden_act": "quick_gelu", "layer_norm_eps": 1e-05,
                          "projection_dim": m["projection"]},
    }
    with open(path, "w") as f:
        json.dump(config, f, indent=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="/work/models")
    parser.add_argument("--models", default="vit-b-32,vit-l-14")
    args = parser.parse_args()
    for index, name in enumerate(args.models.split(",")):
        m = CONFIGS[name]
        out = os.path.join(args.out, "random-clip-" + name)
        os.makedirs(out, exist_ok=True)
        gen = torch.Generator().manual_seed(7 + index)
        write_safetensors(os.path.join(out, "model.safetensors"), make_weights(m, gen))
        write_config(m, os.path.join(out, "config.json"))
        for f in ("vocab.json", "merges.txt", "preprocessor_config.json", "tokenizer_config.json",
                  "special_tokens_map.json"):
            shutil.copyfile(os.path.join(TOKENIZER_DIR, f), os.path.join(out, f))
        print("wrote", out)


if __name__ == "__main__":
    main()
