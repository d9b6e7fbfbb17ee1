#!/usr/bin/python3
"""Load generator for `zeroclip serve` (loopback only, bounded in requests and time).

Starts the server on a free port, then runs scenarios against /v1/embeddings with concurrent
keep-alive clients and reports throughput, p50/p99 latency, errors and the server's RSS, next
to `zeroclip bench` at the same batch size and precision:

  images    N clients, each sending one photo per request, as fast as answers come back
  texts     N clients x one prompt per request
  overload  many more clients than the queue holds: only 503s beyond it; p99 of accepted requests
  soak      clients paced to a fraction of the measured image throughput, RSS sampled throughout

Run: /usr/bin/python3 bench/serve_load.py --zeroclip build/zeroclip --model DIR \
        --images ../shared/data/imagenette-val [--precision bf16] [--clients 64] [--seconds 20]
"""
import argparse
import base64
import glob
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100 * (len(values) - 1)))))
    return values[k]


def cpu_seconds(pid):
    """User + system CPU time of a process, all its threads."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Server:
    def __init__(self, args, extra):
        cmd = [args.zeroclip, "serve", "-m", args.model, "--port", "0", "--precision", args.precision,
               "--max-batch", str(args.max_batch), "--max-wait-ms", str(args.max_wait_ms)] + extra
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
        self.port = None
        for line in self.proc.stderr:
            m = re.search(r"ready on http://127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
        if self.port is None:
            sys.exit("zeroclip serve did not start")
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()

    def stop(self):
        self.proc.terminate()
        return self.proc.wait(timeout=60)


def run_clients(port, bodies, clients, seconds, max_requests, pace_s=0.0, retry_s=None, server_pid=None):
    """Each client sends bodies round-robin on one keep-alive connection until time or count
    runs out; after a 503 it waits retry_s, or what the answer's Retry-After says when None.
    Returns latencies of 200s, status counts, elapsed seconds, and the CPU cores the server and
    this load generator used meanwhile (on loopback they share the machine's cores)."""
    latencies, statuses, lock = [], {}, threading.Lock()
    deadline = time.monotonic() + seconds
    sent = [0]

    def client(index):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        i = index
        while time.monotonic() < deadline:
            with lock:
                if sent[0] >= max_requests:
                    break
                sent[0] += 1
            body = bodies[i % len(bodies)]
            i += clients
            start = time.monotonic()
            try:
                conn.request("POST", "/v1/embeddings", body, {"Content-Type": "application/json"})
                res = conn.getresponse()
                payload = res.read()
                status = res.status
                retry_after = res.getheader("Retry-After")
                if status == 200:
                    json.loads(payload)["data"]
            except (OSError, http.client.HTTPException):
                status = "connection error"
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            elapsed = time.monotonic() - start
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                if status == 200:
                    latencies.append(elapsed)
            if status == 503:
                time.sleep(retry_s if retry_s is not None else float(retry_after or 1))
            if pace_s:
                if pace_s - elapsed > 1.0:
                    conn.close()  # the server closes keep-alive connections idle for 2 s
                time.sleep(max(0.0, pace_s - elapsed))
        conn.close()

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    start = time.monotonic()
    server_cpu = cpu_seconds(server_pid) if server_pid else 0.0
    client_cpu = time.process_time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    cores = {"server_cores": round((cpu_seconds(server_pid) - server_cpu) / elapsed, 2) if server_pid else None,
             "load_generator_cores": round((time.process_time() - client_cpu) / elapsed, 2)}
    return latencies, statuses, elapsed, cores


def report(name, latencies, statuses, elapsed, cores, items_per_request, server_pid, baseline=None):
    ok = statuses.get(200, 0)
    rate = ok * items_per_request / elapsed
    errors = {k: v for k, v in statuses.items() if k != 200}
    row = {"scenario": name, "ok": ok, "errors": errors, "items_per_s": round(rate, 1),
           "p50_ms": round(1000 * percentile(latencies, 50), 1), "p99_ms": round(1000 * percentile(latencies, 99), 1),
           "rss_mb": round(rss_mb(server_pid)), "seconds": round(elapsed, 1), **cores}
    if baseline:
        row["of_bench"] = round(rate / baseline, 2)
    print(json.dumps(row), flush=True)
    return row


def bench(args, tower):
    cmd = [args.zeroclip, "bench", "-m", args.model, "--precision", args.precision, "--batch-size",
           str(args.max_batch), "--tower", tower, "--json", "--images", str(args.bench_items)]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)["images_per_s"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zeroclip", default="build/zeroclip")
    ap.add_argument("--model", required=True)
    ap.add_argument("--images", required=True, help="a folder of photos (searched recursively)")
    ap.add_argument("--precision", default="fp32")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--max-batch", type=int, default=32)
    ap.add_argument("--max-wait-ms", type=int, default=5)
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=20, help="per scenario")
    ap.add_argument("--max-requests", type=int, default=20000, help="per scenario")
    ap.add_argument("--overload-clients", type=int, default=256)
    ap.add_argument("--overload-queue", type=int, default=64)
    ap.add_argument("--overload-retry-ms", type=float, default=None,
                    help="pause after a 503 (default: what Retry-After says, as a real client does; "
                         "50 hammers the server, and the load generator then competes with it for the CPU)")
    ap.add_argument("--soak-seconds", type=float, default=60)
    ap.add_argument("--soak-load", type=float, default=0.7)
    ap.add_argument("--bench-items", type=int, default=256)
    ap.add_argument("--scenarios", default="images,texts,overload,soak")
    args = ap.parse_args()
    scenarios = args.scenarios.split(",")

    files = sorted(glob.glob(os.path.join(args.images, "**", "*.JPEG"), recursive=True) +
                   glob.glob(os.path.join(args.images, "**", "*.jpg"), recursive=True))[:64]
    if not files:
        sys.exit(f"no photos under {args.images}")
    image_bodies = []
    for f in files:
        with open(f, "rb") as fh:
            url = "data:image/jpeg;base64," + base64.b64encode(fh.read()).decode()
        image_bodies.append(json.dumps({"input": [url], "encoding_format": "base64"}).encode())
    words = ["cat", "dog", "truck", "church", "parachute", "golf ball", "fish", "chainsaw"]
    text_bodies = [json.dumps({"input": [f"a photo of a {w} number {i}"], "encoding_format": "base64"}).encode()
                   for i in range(64) for w in words[i % 8:i % 8 + 1]]

    image_bench = bench(args, "image") if set(scenarios) & {"images", "overload", "soak"} else None
    text_bench = bench(args, "text") if "texts" in scenarios else None
    print(json.dumps({"bench_images_per_s": image_bench, "bench_texts_per_s": text_bench,
                      "precision": args.precision, "max_batch": args.max_batch}), flush=True)

    results = {}
    server = Server(args, [])
    try:
        # Warm-up: the first call of each tower packs its weights.
        run_clients(server.port, image_bodies, 4, 30, 8)
        run_clients(server.port, text_bodies, 4, 30, 8)
        if "images" in scenarios:
            results["images"] = report(f"images x{args.clients}", *run_clients(
                server.port, image_bodies, args.clients, args.seconds, args.max_requests, server_pid=server.proc.pid), 1, server.proc.pid, image_bench)
        if "texts" in scenarios:
            results["texts"] = report(f"texts x{args.clients}", *run_clients(
                server.port, text_bodies, args.clients, args.seconds, args.max_requests, server_pid=server.proc.pid), 1, server.proc.pid, text_bench)
        if "soak" in scenarios:
            capacity = results.get("images", {}).get("items_per_s") or image_bench
            # Each client paced so that together they ask for soak_load x capacity.
            pace = args.clients / (args.soak_load * capacity)
            rss_before = rss_mb(server.proc.pid)
            samples = []
            stop = threading.Event()

            def sample():
                while not stop.wait(2):
                    samples.append(rss_mb(server.proc.pid))
            sampler = threading.Thread(target=sample)
            sampler.start()
            row = report(f"soak {args.soak_load:.0%} x{args.soak_seconds:.0f}s", *run_clients(
                server.port, image_bodies, args.clients, args.soak_seconds, 10**9, pace, server_pid=server.proc.pid), 1, server.proc.pid)
            stop.set()
            sampler.join()
            half = samples[len(samples) // 2:] or [rss_before]
            print(json.dumps({"soak_rss_mb_after_warmup": round(rss_before), "soak_rss_mb_max": round(max(samples or [0])),
                              "soak_rss_mb_second_half_growth": round(max(half) - min(half), 1)}), flush=True)
    finally:
        print(json.dumps({"server_exit": server.stop()}), flush=True)

    if "overload" in scenarios:
        server = Server(args, ["--queue", str(args.overload_queue)])
        try:
            run_clients(server.port, image_bodies, 4, 30, 8)
            unloaded = report("unloaded x1", *run_clients(server.port, image_bodies, 1, min(10, args.seconds), 50,
                                                            server_pid=server.proc.pid),
                              1, server.proc.pid)
            rss = []
            stop = threading.Event()

            def sample():
                while not stop.wait(1):
                    rss.append(rss_mb(server.proc.pid))
            sampler = threading.Thread(target=sample)
            sampler.start()
            retry_s = None if args.overload_retry_ms is None else args.overload_retry_ms / 1000
            retry = "Retry-After" if retry_s is None else f"{args.overload_retry_ms:g} ms"
            row = report(f"overload x{args.overload_clients} queue {args.overload_queue}, retry {retry}", *run_clients(
                server.port, image_bodies, args.overload_clients, args.seconds, args.max_requests, retry_s=retry_s,
                server_pid=server.proc.pid),
                1, server.proc.pid)
            stop.set()
            sampler.join()
            loaded = results.get("images", {}).get("p99_ms")
            print(json.dumps({"overload_p99_over_single_client_p99": round(row["p99_ms"] / unloaded["p99_ms"], 2),
                              "overload_p99_over_64_client_p99": round(row["p99_ms"] / loaded, 2) if loaded else None,
                              "overload_rss_mb_max": round(max(rss or [0]))}), flush=True)
        finally:
            print(json.dumps({"server_exit": server.stop()}), flush=True)


if __name__ == "__main__":
    main()
