#!/usr/bin/env bash
# Fails if libctel.so exports anything but the public ctel_* API (internal
# ctel__* names and third-party or generated symbols must stay hidden).
set -euo pipefail
lib=$(find "${1:?usage: check-symbols.sh BUILD_DIR}" -name 'libctel.so.*.*.*' | head -n 1)
[ -n "$lib" ] || { echo "check-symbols: no libctel.so under $1" >&2; exit 1; }
bad=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v -E '^ctel_[a-z0-9]' || true)
count=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -c -E '^ctel_[a-z0-9]' || true)
if [ -n "$bad" ]; then
  echo "check-symbols: $lib exports symbols outside the public API:" >&2
  echo "$bad" >&2
  exit 1
fi
echo "check-symbols: $count public ctel_* symbols exported, nothing else"
