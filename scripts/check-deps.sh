#!/usr/bin/env bash
# Proves that scripts/install-deps.sh installs everything the build used: every header, library and
# CMake file the build read (the compiler's dependency files, CMake's cached find results and
# package directories, the link lines) is mapped to its Debian package with `dpkg -S`, and each
# package must be in install-deps.sh's list, pulled in by it (Depends / Pre-Depends, recursively, as
# `apt-get install --no-install-recommends` would), or part of Debian's base system (Priority
# required or important, or Essential). CI machines have everything installed already; without
# this check a forgotten package only fails on a user's fresh machine.
#
# usage: scripts/check-deps.sh [--build DIR] [--without PACKAGE]...
#   --without drops a package from install-deps.sh's list, to show that the check catches it.
# The optional CUDA toolkit (not a Debian package install-deps.sh installs) is left out.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build
without=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --without) without+=("$2"); shift 2 ;;
    *) echo "check-deps: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -f "$build/CMakeCache.txt" ] || { echo "check-deps: $build/CMakeCache.txt not found: build first" >&2; exit 2; }
build=$(cd "$build" && pwd)
# the sources that build was configured from (not necessarily this checkout)
repo=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build/CMakeCache.txt")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1. The packages install-deps.sh lists (the words of its packages=( ... ) array, comments dropped).
sed -n '/^packages=(/,/^)/p' scripts/install-deps.sh | sed 's/#.*//; s/packages=(//; s/)//' | tr -s ' \t' '\n' |
  grep -v '^$' | sort -u >"$tmp/listed"
for p in "${without[@]}"; do grep -vx -- "$p" "$tmp/listed" >"$tmp/listed.new" || true; mv "$tmp/listed.new" "$tmp/listed"; done

# 2. What installing them pulls in, and the base system.
{
  cat "$tmp/listed"
  apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces \
    --no-enhances $(cat "$tmp/listed") 2>/dev/null | grep -v '^ ' | tr -d '<>'
  dpkg-query -W -f='${Package} ${Priority} ${Essential}\n' |
    awk '$2 == "required" || $2 == "important" || $3 == "yes" { print $1 }'
} | sed 's/:.*//' | sort -u >"$tmp/allowed"

# 3. Every file the build read outside the repository.
{
  # compiler dependency files: "target.o: dep dep \" lines
  find "$build" -name '*.d' -type f -exec cat {} + | tr ' \\' '\n\n' | grep '^/' || true
  # every CMake file the configure step read (modules, package configs), as CMake lists them to
  # know when to re-run itself (Makefiles: CMakeFiles/Makefile.cmake; Ninja: build.ninja)
  if [ -f "$build/CMakeFiles/Makefile.cmake" ]; then
    sed -n '/^set(CMAKE_MAKEFILE_DEPENDS/,/^ *)/p' "$build/CMakeFiles/Makefile.cmake" | grep -o '"/[^"]*"' | tr -d '"'
  fi
  if [ -f "$build/build.ninja" ]; then
    grep -A1 '^build build.ninja' "$build/build.ninja" | tr ' ' '\n' | grep '^/' || true
  fi
  # CMake's found files (libraries, programs)
  grep -E '^[A-Za-z0-9_.+-]+:FILEPATH=/' "$build/CMakeCache.txt" | grep -Ev '^(CMAKE_CUDA|CUDA|CUDAToolkit)' |
    sed 's/^[^=]*=//'
  # link lines: libraries by path, and -lNAME as the compiler finds it
  find "$build" -name link.txt -type f -exec cat {} + | tr ' ' '\n' | grep -E '^/.*\.(so|a)(\.[0-9.]+)?$' || true
  find "$build" -name link.txt -type f -exec cat {} + | tr ' ' '\n' | sed -n 's/^-l//p' | sort -u | while read -r lib; do
    c++ -print-file-name="lib$lib.so"
  done
} | grep -v -e "^$repo/" -e "^$build/" -e '^/usr/local/cuda' | grep '^/' | sort -u >"$tmp/files"

# 4. Owners, in one dpkg call. A file counts as its first name that a package owns: as written
#    (a library's dev symlink belongs to the -dev package, its target to the runtime one), then
#    without the /usr prefix (merged /usr: packages may register either), then resolved through
#    symlinks (/usr/bin/c++ is an alternatives link).
while read -r f; do
  printf '%s\t1\t%s\n' "$f" "$f"
  case "$f" in /usr/lib/* | /usr/bin/* | /usr/sbin/*) printf '%s\t2\t%s\n' "$f" "${f#/usr}" ;; esac
  printf '%s\t3\t%s\n' "$f" "$(readlink -f "$f")"
done <"$tmp/files" >"$tmp/candidates"
cut -f3 "$tmp/candidates" | sort -u | xargs -r dpkg -S 2>/dev/null | grep -v '^diversion by' |
  awk -F': ' '{ n = split($1, pkgs, ", "); for (i = 1; i <= n; i++) { sub(/:.*/, "", pkgs[i]); print $2 "\t" pkgs[i] } }' |
  sort -u >"$tmp/owners" || true

# 5. Every file needs an owner that is allowed. Files read only optionally are left out: GTest's
#    config includes GMock's targets when libgmock-dev happens to be installed.
awk -F'\t' -v allowed="$tmp/allowed" -v owners="$tmp/owners" '
  BEGIN {
    while ((getline p < allowed) > 0) ok[p] = 1
    while ((getline line < owners) > 0) { split(line, f, "\t"); owner[f[1]] = owner[f[1]] (owner[f[1]] ? " " : "") f[2] }
  }
  $1 ~ /\/cmake\/GTest\/GMockTargets[^\/]*\.cmake$/ { next }
  { if (!($1 in best) || $2 < rank[$1]) if (owner[$3] != "") { best[$1] = owner[$3]; rank[$1] = $2 }; files[$1] = 1 }
  END {
    for (file in files) {
      if (!(file in best)) { printf "check-deps: %s is read by the build, but belongs to no Debian package\n", file; bad++; continue }
      m = split(best[file], pkgs, " "); good = 0
      for (j = 1; j <= m; j++) if (ok[pkgs[j]]) good = 1
      if (!good) {
        printf "check-deps: %s (package %s) is read by the build, but %s is neither in scripts/install-deps.sh, nor pulled in by it, nor part of the base system\n", file, pkgs[1], pkgs[1]
        bad++
      }
    }
    exit bad ? 1 : 0
  }' "$tmp/candidates" | sort || { echo "check-deps: FAILED" >&2; exit 1; }
echo "check-deps: all $(wc -l <"$tmp/files") system files the build read come from packages that scripts/install-deps.sh installs ($(wc -l <"$tmp/listed") listed) or the base system"
