#!/usr/bin/env bash
# Runs every benchmark in bench/ from a Release build and prints their
# "BENCH <name> <value> <unit>" lines. Extra arguments go to each benchmark
# (e.g. --runs 7). See docs/PERFORMANCE.md for results and the machine.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/install-deps.sh
cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DCTEL_BUILD_TESTS=OFF >/dev/null
cmake --build build/bench -j"$(nproc)" >/dev/null
for b in build/bench/bench/bench_*; do
  [ -x "$b" ] || continue
  echo "== $(basename "$b")" >&2
  "$b" "$@"
done
