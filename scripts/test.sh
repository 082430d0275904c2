#!/usr/bin/env bash
# The README's test command: installs what is missing, builds everything (Release, Ninja,
# ccache) and runs the whole suite with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
# ccache keys paths relative to the checkout, so a fresh clone elsewhere (CI) reuses the objects.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
build_dir=${PARE_BUILD_DIR:-build}
jobs=${PARE_JOBS:-$(nproc)}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPARE_BUILD_TESTS=ON \
  -DPARE_BUILD_BENCH=ON -DPARE_BUILD_EXAMPLES=ON
cmake --build "$build_dir" -j "$jobs"
ctest --test-dir "$build_dir" --output-on-failure -j "$jobs"
