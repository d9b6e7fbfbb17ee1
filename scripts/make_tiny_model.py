#!/usr/bin/python3
"""Creates the small random CLIP and SigLIP models of tests/fixtures/models/ and their expected outputs.

Each model directory is laid out exactly like a Hugging Face CLIPModel checkpoint (config.json,
safetensors weights with transformers' tensor names, vocab.json/merges.txt of the fixture
tokenizer, preprocessor_config.json). `expected.json` holds input ids and the projected text and
image features (get_text_features / get_image_features) computed by the float64 reference
forward pass below, written from CLIP's architecture description; `pixel_values.npy` holds the
random images they are computed from.

The SigLIP model (siglip-f32) is a Hugging Face SiglipModel directory with a small SentencePiece
model trained here (spiece.model); its expected.json holds texts, their input ids (padded with
</s> as SiglipProcessor does), pixel values and the features of the reference below.

Needs torch and numpy (the safetensors format is written by hand), and python3-sentencepiece for
the SigLIP tokenizer. Deterministic: running it again reproduces the same files.
Run: /usr/bin/python3 scripts/make_tiny_model.py [clip|siglip]   (default: both)
"""
import json
import math
import os
import shutil
import re
import string
import struct
import sys
import tempfile

import numpy as np
import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
TOKENIZER = os.path.join(FIXTURES, "tokenizer")

# The fixture tokenizer's special tokens and vocabulary size.
BOS, EOS, VOCAB = 2512, 2513, 2514

MODELS = [
    # F32, quick_gelu, modern config, a single file with logit_scale stored as a 0-d tensor.
    dict(name="clip-f32-quickgelu", dtype="F32", act="quick_gelu", legacy=False, shards=1,
         eos=EOS, logit_shape=[],
         text=dict(hidden=32, heads=4, layers=2, intermediate=64),
         vision=dict(hidden=24, heads=2, layers=2, intermediate=40, image=32, patch=8),
         projection=16),
    # F16, gelu, legacy *_config_dict config, sharded, position_ids buffers, odd head count.
    dict(name="clip-f16-gelu-sharded", dtype="F16", act="gelu", legacy=True, shards=2,
         eos=EOS, logit_shape=[1],
         text=dict(hidden=32, heads=2, layers=3, intermediate=48),
         vision=dict(hidden=24, heads=3, layers=2, intermediate=56, image=48, patch=16),
         projection=20),
    # BF16, tanh gelu, legacy eos_token_id == 2 (pooling at the highest token id).
    dict(name="clip-bf16-tanh-eos2", dtype="BF16", act="gelu_pytorch_tanh", legacy=False, shards=1,
         eos=2, logit_shape=[],
         text=dict(hidden=16, heads=2, layers=1, intermediate=32),
         vision=dict(hidden=16, heads=1, layers=1, intermediate=32, image=32, patch=16),
         projection=8),
]

DTYPES = {"F32": (torch.float32, 4), "F16": (torch.float16, 2), "BF16": (torch.bfloat16, 2),
          "I64": (torch.int64, 8)}


def make_weights(m, gen):
    """Random weights, in transformers' names and shapes, as float32 rounded to the model dtype."""
    def randn(*shape, std=1.0):
        return torch.randn(*shape, generator=gen, dtype=torch.float64) * std

    w = {}

    def layer_norm(prefix, d):
        w[prefix + ".weight"] = 1.0 + randn(d, std=0.1)
        w[prefix + ".bias"] = randn(d, std=0.1)

    def linear(prefix, out, inp, bias=True):
        w[prefix + ".weight"] = randn(out, inp, std=1.0 / math.sqrt(inp))
        if bias:
            w[prefix + ".bias"] = randn(out, std=0.1)

    def encoder(prefix, c):
        d, inter = c["hidden"], c["intermediate"]
        for i in range(c["layers"]):
            p = f"{prefix}.encoder.layers.{i}"
            layer_norm(p + ".layer_norm1", d)
            for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
                linear(f"{p}.self_attn.{proj}", d, d)
            layer_norm(p + ".layer_norm2", d)
            linear(p + ".mlp.fc1", inter, d)
            linear(p + ".mlp.fc2", d, inter)

    t, v = m["text"], m["vision"]
    w["text_model.embeddings.token_embedding.weight"] = randn(VOCAB, t["hidden"], std=0.5)
    w["text_model.embeddings.position_embedding.weight"] = randn(77, t["hidden"], std=0.2)
    encoder("text_model", t)
    layer_norm("text_model.final_layer_norm", t["hidden"])
    linear("text_projection", m["projection"], t["hidden"], bias=False)

    grid = v["image"] // v["patch"]
    w["vision_model.embeddings.class_embedding"] = randn(v["hidden"], std=0.5)
    w["vision_model.embeddings.patch_embedding.weight"] = randn(
        v["hidden"], 3, v["patch"], v["patch"], std=1.0 / (v["patch"] * math.sqrt(3)))
    w["vision_model.embeddings.position_embedding.weight"] = randn(grid * grid + 1, v["hidden"], std=0.2)
    layer_norm("vision_model.pre_layrnorm", v["hidden"])
    encoder("vision_model", v)
    layer_norm("vision_model.post_layernorm", v["hidden"])
    linear("visual_projection", m["projection"], v["hidden"], bias=False)

    w["logit_scale"] = torch.full(m["logit_shape"], math.log(1 / 0.07), dtype=torch.float64)
    # What the file will hold, so that the reference sees exactly the stored values.
    dtype = DTYPES[m["dtype"]][0]
    return {k: x.to(dtype) for k, x in w.items()}


def tensor_bytes(x):
    if x.dtype == torch.bfloat16:  # numpy has no bfloat16: take the upper half of float32
        return (x.float().numpy().view(np.uint32) >> 16).astype("<u2").tobytes()
    return x.numpy().astype(x.numpy().dtype.newbyteorder("<")).tobytes()


def write_safetensors(path, tensors):
    names = sorted(tensors)
    header, offset, blobs = {"__metadata__": {"format": "pt"}}, 0, []
    for name in names:
        x = tensors[name]
        dtype = next(k for k, (dt, _) in DTYPES.items() if dt == x.dtype)
        data = tensor_bytes(x)
        header[name] = {"dtype": dtype, "shape": list(x.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # data region 8-byte aligned, like the safetensors library
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def write_config(m, path):
    t, v = m["text"], m["vision"]
    text = {"hidden_size": t["hidden"], "intermediate_size": t["intermediate"],
            "num_attention_heads": t["heads"], "num_hidden_layers": t["layers"],
            "max_position_embeddings": 77, "vocab_size": VOCAB, "hidden_act": m["act"],
            "layer_norm_eps": 1e-05, "bos_token_id": BOS, "eos_token_id": m["eos"], "pad_token_id": 1}
    vision = {"hidden_size": v["hidden"], "intermediate_size": v["intermediate"],
              "num_attention_heads": v["heads"], "num_hidden_layers": v["layers"],
              "image_size": v["image"], "patch_size": v["patch"], "hidden_act": m["act"]}
    config = {"architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": m["projection"],
              "logit_scale_init_value": 2.6592, "torch_dtype": "float32"}
    if m["legacy"]:
        # Old checkpoints: the *_dict keys win over the (here deliberately wrong) plain ones.
        del text["max_position_embeddings"]  # transformers' default (77) applies
        config.update({"text_config": {"hidden_size": 999}, "vision_config": {},
                       "text_config_dict": text, "vision_config_dict": vision})
    else:
        config.update({"text_config": text, "vision_config": vision})
    with open(path, "w") as f:
        json.dump(config, f, indent=1)


def write_preprocessor_config(m, path):
    size = m["vision"]["image"]
    config = {"crop_size": {"height": size, "width": size}, "do_center_crop": True,
              "do_convert_rgb": True, "do_normalize": True, "do_rescale": True, "do_resize": True,
              "image_mean": [0.48145466, 0.4578275, 0.40821073],
              "image_std": [0.26862954, 0.26130258, 0.27577711], "resample": 3,
              "rescale_factor": 0.00392156862745098, "size": {"shortest_edge": size},
              "image_processor_type": "CLIPImageProcessor"}
    with open(path, "w") as f:
        json.dump(config, f, indent=1)


# ---- The float64 reference forward pass ---------------------------------------------------

def ref_layer_norm(x, w, prefix, eps=1e-5):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * w[prefix + ".weight"] + w[prefix + ".bias"]


def ref_activation(x, name):
    if name == "quick_gelu":
        return x * torch.sigmoid(1.702 * x)
    if name == "gelu":
        return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def ref_linear(x, w, prefix):
    y = x @ w[prefix + ".weight"].T
    return y + w[prefix + ".bias"] if prefix + ".bias" in w else y


def ref_encoder(h, w, prefix, c, act, causal, eps=1e-5):
    """Pre-LN transformer over one sequence h: [length, hidden]."""
    length, d, heads = h.shape[0], c["hidden"], c["heads"]
    hd = d // heads
    for i in range(c["layers"]):
        p = f"{prefix}.encoder.layers.{i}"
        x = ref_layer_norm(h, w, p + ".layer_norm1", eps)
        q, k, v = (ref_linear(x, w, f"{p}.self_attn.{n}").view(length, heads, hd).transpose(0, 1)
                   for n in ("q_proj", "k_proj", "v_proj"))
        scores = q @ k.transpose(1, 2) / math.sqrt(hd)
        if causal:
            future = torch.triu(torch.ones(length, length, dtype=torch.bool), diagonal=1)
            scores = scores.masked_fill(future, float("-inf"))
        attended = (torch.softmax(scores, dim=-1) @ v).transpose(0, 1).reshape(length, d)
        h = h + ref_linear(attended, w, p + ".self_attn.out_proj")
        x = ref_layer_norm(h, w, p + ".layer_norm2", eps)
        h = h + ref_linear(ref_activation(ref_linear(x, w, p + ".mlp.fc1"), act), w, p + ".mlp.fc2")
    return h


def ref_text_features(ids, w, m):
    t = m["text"]
    h = w["text_model.embeddings.token_embedding.weight"][ids] + \
        w["text_model.embeddings.position_embedding.weight"][: len(ids)]
    h = ref_encoder(h, w, "text_model", t, m["act"], causal=True)
    h = ref_layer_norm(h, w, "text_model.final_layer_norm")
    if m["eos"] == 2:  # legacy configs: the highest id, the end token
        pooled = h[int(np.argmax(ids))]
    else:  # the first end token (position 0 when there is none)
        pooled = h[ids.index(m["eos"]) if m["eos"] in ids else 0]
    return pooled @ w["text_projection.weight"].T


def ref_image_features(pixels, w, m):
    v = m["vision"]
    patches = torch.nn.functional.conv2d(pixels[None], w["vision_model.embeddings.patch_embedding.weight"],
                                         stride=v["patch"])[0]  # [hidden, grid, grid]
    patches = patches.flatten(1).T
    h = torch.cat([w["vision_model.embeddings.class_embedding"][None], patches]) + \
        w["vision_model.embeddings.position_embedding.weight"]
    h = ref_layer_norm(h, w, "vision_model.pre_layrnorm")
    h = ref_encoder(h, w, "vision_model", v, m["act"], causal=False)
    pooled = ref_layer_norm(h[0], w, "vision_model.post_layernorm")
    return pooled @ w["visual_projection.weight"].T


# ---- Putting it together --------------------------------------------------------------------

def input_ids(gen):
    def words(n):
        return torch.randint(0, BOS, (n,), generator=gen).tolist()
    return [
        [BOS, EOS],
        [BOS] + words(4) + [EOS],
        [BOS] + words(10) + [EOS],
        [BOS] + words(75) + [EOS],             # the full 77 positions
        [BOS] + words(3) + [EOS] + words(2),   # tokens after the end token
        [BOS] + words(6),                      # no end token (truncated input)
        [BOS] + words(2) + [EOS, EOS],         # repeated end token: the first one counts
        [BOS, 7, 2, 9, EOS],                   # id 2: the end token of legacy configs
    ]


def make_model(m, index):
    gen = torch.Generator().manual_seed(1000 + index)
    out = os.path.join(FIXTURES, "models", m["name"])
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)

    weights = make_weights(m, gen)
    stored = dict(weights)
    if m["legacy"]:  # buffers that old checkpoints carry and loaders must ignore
        stored["text_model.embeddings.position_ids"] = torch.arange(77)[None]
        grid = m["vision"]["image"] // m["vision"]["patch"]
        stored["vision_model.embeddings.position_ids"] = torch.arange(grid * grid + 1)[None]
    if m["shards"] == 1:
        write_safetensors(os.path.join(out, "model.safetensors"), stored)
    else:
        names = sorted(stored)
        weight_map, total = {}, 0
        for s in range(m["shards"]):
            shard = f"model-{s + 1:05d}-of-{m['shards']:05d}.safetensors"
            part = {n: stored[n] for n in names[s :: m["shards"]]}
            write_safetensors(os.path.join(out, shard), part)
            weight_map.update({n: shard for n in part})
            total += sum(len(tensor_bytes(x)) for x in part.values())
        with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))},
                      f, indent=1)
    write_config(m, os.path.join(out, "config.json"))
    write_preprocessor_config(m, os.path.join(out, "preprocessor_config.json"))
    for name in ("vocab.json", "merges.txt"):
        shutil.copy(os.path.join(TOKENIZER, name), os.path.join(out, name))

    size = m["vision"]["image"]
    pixels = torch.randn(3, 3, size, size, generator=gen, dtype=torch.float64).float()
    np.save(os.path.join(out, "pixel_values.npy"), pixels.numpy().astype("<f4"))

    w64 = {k: x.double() for k, x in weights.items()}
    ids = input_ids(gen)
    with torch.no_grad():
        text = [ref_text_features(seq, w64, m).tolist() for seq in ids]
        image = [ref_image_features(p.double(), w64, m).tolist() for p in pixels]
    expected = {"input_ids": ids, "text_embeds": text, "image_embeds": image,
                "logit_scale": math.exp(float(w64["logit_scale"].reshape(-1)[0]))}
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f)


# ---- SigLIP ----------------------------------------------------------------------------------

SIGLIP = dict(name="siglip-f32", act="gelu_pytorch_tanh", eps=1e-6, max_positions=16,
              text=dict(hidden=32, heads=2, layers=2, intermediate=64),
              vision=dict(hidden=32, heads=4, layers=2, intermediate=48, image=32, patch=8))

# The tokenizer's training text: prompts like the ones zero-shot classification encodes.
SIGLIP_CORPUS_WORDS = ("a photo of the cat dog bird fish truck car plane ship horse deer frog small large "
                       "good bad bright dark close up cropped blurry origami toy sculpture rendering "
                       "drawing painting tattoo black and white one many itap my garbage tench golf ball "
                       "church parachute chain saw cassette player french horn english springer").split()
SIGLIP_TEXTS = ["a photo of a cat.", "A PHOTO OF A DOG!", "itap of my golf ball", "", "   ",
                "don't STOP -- naïve café", "a\u2581literal underline", "日本語 garbage truck",
                "a photo of a " + "very " * 20 + "long caption"]


def train_spiece(path):
    """A 64-piece unigram model, pieces <pad>=0 </s>=1 <unk>=2 as SigLIP's spiece.model has."""
    import sentencepiece as spm
    gen = torch.Generator().manual_seed(77)
    lines = []
    for _ in range(2000):
        n = int(torch.randint(3, 9, (1,), generator=gen))
        idx = torch.randint(0, len(SIGLIP_CORPUS_WORDS), (n,), generator=gen).tolist()
        lines.append(" ".join(SIGLIP_CORPUS_WORDS[i] for i in idx))
    # A fixed directory: the model records its training file names, so the file stays reproducible.
    tmp = os.path.join(tempfile.gettempdir(), "zeroclip-siglip-spiece")
    os.makedirs(tmp, exist_ok=True)
    corpus = os.path.join(tmp, "corpus.txt")
    with open(corpus, "w") as f:
        f.write("\n".join(lines) + "\n")
    spm.SentencePieceTrainer.train(
        input=corpus, model_prefix=os.path.join(tmp, "spiece"), vocab_size=64, model_type="unigram",
        normalization_rule_name="nmt_nfkc", pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
        character_coverage=1.0, num_threads=1, minloglevel=2)
    shutil.copy(os.path.join(tmp, "spiece.model"), path)


def siglip_ids(sp, text, max_length):
    """transformers' slow SiglipTokenizer + padding="max_length", written from its source."""
    ids = []
    if text:
        text = "\u2581" + text.replace("\u2581", " ")
        text = text.translate(str.maketrans("", "", string.punctuation))
        text = re.sub(r"\s+", " ", text).strip()
        text = "".join(ch.lower() for ch in text)
        unk_len = len(sp.encode("<unk>"))
        pieces = sp.encode("<unk>" + text, out_type=str)
        ids = [sp.piece_to_id(p) for p in pieces[unk_len:]]
    ids = ids[: max_length - 1] + [1]
    return ids + [1] * (max_length - len(ids))


def make_siglip_weights(m, vocab, gen):
    def randn(*shape, std=1.0):
        return torch.randn(*shape, generator=gen, dtype=torch.float64) * std

    w = {}

    def layer_norm(prefix, d):
        w[prefix + ".weight"] = 1.0 + randn(d, std=0.1)
        w[prefix + ".bias"] = randn(d, std=0.1)

    def linear(prefix, out, inp):
        w[prefix + ".weight"] = randn(out, inp, std=1.0 / math.sqrt(inp))
        w[prefix + ".bias"] = randn(out, std=0.1)

    def encoder(prefix, c):
        d, inter = c["hidden"], c["intermediate"]
        for i in range(c["layers"]):
            p = f"{prefix}.encoder.layers.{i}"
            layer_norm(p + ".layer_norm1", d)
            for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
                linear(f"{p}.self_attn.{proj}", d, d)
            layer_norm(p + ".layer_norm2", d)
            linear(p + ".mlp.fc1", inter, d)
            linear(p + ".mlp.fc2", d, inter)

    t, v = m["text"], m["vision"]
    w["text_model.embeddings.token_embedding.weight"] = randn(vocab, t["hidden"], std=0.5)
    w["text_model.embeddings.position_embedding.weight"] = randn(m["max_positions"], t["hidden"], std=0.2)
    encoder("text_model", t)
    layer_norm("text_model.final_layer_norm", t["hidden"])
    linear("text_model.head", t["hidden"], t["hidden"])

    d, grid = v["hidden"], v["image"] // v["patch"]
    w["vision_model.embeddings.patch_embedding.weight"] = randn(d, 3, v["patch"], v["patch"],
                                                               std=1.0 / (v["patch"] * math.sqrt(3)))
    w["vision_model.embeddings.patch_embedding.bias"] = randn(d, std=0.1)
    w["vision_model.embeddings.position_embedding.weight"] = randn(grid * grid, d, std=0.2)
    encoder("vision_model", v)
    layer_norm("vision_model.post_layernorm", d)
    w["vision_model.head.probe"] = randn(1, 1, d)
    w["vision_model.head.attention.in_proj_weight"] = randn(3 * d, d, std=1.0 / math.sqrt(d))
    w["vision_model.head.attention.in_proj_bias"] = randn(3 * d, std=0.1)
    linear("vision_model.head.attention.out_proj", d, d)
    layer_norm("vision_model.head.layernorm", d)
    linear("vision_model.head.mlp.fc1", v["intermediate"], d)
    linear("vision_model.head.mlp.fc2", d, v["intermediate"])
    w["logit_scale"] = torch.full([1], math.log(10.0), dtype=torch.float64)
    w["logit_bias"] = torch.full([1], -1.0, dtype=torch.float64)
    return {k: x.float() for k, x in w.items()}


def ref_siglip_text(ids, w, m):
    """SiglipTextTransformer: no causal mask, no padding mask; the last position, then the head."""
    h = w["text_model.embeddings.token_embedding.weight"][ids] + \
        w["text_model.embeddings.position_embedding.weight"][: len(ids)]
    h = ref_encoder(h, w, "text_model", m["text"], m["act"], causal=False, eps=m["eps"])
    h = ref_layer_norm(h, w, "text_model.final_layer_norm", m["eps"])
    return ref_linear(h[-1], w, "text_model.head")


def ref_siglip_image(pixels, w, m):
    """SiglipVisionTransformer: patches with bias, no class token, post LN, attention pooling."""
    v, eps = m["vision"], m["eps"]
    d, heads = v["hidden"], v["heads"]
    hd = d // heads
    h = torch.nn.functional.conv2d(pixels[None], w["vision_model.embeddings.patch_embedding.weight"],
                                   w["vision_model.embeddings.patch_embedding.bias"], stride=v["patch"])[0]
    h = h.flatten(1).T + w["vision_model.embeddings.position_embedding.weight"]
    h = ref_encoder(h, w, "vision_model", v, m["act"], causal=False, eps=eps)
    h = ref_layer_norm(h, w, "vision_model.post_layernorm", eps)
    wi, bi = w["vision_model.head.attention.in_proj_weight"], w["vision_model.head.attention.in_proj_bias"]
    q = w["vision_model.head.probe"].reshape(1, d) @ wi[:d].T + bi[:d]
    k = h @ wi[d : 2 * d].T + bi[d : 2 * d]
    val = h @ wi[2 * d :].T + bi[2 * d :]
    q, k, val = (x.view(-1, heads, hd).transpose(0, 1) for x in (q, k, val))
    attended = (torch.softmax(q @ k.transpose(1, 2) / math.sqrt(hd), dim=-1) @ val).transpose(0, 1).reshape(1, d)
    x = ref_linear(attended, w, "vision_model.head.attention.out_proj")
    y = ref_layer_norm(x, w, "vision_model.head.layernorm", eps)
    x = x + ref_linear(ref_activation(ref_linear(y, w, "vision_model.head.mlp.fc1"), m["act"]), w,
                       "vision_model.head.mlp.fc2")
    return x[0]


def make_siglip_model(m):
    import sentencepiece as spm
    gen = torch.Generator().manual_seed(2000)
    out = os.path.join(FIXTURES, "models", m["name"])
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    train_spiece(os.path.join(out, "spiece.model"))
    with open(os.path.join(out, "spiece.model"), "rb") as f:
        # SiglipTokenizer loads it with normalizer_spec.add_dummy_prefix = false (a protobuf
        # message appended to the serialised model is merged into the earlier one).
        sp = spm.SentencePieceProcessor(model_proto=f.read() + b"\x1a\x02\x18\x00")
    vocab = sp.get_piece_size()

    weights = make_siglip_weights(m, vocab, gen)
    write_safetensors(os.path.join(out, "model.safetensors"), weights)
    t, v = m["text"], m["vision"]
    # Like google/siglip-* configs: only what differs from SiglipConfig's defaults.
    config = {"architectures": ["SiglipModel"], "model_type": "siglip", "torch_dtype": "float32",
              "text_config": {"hidden_size": t["hidden"], "intermediate_size": t["intermediate"],
                              "num_attention_heads": t["heads"], "num_hidden_layers": t["layers"],
                              "max_position_embeddings": m["max_positions"], "vocab_size": vocab},
              "vision_config": {"hidden_size": v["hidden"], "intermediate_size": v["intermediate"],
                                "num_attention_heads": v["heads"], "num_hidden_layers": v["layers"],
                                "image_size": v["image"], "patch_size": v["patch"]}}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    with open(os.path.join(out, "preprocessor_config.json"), "w") as f:
        json.dump({"do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": [0.5, 0.5, 0.5],
                   "image_processor_type": "SiglipImageProcessor", "image_std": [0.5, 0.5, 0.5],
                   "processor_class": "SiglipProcessor", "resample": 3,
                   "rescale_factor": 0.00392156862745098, "size": {"height": v["image"], "width": v["image"]}},
                  f, indent=1)
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "SiglipTokenizer", "model_max_length": m["max_positions"],
                   "do_lower_case": True, "eos_token": "</s>", "pad_token": "</s>", "unk_token": "<unk>"},
                  f, indent=1)

    pixels = torch.randn(2, 3, v["image"], v["image"], generator=gen, dtype=torch.float64).float()
    w64 = {k: x.double() for k, x in weights.items()}
    ids = [siglip_ids(sp, text, m["max_positions"]) for text in SIGLIP_TEXTS]
    with torch.no_grad():
        text = [ref_siglip_text(seq, w64, m).tolist() for seq in ids]
        image = [ref_siglip_image(p.double(), w64, m).tolist() for p in pixels]
    expected = {"texts": SIGLIP_TEXTS, "input_ids": ids, "text_embeds": text,
                "pixel_shape": list(pixels.shape), "pixel_values": pixels.flatten().tolist(),
                "image_embeds": image, "logit_scale": 10.0, "logit_bias": -1.0}
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f)


def main():
    which = sys.argv[1] if len(sys.argv) > 1 else "all"
    if which in ("all", "clip"):
        for index, m in enumerate(MODELS):
            make_model(m, index)
            print("wrote", os.path.join("tests", "fixtures", "models", m["name"]))
    if which in ("all", "siglip"):
        make_siglip_model(SIGLIP)
        print("wrote", os.path.join("tests", "fixtures", "models", SIGLIP["name"]))


if __name__ == "__main__":
    main()
