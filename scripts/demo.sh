#!/usr/bin/env bash
# The README's first command: set up a fresh Debian 12 machine, build ctel,
# and run the main job: a local OTLP/HTTP receiver (`ctel sink --print`) on
# loopback, an instrumented example service (examples/hello_trace) exporting
# its spans to it over OTLP/HTTP, and the trace trees the receiver got.
#
#   scripts/demo.sh                   set up, build in build/demo, run
#   scripts/demo.sh --prebuilt DIR    run with the binaries of an existing
#                                     build (scripts/test-all.sh does this)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if [ "${1:-}" = "--prebuilt" ]; then
  build="${2:?usage: demo.sh --prebuilt BUILD_DIR}"
else
  build=build/demo
  bash scripts/install-deps.sh
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCTEL_BUILD_TESTS=OFF -DCTEL_BUILD_BENCH=OFF >/dev/null
  cmake --build "$build" -j"$(nproc)" --target ctel_tool example_hello_trace >/dev/null
fi

tmp=$(mktemp -d)
sink_pid=""
cleanup() {
  [ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

echo "== ctel sink: a local OTLP/HTTP receiver on 127.0.0.1 (any free port) =="
"$build/ctel" sink --http 127.0.0.1:0 --print --ready-file "$tmp/addr" >"$tmp/sink.out" 2>"$tmp/sink.err" &
sink_pid=$!
for _ in $(seq 100); do
  [ -s "$tmp/addr" ] && break
  kill -0 "$sink_pid" 2>/dev/null || { cat "$tmp/sink.err" >&2; exit 1; }
  sleep 0.05
done
[ -s "$tmp/addr" ] || { echo "demo: the sink did not start" >&2; cat "$tmp/sink.err" >&2; exit 1; }
addr=$(cat "$tmp/addr")
echo "listening on http://$addr"

echo "== ctel probe: is it ready? =="
"$build/ctel" probe --endpoint "http://$addr" --timeout 2000

echo "== hello_trace: three requests of an instrumented service, exported over OTLP/HTTP =="
status=0
OTEL_SERVICE_NAME=${OTEL_SERVICE_NAME:-hello-trace} OTEL_TRACES_EXPORTER=otlp \
  OTEL_EXPORTER_OTLP_ENDPOINT="http://$addr" OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf \
  "$build/examples/hello_trace" 2>"$tmp/hello.err" || status=$?
cat "$tmp/hello.err" >&2

kill -INT "$sink_pid"
wait "$sink_pid" || true
sink_pid=""
echo "== what the receiver got =="
cat "$tmp/sink.out"
cat "$tmp/sink.err"
# the receiver must have every span the example ended (the example itself
# checks that its exporter saw them delivered)
ended=$(sed -n 's/^hello_trace: \([0-9][0-9]*\) spans ended.*/\1/p' "$tmp/hello.err")
accepted=$(sed -n 's/.*requests, \([0-9][0-9]*\) spans accepted.*/\1/p' "$tmp/sink.err")
if [ -z "$ended" ] || [ "$ended" = 0 ] || [ "$accepted" != "$ended" ]; then
  echo "demo: the example ended ${ended:-?} spans, the receiver accepted ${accepted:-?}" >&2
  status=1
fi
exit $status
