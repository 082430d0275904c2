#!/usr/bin/env bash
# The ThreadSanitizer run: builds the concurrency test (tests/security/test_inference_threads.cpp:
# 4 threads x 200 forwards on one model over more batch sizes than the inference session caches,
# 4 threads on one shape, two models in two threads) with -fsanitize=thread and runs it. Any
# report is fatal (halt_on_error=1) and fails the script, as does any test failure.
#
#   bash scripts/sanitize-thread.sh       # build-tsan/ (PARE_TSAN_BUILD_DIR to change)
#
# OpenMP (libgomp) and oneDNN are not TSan-instrumented, so no suppressions file is needed, but
# two settings keep their hidden synchronisation out of the picture:
#   - OMP_NUM_THREADS=1: libgomp starts no threads of its own; the only threads are the test's.
#   - ONEDNN_PRIMITIVE_CACHE_CAPACITY=0: oneDNN's primitive cache otherwise hands a primitive
#     descriptor one thread created to another thread compiling the same layer, synchronised
#     inside oneDNN on futexes TSan cannot see; TSan then reports pare's reads of the descriptor as
#     racing with oneDNN's allocation of it (in 4 of 6 runs). Every thread now creates its own.
# The test takes about 35 s here instead of 4 s (every compile JITs its kernels again).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

# GCC's TSan runtime (libtsan2 for GCC 12 and later, libtsan0 before).
if ! echo 'int main() { return 0; }' | g++ -x c++ -fsanitize=thread -o /dev/null - 2>/dev/null; then
  gcc_major=$(g++ -dumpversion | cut -d. -f1)
  package=libtsan2
  if ((gcc_major < 12)); then package=libtsan0; fi
  bash scripts/install-deps.sh "$package"
  echo 'int main() { return 0; }' | g++ -x c++ -fsanitize=thread -o /dev/null - ||
    { echo "pare: -fsanitize=thread still does not link after installing $package" >&2; exit 1; }
fi

export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
build_dir=${PARE_TSAN_BUILD_DIR:-build-tsan}
jobs=${PARE_JOBS:-$(nproc)}
# -O1: enough for TSan, and much faster to compile than -O3.
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O1" \
  -DPARE_SANITIZE_THREAD=ON \
  -DPARE_BUILD_TESTS=ON -DPARE_BUILD_BENCH=OFF -DPARE_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build_dir" -j "$jobs" --target test_inference_threads

export OMP_NUM_THREADS=1
export ONEDNN_PRIMITIVE_CACHE_CAPACITY=0
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 ${TSAN_OPTIONS:-}"
"$build_dir/tests/test_inference_threads"
