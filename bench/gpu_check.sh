#!/bin/bash
# gpu_check.sh - the CUDA backend's check on a lent GPU machine, prepared here in two steps.
#
# 1. Here (no GPU needed), after the ClipModel::load dispatch is in the tree:
#      bench/gpu_check.sh package
#    builds build-gpu/ with CUDA (sm_90) and packs the binaries, the shared libraries the GPU
#    image lacks (oneDNN, codecs...) and the ../shared conformance subset into
#    build-gpu-carry/bundle.tar.xz (well under the device tool's 64 MiB carry limit).
# 2. On the device machine (its image has nvcc/cuBLASLt 13, PyTorch, transformers, but not the
#    Debian -dev packages the build needs), with carry ["build-gpu-carry"], timeout ~540 s:
#      bench/gpu_check.sh
#    runs the CUDA tests (fp32 conformance on the GPU, bf16 vs CPU), then zeroclip bf16 against
#    PyTorch bf16 on random full-size ViT-B/32 and ViT-L/14 image towers at batch 256, printing a
#    table. Logs go to $OUT when set.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SRC_DIR=/work/main    # ZEROCLIP_SOURCE_DIR compiled into the tests
SHARED_DIR=/work/shared

if [ "${1:-}" = package ]; then
    set -e
    cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DZEROCLIP_CUDA=ON -DZEROCLIP_NATIVE=OFF \
        -DCMAKE_CUDA_ARCHITECTURES=90 >/dev/null
    cmake --build build-gpu --target zeroclip_cli zeroclip_tests -j2
    rm -rf build-gpu/lib build-gpu/shared build-gpu-carry && mkdir -p build-gpu/lib build-gpu/shared/conformance build-gpu-carry
    # Every shared library except glibc, the C++ runtime and CUDA's own (the GPU image has newer ones).
    ldd build-gpu/zeroclip build-gpu/zeroclip_tests | awk '$3 ~ /^\// {print $3}' | sort -u |
        grep -v -E '/(libc|libm|libpthread|libdl|librt|libresolv|libstdc\+\+|libgcc_s|libcublas|libcublasLt|libcuda)\.so' |
        xargs -I{} cp -L {} build-gpu/lib/
    cp -r $SHARED_DIR/conformance/models $SHARED_DIR/conformance/golden-*.json build-gpu/shared/conformance/
    mkdir -p build-gpu/shared/conformance/images
    /usr/bin/python3 - <<'PY'
import glob, json, shutil
names = set()
for g in glob.glob("/work/shared/conformance/golden-*.json"):
    names.update(json.load(open(g))["images"])
for n in names:
    shutil.copy("/work/shared/conformance/images/" + n, "build-gpu/shared/conformance/images/")
PY
    tar -cJf build-gpu-carry/bundle.tar.xz build-gpu/zeroclip build-gpu/zeroclip_tests build-gpu/lib build-gpu/shared
    ls -la build-gpu-carry/bundle.tar.xz
    exit 0
fi

OUT=${OUT:-/tmp/gpu_check_out}
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu_check.log") 2>&1
section() { echo; echo "=== $* ($(date +%T))"; }

section preflight
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "no nvidia-smi"
[ -f build-gpu-carry/bundle.tar.xz ] || { echo "build-gpu-carry/bundle.tar.xz missing: run 'bench/gpu_check.sh package' here and carry build-gpu-carry"; exit 1; }
tar -xJf build-gpu-carry/bundle.tar.xz
# The tests find their fixtures and the CLI through the paths compiled in.
for link in "$SRC_DIR:$ROOT" "$SHARED_DIR:$ROOT/build-gpu/shared"; do
    path=${link%%:*}; target=${link#*:}
    if [ ! -e "$path" ]; then mkdir -p "$(dirname "$path")" && ln -s "$target" "$path"; fi
done
[ "$(cd $SRC_DIR && pwd -P)" = "$(pwd -P)" ] || echo "WARNING: $SRC_DIR is not this checkout; fixture tests may fail"
CUBLAS_DIR=$(dirname "$(find /usr/local/cuda*/ /usr/lib /opt /usr/local/lib -name 'libcublasLt.so.13*' 2>/dev/null | head -1)")
echo "cuBLASLt from $CUBLAS_DIR"
ZC_LIBS="$ROOT/build-gpu/lib:$CUBLAS_DIR"
zc() { LD_LIBRARY_PATH="$ZC_LIBS" "$@"; }
export ZEROCLIP_SHARED=$ROOT/build-gpu/shared

section "CUDA tests (host logic, fp32 conformance on the GPU, bf16 vs CPU)"
zc build-gpu/zeroclip_tests --gtest_filter='*Cuda*:*Backend*' 2>&1 | grep -E '^\[ (cuda|tiny|clip|.*on CUDA)|OK|FAILED|SKIPPED|PASSED|Failure|Expected|Which is|actual' | head -80

section "random full-size models"
MODELS=/tmp/zeroclip-models
/usr/bin/env python3 bench/make_random_clip.py --out $MODELS --models vit-b-32,vit-l-14 || echo "make_random_clip failed"

section "image tower, batch 256: zeroclip (CUDA) vs PyTorch on the same GPU"
RESULTS=$OUT/bench.jsonl
: > "$RESULTS"
for m in vit-b-32 vit-l-14; do
    dir=$MODELS/random-clip-$m
    for p in bf16 fp32; do
        [ $m = vit-l-14 ] && [ $p = fp32 ] && continue  # bf16 is the target; fp32 B/32 shows the parity mode's cost
        r=$(zc timeout 120 build-gpu/zeroclip bench -m "$dir" --device cuda --precision $p --batch-size 256 \
            --images 1024 --json 2>&1 | tail -1)
        echo "zeroclip $m $p: $r"
        echo "{\"impl\":\"zeroclip $p\",\"model\":\"$m\",\"result\":$r}" >> "$RESULTS" 2>/dev/null
    done
    r=$(timeout 180 python3 bench/torch_gpu_bench.py "$dir" --batch 256 --iters 10 2>&1 | tail -1)
    echo "torch $m bf16: $r"
    echo "{\"impl\":\"torch bf16\",\"model\":\"$m\",\"result\":$r}" >> "$RESULTS" 2>/dev/null
done

section summary
python3 - "$RESULTS" <<'PY'
import json, sys
print(f"{'model':10} {'implementation':30} {'images/s':>10} {'ms/batch':>10}  notes")
for line in open(sys.argv[1]):
    try:
        row = json.loads(line)
        r = row["result"]
        note = r.get("isa") or r.get("impl", "")
        print(f"{row['model']:10} {row['impl']:30} {r['images_per_s']:10.0f} {r['ms_per_batch']:10.1f}  {note}")
    except Exception as e:
        print("unparsed:", line.strip()[:200])
print("target: ViT-L/14 image tower >= 3000 images/s in bf16 at batch 256 on an H100")
PY
