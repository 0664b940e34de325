#!/usr/bin/env bash
# The README's test command (and what CI runs): installs the Debian 12
# packages ctel needs, then
#   release   Release build, warnings as errors, all tests
#   symbols   libctel.so exports only the public ctel_* API
#   conformance  protobuf and JSON encodings decoded with the official OTLP
#             schema (../shared/reference), compared field by field
#   package   `cmake --install` to a temp prefix; a consumer project builds
#             against it with find_package(ctel) and with pkg-config
#   example   the main job: the example service exports over OTLP/HTTP to
#             `ctel sink --print` (scripts/demo.sh on the release build)
#   asan      Debug build under AddressSanitizer + UBSan (leaks included), all tests
#   tsan      build under ThreadSanitizer (clang), all tests but those labelled
#             no-tsan (see tests/CMakeLists.txt for the label and its rules)
#   fuzz      libFuzzer targets (tests/fuzz: propagation headers, Collector
#             answers, environment configuration, spill files left on disk)
#             under ASan + UBSan, 20 s each from their seed corpora
#             (scripts/fuzz.sh)
# Every stage runs even when an earlier one failed (unless it needs that
# stage's build), so one run shows every problem. Exit status is non-zero if
# any stage failed. The last line sums the tests of every ctest run:
# "test-all: N passed, M failed" (a stage that failed before its tests could
# run counts as one failure there).
#
#   scripts/test-all.sh          everything
#   scripts/test-all.sh --quick  the Release build and its tests only
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

quick=0
case "${1:-}" in
  "") ;;
  --quick) quick=1 ;;
  -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
  *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
esac

jobs=2 # the machines have 2 cores
logdir="$root/build/ci-logs"
mkdir -p "$logdir"
summary=()
failed_stages=0
tests_passed=0
tests_failed=0
declare -A stage_ok=()

# run_ctest BUILD_DIR [ctest args...]: runs the suite, output visible, and adds
# its counts to the totals. Fails when any test fails or none ran.
run_ctest() {
  local dir=$1
  shift
  local log="$logdir/$(basename "$dir").ctest.log"
  ctest --test-dir "$dir" --output-on-failure --no-tests=error -j"$jobs" "$@" 2>&1 | tee "$log"
}

count_ctest() {
  local log="$logdir/$1.ctest.log" line total failed
  [ -f "$log" ] || return 1
  line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1) || return 1
  failed=$(sed -E 's/.* ([0-9]+) tests? failed out of.*/\1/' <<<"$line")
  total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
  tests_passed=$((tests_passed + total - failed))
  tests_failed=$((tests_failed + failed))
}

# stage NAME [CTEST_BUILD_DIR_NAME] -- FUNCTION: runs FUNCTION with `set -e`
# in a subshell and records the outcome.
stage() {
  local name=$1 ctest_name=$2 fn=$3 rc start=$SECONDS
  echo
  echo "==== [$name] ===="
  [ -n "$ctest_name" ] && rm -f "$logdir/$ctest_name.ctest.log"
  set +e
  (set -euo pipefail; "$fn")
  rc=$?
  set -e
  local secs=$((SECONDS - start))
  if [ -n "$ctest_name" ] && ! count_ctest "$ctest_name"; then
    [ $rc -ne 0 ] && tests_failed=$((tests_failed + 1))
  fi
  if [ $rc -eq 0 ]; then
    stage_ok[$name]=1
    summary+=("$(printf 'test-all: %-8s PASS  (%ds)' "$name" "$secs")")
  else
    failed_stages=$((failed_stages + 1))
    summary+=("$(printf 'test-all: %-8s FAIL  (%ds, exit %d)' "$name" "$secs" "$rc")")
  fi
  echo "==== [$name] $([ $rc -eq 0 ] && echo passed || echo FAILED) in ${secs}s ===="
}

skip() {
  summary+=("$(printf 'test-all: %-8s SKIP  (needs %s)' "$1" "$2")")
  failed_stages=$((failed_stages + 1))
}

finish() {
  echo
  echo "==== summary ===="
  printf '%s\n' "${summary[@]}"
  if [ $failed_stages -eq 0 ]; then
    echo "test-all: every stage passed"
  else
    echo "test-all: $failed_stages stage(s) failed or skipped"
  fi
  echo "test-all: $tests_passed passed, $tests_failed failed"
  [ $failed_stages -eq 0 ]
}

s_deps() { bash scripts/install-deps.sh; }

s_release() {
  cmake -S . -B build/ci-release -DCMAKE_BUILD_TYPE=Release -DCTEL_WERROR=ON
  cmake --build build/ci-release -j"$jobs"
  touch "$logdir/release.built" # symbols/package/example need only the build
  run_ctest build/ci-release
}

s_symbols() { bash scripts/check-symbols.sh build/ci-release; }

# The encodings against the official OTLP schema in ../shared/reference
# (protoc --decode and python3-protobuf's json_format). Outside CI a missing
# reference directory is a visible SKIP; with CI=1 (.ci/run) it fails.
s_conformance() { bash scripts/conformance.sh build/ci-release; }

s_package() {
  local prefix="$root/build/ci-prefix" out="$root/build/ci-consumer"
  rm -rf "$prefix" "$out"
  cmake --install build/ci-release --prefix "$prefix"
  # CMake package: ctel::ctel (shared) and ctel::ctel_static
  cmake -S tests/package -B "$out" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release
  cmake --build "$out" -j"$jobs"
  LD_LIBRARY_PATH="$prefix/lib" "$out/consumer"
  "$out/consumer_static"
  # pkg-config, as a Makefile user would
  export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
  pkg-config --validate ctel
  # shellcheck disable=SC2046 # word splitting of the flags is intended
  cc -std=c11 -Wall -Werror tests/package/main.c -o "$out/consumer_pc" \
    $(pkg-config --cflags --libs ctel)
  LD_LIBRARY_PATH="$prefix/lib" "$out/consumer_pc"
  # the installed library must not need the build tree
  ! ldd "$out/consumer_pc" | grep -q "$root/build/ci-release"
}

s_example() {
  # the main job (README's first command) on the release build's binaries
  bash scripts/demo.sh --prebuilt build/ci-release
}

s_asan() {
  cmake -S . -B build/ci-asan -DCMAKE_BUILD_TYPE=Debug -DCTEL_WERROR=ON \
    -DCTEL_SANITIZE=address,undefined -DCTEL_BUILD_BENCH=OFF
  cmake --build build/ci-asan -j"$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    run_ctest build/ci-asan
}

s_tsan() {
  # clang's TSan runtime (libclang-rt-14-dev); a separate compiler needs its
  # own build dir, so CC is only read here on first configure.
  CC=clang cmake -S . -B build/ci-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCTEL_WERROR=ON \
    -DCTEL_SANITIZE=thread -DCTEL_BUILD_BENCH=OFF
  cmake --build build/ci-tsan -j"$jobs"
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    run_ctest build/ci-tsan -LE no-tsan
}

s_fuzz() { bash scripts/fuzz.sh 20; }

stage deps "" s_deps
[ -n "${stage_ok[deps]:-}" ] || { finish || true; exit 1; }
rm -f "$logdir/release.built"
stage release ci-release s_release
if [ $quick = 1 ]; then
  finish
  exit
fi
if [ -f "$logdir/release.built" ]; then
  stage symbols "" s_symbols
  stage conformance "" s_conformance
  stage package "" s_package
  stage example "" s_example
else
  skip symbols "the release build"
  skip conformance "the release build"
  skip package "the release build"
  skip example "the release build"
fi
stage asan ci-asan s_asan
stage tsan ci-tsan s_tsan
stage fuzz "" s_fuzz
finish
