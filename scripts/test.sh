#!/usr/bin/env bash
# Builds (if needed) and runs every test. Tests that need ../shared skip with a message
# when it is absent; the committed fixtures cover each feature either way.
#
#   scripts/test.sh [CTEST ARGS...]             the normal build in build/
#   scripts/test.sh --sanitize [CTEST ARGS...]  the whole suite under AddressSanitizer + UBSan,
#                                               in build-sanitize/ (CPU only; any report fails;
#                                               without the Python module, which would need the
#                                               ASan runtime preloaded into python3)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--sanitize" ]; then
    shift
    launcher=()
    if command -v ccache >/dev/null; then
        launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    fi
    # -O1 without NDEBUG: quicker to compile than -O3 (CI time), keeps the asserts, and gives
    # readable sanitizer reports at usable speed.
    cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE=-O1 -DCMAKE_C_FLAGS_RELEASE=-O1 \
        -DZEROCLIP_SANITIZE=ON -DZEROCLIP_CUDA=OFF -DZEROCLIP_PYTHON=OFF \
        -DZEROCLIP_BUILD_TESTS=ON -DZEROCLIP_EXAMPLES=ON "${launcher[@]}"
    cmake --build build-sanitize -j"$(nproc)"
    # halt_on_error makes every UBSan finding fail its test (UBSan only prints by default).
    export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:${ASAN_OPTIONS:-}"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"
    ctest --test-dir build-sanitize --output-on-failure -j"$(nproc)" "$@"
    exit
fi
[ -x build/zeroclip ] || scripts/setup.sh
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure -j"$(nproc)" "$@"
