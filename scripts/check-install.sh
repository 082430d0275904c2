#!/usr/bin/env bash
# Installs the build into a temporary prefix and builds + runs an outside CMake project that uses
# find_package(pare) (tests/install_consumer).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${PARE_BUILD_DIR:-build}
prefix=$(mktemp -d)
consumer_build=$(mktemp -d)
trap 'rm -rf "$prefix" "$consumer_build"' EXIT
cmake --install "$build_dir" --prefix "$prefix" >/dev/null
cmake -S tests/install_consumer -B "$consumer_build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$consumer_build" >/dev/null
"$consumer_build/consumer"
echo "check-install: find_package(pare) consumer built and ran"
