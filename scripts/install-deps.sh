#!/usr/bin/env bash
# Installs the Debian packages zeroclip builds and tests with (Debian 12 or later).
set -euo pipefail
packages=(
  build-essential cmake pkg-config
  libdnnl-dev                      # oneDNN: matmul / attention kernels (AVX-512, AMX)
  ocl-icd-opencl-dev               # oneDNN's CMake config runs FindOpenCL (libdnnl-dev only recommends it)
  libjpeg62-turbo-dev libpng-dev libwebp-dev libgif-dev   # image decoders
  libutf8proc-dev libpcre2-dev     # tokenizer: Unicode normalisation, CLIP's split regex
  libsentencepiece-dev             # SigLIP's tokenizer: the SentencePiece library transformers' SiglipTokenizer runs
  nlohmann-json3-dev libcli11-dev  # JSON (configs, safetensors headers), command line
  libcurl4-openssl-dev             # downloading models from the Hugging Face Hub
  libsqlite3-dev                   # the photo index's database (zeroclip index / search / dedup)
  libhnswlib-dev                   # approximate nearest-neighbour search over the index (header-only)
  libxxhash-dev                    # checksums of the packed-weight cache (XXH3: GB/s, so every load verifies)
  libcpp-httplib-dev               # zeroclip serve: the HTTP server (and the tests' HTTP client)
  libgtest-dev                     # tests
  python3                          # tests: the tokenizer's lowercasing against Python's str.lower
  pybind11-dev python3-dev python3-numpy   # the Python module `zeroclip` (bindings, numpy arrays)
  python3-distributed              # zeroclip.dask: embedding jobs on a Dask cluster
  python3-pytest                   # the Python module's tests
  chromium chromium-driver         # tests: the web page of zeroclip serve in headless Chromium
)
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
