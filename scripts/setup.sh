#!/usr/bin/env bash
# One command from a fresh clone: install the Debian dependencies and build build/zeroclip.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"
echo "built: $(pwd)/build/zeroclip and the Python module (PYTHONPATH=$(pwd)/build/python)"
