#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang + ASan + UBSan) and runs
# each one for SECONDS (default 20) from its seed corpus in
# tests/fuzz/corpus/<name>/. A crash, leak, hang (> 5 s per input) or failed
# property check fails the script; the input that did it is kept in
# build/ci-logs/fuzz/ and the fuzzer's output is printed.
#
#   scripts/fuzz.sh            every target, 20 s each
#   scripts/fuzz.sh 300        every target, 5 min each
#   scripts/fuzz.sh 60 spill   one target
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
seconds=${1:-20}
only=${2:-}
build=build/ci-fuzz
out="$root/build/ci-logs/fuzz"
mkdir -p "$out"
CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCTEL_WERROR=ON \
  -DCTEL_SANITIZE=address,undefined -DCTEL_BUILD_FUZZ=ON -DCTEL_BUILD_TESTS=OFF \
  -DCTEL_BUILD_BENCH=OFF -DCTEL_BUILD_EXAMPLES=OFF -DCTEL_BUILD_TOOLS=OFF >/dev/null
cmake --build "$build" -j2 >/dev/null
failed=0
for seeds in tests/fuzz/corpus/*/; do
  name=$(basename "$seeds")
  [ -n "$only" ] && [ "$only" != "$name" ] && continue
  bin="$build/tests/fuzz/fuzz_$name"
  work=$(mktemp -d)
  cp "$seeds"* "$work/"
  log="$out/$name.log"
  # the seeds first (each must pass as it is), then new inputs for $seconds
  if ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
     "$bin" "$work" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=4096 \
       -artifact_prefix="$out/$name-" -print_final_stats=1 >"$log" 2>&1; then
    echo "fuzz: $name PASS ($(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$') inputs in ${seconds}s)"
  else
    failed=$((failed + 1))
    echo "fuzz: $name FAIL (input kept under $out/$name-*)"
    tail -n 40 "$log"
  fi
  rm -rf "$work"
done
[ $failed -eq 0 ]
