#!/usr/bin/env bash
# Usage: scripts/check-symbols.sh BUILD_DIR
# Fails unless libctel.so exports exactly the public API: every defined
# dynamic symbol must be ctel_<name>. Internal ctel__* functions, generated
# protobuf-c code (opentelemetry__proto__*, google__*) and anything from a
# statically linked dependency must stay hidden, or users could bind to them
# and we could never change them.
set -euo pipefail
dir="${1:?usage: check-symbols.sh BUILD_DIR}"
lib="$dir/libctel.so"
[ -e "$lib" ] || lib=$(find "$dir" -maxdepth 2 -name 'libctel.so' | head -n 1)
[ -n "$lib" ] && [ -e "$lib" ] || { echo "check-symbols: no libctel.so in $dir" >&2; exit 1; }
syms=$(nm -D --defined-only "$lib" | awk 'NF >= 3 {print $3}' | sed 's/@.*//' | sort -u)
public=$(grep -E '^ctel_[A-Za-z0-9]' <<<"$syms" || true)
bad=$(grep -v -E '^ctel_[A-Za-z0-9]' <<<"$syms" | grep -v '^$' || true)
count=$(grep -c . <<<"$public" || true)
if [ -n "$bad" ]; then
  echo "check-symbols: $lib exports $(grep -c . <<<"$bad") symbol(s) outside the public ctel_* API:" >&2
  sed 's/^/  /' <<<"$bad" >&2
  exit 1
fi
if [ "$count" -eq 0 ]; then
  echo "check-symbols: $lib exports no ctel_* symbol (is CTEL_API broken?)" >&2
  exit 1
fi
echo "check-symbols: $count public ctel_* symbols exported, nothing else"
