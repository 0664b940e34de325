#!/usr/bin/env bash
# Runs every benchmark in bench/ from a Release build and prints their
# "BENCH <name> <value> <unit>" lines. Extra arguments go to each benchmark
# (e.g. --runs 7). See docs/PERFORMANCE.md for results and the machine.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/install-deps.sh
# Its own tree: a default `cmake -B build` puts bench/ at build/bench.
cmake -S . -B build/bench-release -DCMAKE_BUILD_TYPE=Release -DCTEL_BUILD_TESTS=OFF >/dev/null
cmake --build build/bench-release -j"$(nproc)" >/dev/null
for b in build/bench-release/bench/bench_*; do
  case "$b" in *_instr|*/bench_otlp_http|*/bench_resilience) continue ;; esac
  [ -x "$b" ] || continue
  echo "== $(basename "$b")" >&2
  "$b" "$@"
done

# End to end over OTLP/HTTP: a receiver in its own process (`ctel sink
# --discard`) on loopback; 10,000,000 spans per run, protobuf, plain and gzip.
tmp=$(mktemp -d)
build/bench-release/ctel sink --discard --http 127.0.0.1:0 --ready-file "$tmp/addr" 2>"$tmp/sink.err" &
sink_pid=$!
trap 'kill $sink_pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do [ -s "$tmp/addr" ] && break; sleep 0.05; done
endpoint="http://$(cat "$tmp/addr")/v1/traces"
echo "== bench_otlp_http (receiver: ctel sink --discard at $endpoint)" >&2
build/bench-release/bench/bench_otlp_http --endpoint "$endpoint" --spans 10000000 --direct --tag _direct 2>/dev/null
build/bench-release/bench/bench_otlp_http --endpoint "$endpoint" --spans 10000000 2>/dev/null
build/bench-release/bench/bench_otlp_http --endpoint "$endpoint" --spans 10000000 --gzip --tag _gzip 2>/dev/null
# What an outage costs the application thread (healthy / hung / down / spill).
echo "== bench_resilience" >&2
build/bench-release/bench/bench_resilience --endpoint "$endpoint" "$@" 2>/dev/null
kill -INT $sink_pid
wait $sink_pid 2>/dev/null || true
echo "receiver: $(tail -n 1 "$tmp/sink.err")" >&2

# Instruction counts (repeatable on a noisy machine): callgrind over the span
# API alone, per span.
if command -v valgrind >/dev/null; then
  for mode in sampled unsampled unsampled_bare; do
    out=$(mktemp)
    spans=$(valgrind --tool=callgrind --toggle-collect=measured_loop \
      --callgrind-out-file="$out" build/bench-release/bench/bench_span_instr "$mode" 100000 2>/dev/null)
    total=$(callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
    rm -f "$out"
    echo "BENCH span_${mode}_instructions $(( total / spans )) instr/span"
  done
fi
