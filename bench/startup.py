#!/usr/bin/python3
"""Start-up benchmark: each command as a fresh process, median wall time and peak RSS.

The per-call cost of the CLI as scripts pay it (one photo, one text, one process each), against
the compute-only time `zeroclip bench` measures for the same work after a warm-up. Runs every
command --runs times with an emptied cache (first run: packs and writes the cache), then --runs
times more (cache warm), and --runs times with --no-weight-cache. Page cache warm throughout.

Run: /usr/bin/python3 bench/startup.py --zeroclip build/zeroclip --models /work/models [--runs 5]
     [--baseline OLD_ZEROCLIP]   # also time another build (e.g. one without the cache)
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time

LABELS = "cat,dog,car,truck,bird,airplane,ship,horse,frog,deer"
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_IMAGE = os.path.join(HERE, "..", "tests", "fixtures", "images", "jpeg_baseline.jpg")


def run_once(argv, env):
    """Wall seconds, peak RSS (MB) and CPU seconds (user + system, all threads) of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(argv)}\n{err}")
    return wall, usage.ru_maxrss / 1024.0, usage.ru_utime + usage.ru_stime


def compute_ms(zeroclip, model, tower, env):
    """zeroclip bench's best time for one item after its warm-up (ms)."""
    out = subprocess.run([zeroclip, "bench", "-m", model, "--tower", tower, "--batch-size", "1",
                          "--images", "5", "--json"], env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["best_ms_per_batch"]


def commands(models, image, out_npy):
    b32 = os.path.join(models, "random-clip-vit-b-32")
    l14 = os.path.join(models, "random-clip-vit-l-14")
    rows = [
        ("tokenize B/32", ["tokenize", "-m", b32, "a photo of a cat"], None),
        ("embed text B/32", ["embed", "-m", b32, "-o", out_npy, "--text", "a photo of a cat"], (b32, "text")),
        ("embed image B/32", ["embed", "-m", b32, "-o", out_npy, image], (b32, "image")),
        ("classify B/32, 10 labels", ["classify", "-m", b32, "-l", LABELS, image], (b32, "image")),
    ]
    if os.path.isdir(l14):
        rows.append(("embed image L/14", ["embed", "-m", l14, "-o", out_npy, image], (l14, "image")))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zeroclip", required=True)
    parser.add_argument("--baseline", help="another zeroclip build to time the same way (no cache flags)")
    parser.add_argument("--models", default="/work/models")
    parser.add_argument("--image", default=DEFAULT_IMAGE)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="zeroclip-startup-")
    env = dict(os.environ, ZEROCLIP_CACHE=os.path.join(work, "cache"))
    out_npy = os.path.join(work, "out.npy")
    print(f"| command | first run: median (s) | first run: CPU (s) | cached: median (s) | cached: CPU (s) | peak RSS (MB) | --no-weight-cache (s) |"
          f"{' baseline (s) | baseline CPU (s) | baseline RSS (MB) |' if args.baseline else ''} compute only (s) |")
    print("|---|---|---|---|---|---|---|" + ("---|---|---|" if args.baseline else "") + "---|")
    try:
        for name, argv, compute in commands(args.models, args.image, out_npy):
            first = []  # each with an empty cache: packs and writes it
            for _ in range(args.runs):
                shutil.rmtree(env["ZEROCLIP_CACHE"], ignore_errors=True)
                first.append(run_once([args.zeroclip] + argv, env))
            warm = [run_once([args.zeroclip] + argv, env) for _ in range(args.runs)]
            uncached = [run_once([args.zeroclip] + argv + ["--no-weight-cache"], env)[0]
                        for _ in range(args.runs)] if compute else []
            row = [name, f"{statistics.median(w for w, _, _ in first):.3f}",
                   f"{statistics.median(c for _, _, c in first):.3f}",
                   f"{statistics.median(w for w, _, _ in warm):.3f}",
                   f"{statistics.median(c for _, _, c in warm):.3f}", f"{max(r for _, r, _ in warm):.0f}",
                   f"{statistics.median(uncached):.3f}" if uncached else "-"]
            if args.baseline:
                base = [run_once([args.baseline] + argv, env) for _ in range(args.runs)]
                row += [f"{statistics.median(w for w, _, _ in base):.3f}",
                        f"{statistics.median(c for _, _, c in base):.3f}", f"{max(r for _, r, _ in base):.0f}"]
            row.append(f"{compute_ms(args.zeroclip, compute[0], compute[1], env) / 1000:.3f}" if compute else "-")
            print("| " + " | ".join(row) + " |", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
