#!/usr/bin/env bash
# Installs the Debian 12 packages ctel needs to build, test and benchmark.
# A no-op (no apt-get at all) when everything is already installed.
set -euo pipefail
packages=(
  build-essential cmake pkg-config git python3
  protobuf-c-compiler libprotobuf-c-dev protobuf-compiler python3-protobuf
  libcurl4-openssl-dev libgrpc-dev zlib1g-dev libmicrohttpd-dev libjansson-dev
  libcmocka-dev clang libclang-rt-14-dev valgrind openssl
)
missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
