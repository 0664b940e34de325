#!/usr/bin/env bash
# The README's test command: sets up a fresh Debian 12 machine and runs every
# test: a Release build with warnings as errors, the exported-symbol check,
# a consumer build against the installed package (CMake and pkg-config), the
# example service, then the whole suite under ASan+UBSan and under TSan.
#   scripts/test-all.sh          everything (what CI runs)
#   scripts/test-all.sh --quick  the Release build and its tests only
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
quick=0
[ "${1:-}" = "--quick" ] && quick=1
jobs=$(nproc)
summary=()
stage() { echo; echo "==== $* ===="; }

bash scripts/install-deps.sh

stage "release build (warnings as errors)"
cmake -S . -B build/ci-release -DCMAKE_BUILD_TYPE=Release -DCTEL_WERROR=ON >/dev/null
cmake --build build/ci-release -j"$jobs"
stage "release tests"
ctest --test-dir build/ci-release --output-on-failure -j"$jobs"
summary+=("release: ok")
[ $quick = 1 ] && { printf '%s\n' "${summary[@]}"; exit 0; }

stage "exported symbols"
bash scripts/check-symbols.sh build/ci-release
summary+=("symbols: ok")

stage "install + consumer (CMake package and pkg-config)"
prefix="$root/build/ci-prefix"
rm -rf "$prefix" build/ci-consumer
cmake --install build/ci-release --prefix "$prefix" >/dev/null
cmake -S tests/package -B build/ci-consumer -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build build/ci-consumer -j"$jobs" >/dev/null
LD_LIBRARY_PATH="$prefix/lib" ./build/ci-consumer/consumer
./build/ci-consumer/consumer_static
PKG_CONFIG_PATH="$prefix/lib/pkgconfig" cc -std=c11 tests/package/main.c -o build/ci-consumer/consumer_pc \
  $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs ctel)
LD_LIBRARY_PATH="$prefix/lib" ./build/ci-consumer/consumer_pc
summary+=("package: ok")

stage "example service"
./build/ci-release/examples/hello_trace >/dev/null
summary+=("example: ok")

stage "ASan + UBSan build and tests"
cmake -S . -B build/ci-asan -DCMAKE_BUILD_TYPE=Debug -DCTEL_WERROR=ON \
  -DCTEL_SANITIZE=address,undefined -DCTEL_BUILD_BENCH=OFF >/dev/null
cmake --build build/ci-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest --test-dir build/ci-asan --output-on-failure -j"$jobs"
summary+=("asan+ubsan: ok")

stage "TSan build and tests"
CC=clang cmake -S . -B build/ci-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCTEL_WERROR=ON \
  -DCTEL_SANITIZE=thread -DCTEL_BUILD_BENCH=OFF >/dev/null
cmake --build build/ci-tsan -j"$jobs"
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  ctest --test-dir build/ci-tsan --output-on-failure -j"$jobs"
summary+=("tsan: ok")

echo
printf '%s\n' "${summary[@]}"
echo "test-all: every stage passed"
