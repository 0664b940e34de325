#!/usr/bin/env bash
# Wire conformance of the OTLP encoders against the official schema.
#
#   scripts/conformance.sh BUILD_DIR
#
# BUILD_DIR is a configured and built ctel build tree (it must contain
# tests/conformance/ctel_conformance_write_batch). The program writes one rich
# batch (tests/conformance/rich_batch.h) as OTLP protobuf and as OTLP/JSON;
# this script decodes both with the official opentelemetry-proto schema in
# ../shared/reference/opentelemetry-proto (relative to the repository root),
# independently of the project's own proto/ and protobuf-c:
#   - protobuf: protoc --decode, printing the text format;
#   - JSON: python3 with google.protobuf (Debian: python3-protobuf), modules
#     generated from the reference schema, json_format.Parse into the official
#     ExportTraceServiceRequest, printed with text_format.
# Both texts must equal tests/conformance/expected_batch.txtpb (written by
# hand from the batch definition); a difference fails with the diff.
#
# Outside CI a missing reference directory skips the check with a visible
# message; in CI (CI set and non-empty) it is a failure.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "$1" && pwd)
ref_rel=../shared/reference/opentelemetry-proto
ref="$root/$ref_rel"
expected="$root/tests/conformance/expected_batch.txtpb"
writer="$build/tests/conformance/ctel_conformance_write_batch"

if [ ! -d "$ref" ]; then
  if [ -n "${CI:-}" ]; then
    echo "conformance: FAILED — $ref_rel not found (required in CI)" >&2
    exit 1
  fi
  echo "conformance: SKIPPED — $ref_rel not found"
  exit 0
fi
ref=$(cd "$ref" && pwd)

fail() {
  echo "conformance: FAILED — $*" >&2
  exit 1
}
command -v protoc >/dev/null || fail "protoc not found (scripts/install-deps.sh: protobuf-compiler)"
# Debian's python3-protobuf lives in the system interpreter; a python3 earlier
# in PATH (pyenv, a virtualenv) may not see it.
python=
for p in python3 /usr/bin/python3; do
  if command -v "$p" >/dev/null && "$p" -c 'import google.protobuf' 2>/dev/null; then
    python=$p
    break
  fi
done
[ -n "$python" ] ||
  fail "no python3 can import google.protobuf (scripts/install-deps.sh: python3-protobuf)"
[ -x "$writer" ] || fail "$writer not built (build the ctel_conformance_write_batch target)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$writer" "$tmp/batch.pb" "$tmp/batch.json" || fail "ctel_conformance_write_batch failed"

# ---- protobuf: the official schema decodes the bytes --------------------------
protoc --decode=opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest \
  -I "$ref" "$ref/opentelemetry/proto/collector/trace/v1/trace_service.proto" \
  <"$tmp/batch.pb" >"$tmp/proto.txtpb" 2>"$tmp/protoc.err" ||
  fail "protoc --decode rejected the protobuf batch: $(cat "$tmp/protoc.err")"

# ---- JSON: the official schema's JSON mapping parses the document --------------
mkdir "$tmp/py"
(cd "$ref" && find opentelemetry -name '*.proto' -print0 | sort -z |
  xargs -0 protoc -I "$ref" --python_out="$tmp/py") || fail "protoc --python_out failed"
cat >"$tmp/json_to_text.py" <<'EOF'
import base64
import json
import sys

from google.protobuf import json_format, text_format
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2


def hex_to_base64(obj, key):
    # OTLP/JSON deviates from the proto3 JSON mapping for trace and span ids:
    # they are hex strings, where proto3 JSON (and json_format) expects base64
    # for bytes fields. The OTLP specification says a receiver decodes them
    # as hex, so convert exactly these fields before handing the document to
    # the generic parser. Everything else (lowerCamelCase keys, integer enums,
    # 64-bit integers as strings, base64 bytesValue) is plain proto3 JSON.
    if key in obj:
        obj[key] = base64.b64encode(bytes.fromhex(obj[key])).decode("ascii")


doc = json.load(open(sys.argv[1], encoding="utf-8"))
for rs in doc.get("resourceSpans", []):
    for ss in rs.get("scopeSpans", []):
        for span in ss.get("spans", []):
            for key in ("traceId", "spanId", "parentSpanId"):
                hex_to_base64(span, key)
            for link in span.get("links", []):
                for key in ("traceId", "spanId"):
                    hex_to_base64(link, key)

msg = trace_service_pb2.ExportTraceServiceRequest()
json_format.Parse(json.dumps(doc), msg)  # strict: unknown keys are errors
sys.stdout.write(text_format.MessageToString(msg))
EOF
PYTHONPATH="$tmp/py" "$python" "$tmp/json_to_text.py" "$tmp/batch.json" >"$tmp/json.txtpb" \
  2>"$tmp/python.err" || fail "the official JSON mapping rejected the JSON batch: $(cat "$tmp/python.err")"

# ---- compare field by field (one field per line) --------------------------------
status=0
for form in proto json; do
  if diff -u --label expected_batch.txtpb --label "decoded $form" \
    "$expected" "$tmp/$form.txtpb" >"$tmp/$form.diff"; then
    echo "conformance: $form form matches expected_batch.txtpb ($(wc -l <"$expected") lines)"
  else
    echo "conformance: $form form differs from expected_batch.txtpb:" >&2
    cat "$tmp/$form.diff" >&2
    status=1
  fi
done
if [ $status -ne 0 ]; then
  fail "decoded batch differs from tests/conformance/expected_batch.txtpb"
fi
echo "conformance: PASSED (official schema: $ref_rel)"
