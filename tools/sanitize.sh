#!/usr/bin/env bash
# The whole test suite built with AddressSanitizer + UndefinedBehaviorSanitizer, cuda-sim included (a
# step of .ci/run). Any report fails the run: UBSan does not recover, ASan stops at the first error.
#   tools/sanitize.sh [BUILD_DIR]      (default build-asan; JOBS as in quickstart.sh)
# The CUDA toolkit is left out (nvcc code cannot run here); the cuda cases skip as in the normal suite.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-asan}
jobs=${JOBS:-$(nproc)}
san="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" -DNEUROAI_CUDA=OFF \
  -DNEUROAI_BUILD_BENCH=OFF -DCMAKE_CXX_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" \
  -DCMAKE_SHARED_LINKER_FLAGS="$san" | grep -E "CUDA backend|cuda-sim backend|Error" || true
cmake --build "$build" -j "$jobs"
# verify_asan_link_order=0: the fault-injection tests LD_PRELOAD a write shim ahead of libasan.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:verify_asan_link_order=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$build" --output-on-failure -j "$jobs" --timeout 900
