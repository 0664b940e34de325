#!/usr/bin/env bash
# The README's first command: set up a fresh Debian 12 machine, build ctel,
# and run the main job — an instrumented example service whose spans are
# printed as OTLP/JSON lines.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/install-deps.sh
cmake -S . -B build/demo -DCMAKE_BUILD_TYPE=Release -DCTEL_BUILD_TESTS=OFF >/dev/null
cmake --build build/demo -j"$(nproc)" --target example_hello_trace >/dev/null
echo "== hello_trace: three requests of an instrumented service (OTLP/JSON, one line per batch) =="
OTEL_SERVICE_NAME=${OTEL_SERVICE_NAME:-hello-trace} OTEL_TRACES_EXPORTER=${OTEL_TRACES_EXPORTER:-console} \
  ./build/demo/examples/hello_trace
