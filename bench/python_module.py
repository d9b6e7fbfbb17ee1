#!/usr/bin/python3
"""The Python module's throughput against the CLI, PyTorch and itself on Dask, in one run.

1. Python overhead: `clip.embed_images` on N image files and `clip.embed_texts` on M prompts
   against `zeroclip embed` on the same inputs at the same settings, each a fresh process, end
   to end (start, model load, writing the .npy), wall and CPU time (the CPU time is what to
   compare on a loaded machine).
2. Against the reference: the module's image embeddings (files in, decode + preprocess included)
   against PyTorch (Debian's python3-torch) running CLIP's image tower from the same safetensors
   (bench/compare.py's forward) on already preprocessed pixel_values, one batch.
3. Dask: zeroclip.dask.embed on a LocalCluster of 2 workers x 1 thread against one process
   (the module with 2 threads), model loads included on both sides.

The machine is shared and timings are noisy: compare within one run. Defaults are kept short.
Run: PYTHONPATH=build/python /usr/bin/python3 bench/python_module.py [--model /work/models/random-clip-vit-b-32]
     [--images-dir ../shared/data/imagenette-val] [--images 256] [--prompts 10000] [--threads 2]
     [--precision fp32] [--torch-batch-size 32] [--dask-images 256] [--repeats 1] [--skip overhead,torch,dask]
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "build", "python"))
import zeroclip  # noqa: E402


def image_files(folder, n):
    paths, _ = zeroclip.expand_image_paths([folder])
    if len(paths) < n:
        raise SystemExit(f"{folder}: {len(paths)} images, fewer than {n}")
    step = len(paths) / n  # spread over the classes
    return [paths[int(i * step)] for i in range(n)]


def prompts(n):
    with open(os.path.join(ROOT, "..", "shared", "clip", "prompts.json")) as f:
        data = json.load(f)["imagenet"]
    out = [t.replace("{}", c) for c in data["classes"] for t in data["templates"]]
    return out[:n]


def timed(f):
    start = time.perf_counter()
    result = f()
    return time.perf_counter() - start, result


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_child(cmd):
    """Runs cmd; returns (wall seconds, CPU seconds): CPU time barely depends on the machine's load."""
    cpu = children_cpu()
    seconds, _ = timed(lambda: subprocess.run(cmd, check=True, capture_output=True))
    return seconds, children_cpu() - cpu


def embed(args, inputs, texts, module):
    """`zeroclip embed` or the module in a fresh Python process, end to end, on the same inputs."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.npy")
        listing = os.path.join(tmp, "inputs.txt")
        with open(listing, "w") as f:
            f.write("\n".join(inputs) + "\n")
        if module:
            method = "embed_texts" if texts else "embed_images"
            cmd = [sys.executable, "-c", (
                "import sys, numpy, zeroclip\n"
                f"clip = zeroclip.Clip({args.model!r}, precision={args.precision!r}, threads={args.threads}, "
                f"batch_size={args.batch_size})\n"
                f"numpy.save({out!r}, clip.{method}(open({listing!r}).read().splitlines()))")]
        else:
            cmd = [args.zeroclip, "embed", "-m", args.model, "-o", out, "--precision", args.precision, "--threads",
                   str(args.threads), "--batch-size", str(args.batch_size)]
            cmd += ["--file", listing] if texts else inputs
        seconds, cpu = run_child(cmd)
        return seconds, cpu, np.load(out)


def overhead(args, files, texts):
    """Best of --repeats alternating runs of each (the machine's load drifts between runs)."""
    rows = []
    for kind, inputs, is_text in (("images", files, False), ("prompts", texts, True)):
        best = {False: (float("inf"), float("inf")), True: (float("inf"), float("inf"))}
        results = {}
        for _ in range(args.repeats):
            for module in (False, True):
                seconds, cpu, results[module] = embed(args, inputs, is_text, module)
                best[module] = (min(best[module][0], seconds), min(best[module][1], cpu))
        same = np.array_equal(results[False], results[True])
        (t_cli, c_cli), (t_mod, c_mod) = best[False], best[True]
        rows.append((kind, len(inputs), len(inputs) / t_cli, len(inputs) / t_mod, c_cli, c_mod, same))
        print(f"{kind}: CLI {len(inputs) / t_cli:.1f}/s ({c_cli:.1f} CPU s), module {len(inputs) / t_mod:.1f}/s "
              f"({c_mod:.1f} CPU s), identical: {same}", flush=True)
    return rows


def against_torch(args, files):
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    import torch
    from compare import image_features, load_safetensors
    torch.set_num_threads(args.threads)
    batch = files[:args.torch_batch_size]
    clip = zeroclip.Clip(args.model, precision=args.precision, threads=args.threads, batch_size=len(batch))
    clip.embed_images(batch[:2])  # warm-up
    t_mod, mine = timed(lambda: clip.embed_images(batch))
    with open(os.path.join(args.model, "config.json")) as f:
        config = json.load(f)
    weights = load_safetensors(os.path.join(args.model, "model.safetensors"))
    pixels = torch.from_numpy(clip.preprocess(batch))
    with torch.no_grad():
        image_features(pixels[:2], weights, config)  # warm-up
        t_torch, theirs = timed(lambda: image_features(pixels, weights, config))
    theirs = theirs.numpy()
    cos = (mine * theirs).sum(1) / np.linalg.norm(mine, axis=1) / np.linalg.norm(theirs, axis=1)
    print(f"batch {len(batch)}: module {len(batch) / t_mod:.2f} img/s, PyTorch {len(batch) / t_torch:.2f} img/s, "
          f"worst cosine {cos.min():.6f}", flush=True)
    return len(batch), len(batch) / t_mod, len(batch) / t_torch, cos.min()


def on_dask(args, files):
    from distributed import Client, LocalCluster
    import zeroclip.dask
    with tempfile.TemporaryDirectory() as tmp:
        def single():
            clip = zeroclip.Clip(args.model, precision=args.precision, threads=2, batch_size=args.batch_size)
            return clip.embed_image_files(files)
        t_single, (_, expected, _) = timed(single)
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
                Client(cluster):
            t_dask, summary = timed(lambda: zeroclip.dask.embed(
                files, model=args.model, out=os.path.join(tmp, "shards"), partition_size=args.partition_size,
                precision=args.precision, threads=1, batch_size=args.batch_size))
        _, vectors = zeroclip.dask.load(os.path.join(tmp, "shards"))
    # Equal to one process only at the same thread count per model; here shapes and closeness.
    cos = (vectors * expected).sum(1) / np.linalg.norm(vectors, axis=1) / np.linalg.norm(expected, axis=1)
    n = len(files)
    print(f"Dask 2x1: {n / t_dask:.1f} img/s, one process (2 threads): {n / t_single:.1f} img/s, "
          f"{summary['shards']} shards, worst cosine {cos.min():.6f}", flush=True)
    return n, n / t_single, n / t_dask


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="/work/models/random-clip-vit-b-32")
    parser.add_argument("--zeroclip", default=os.path.join(ROOT, "build", "zeroclip"))
    parser.add_argument("--images-dir", default=os.path.join(ROOT, "..", "shared", "data", "imagenette-val"))
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--prompts", type=int, default=10000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--torch-batch-size", type=int, default=32)
    parser.add_argument("--dask-images", type=int, default=256)
    parser.add_argument("--partition-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=1, help="alternating CLI/module runs, best of each")
    parser.add_argument("--skip", default="", help="comma-separated: overhead, torch, dask")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    files = image_files(args.images_dir, max(args.images, args.dask_images, args.torch_batch_size))
    print(f"{args.model}, {args.precision}, {args.threads} threads, batch {args.batch_size}, "
          f"{os.uname().nodename}, load average {os.getloadavg()[0]:.1f}", flush=True)
    if "overhead" not in skip:
        rows = overhead(args, files[:args.images], prompts(args.prompts))
        print("\n| input | n | CLI /s | module /s | module / CLI | CLI CPU s | module CPU s | identical |\n"
              "|---|---|---|---|---|---|---|---|")
        for kind, n, c, m, cc, mc, same in rows:
            print(f"| {kind} | {n} | {c:.1f} | {m:.1f} | {m / c:.2f}x | {cc:.1f} | {mc:.1f} | {same} |")
    if "torch" not in skip:
        n, mod, ref, cos = against_torch(args, files)
        print(f"\n| batch | module img/s | PyTorch img/s | module / PyTorch | worst cosine |\n|---|---|---|---|---|\n"
              f"| {n} | {mod:.2f} | {ref:.2f} | {mod / ref:.1f}x | {cos:.6f} |")
    if "dask" not in skip:
        n, single, dask = on_dask(args, files[:args.dask_images])
        print(f"\n| images | one process (2 threads) img/s | Dask 2 workers x 1 thread img/s | Dask / one |\n"
              f"|---|---|---|---|\n| {n} | {single:.1f} | {dask:.1f} | {dask / single:.2f}x |")


if __name__ == "__main__":
    main()
