#!/usr/bin/env bash
# libFuzzer targets of neuroai's readers (tests/fuzz/, issue #15).
#   tools/fuzz.sh build              configure and build build-fuzz (clang, ASan + UBSan + libFuzzer)
#   tools/fuzz.sh smoke [SECONDS]    each target for SECONDS (default 20) on its committed corpus; fails on
#                                    any finding (the CI step)
#   tools/fuzz.sh campaign SECONDS   each target for SECONDS, growing a corpus under build-fuzz/campaign/;
#                                    prints executions, wall and CPU time and corpus size per
#                                    target
#   tools/fuzz.sh run TARGET [ARGS]  one target on its corpus with the usual limits, libFuzzer ARGS added
# Environment: FUZZ_BUILD_DIR (default build-fuzz), JOBS (build, default 2), TARGETS (default: all).
# A finding leaves its input as build-fuzz/findings/<target>/crash-* (or leak-, timeout-, oom-).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/apt-install.sh

BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
JOBS=${JOBS:-2}
FUZZ_DIR=tests/fuzz
# An allocation bomb (a header claiming more than the file holds) or a hang is a finding too.
LIMITS=(-rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10)

# Debian packages of the fuzz build, on top of quickstart.sh's.
packages=(clang libclang-rt-14-dev libomp-dev)

setup() { apt_install fuzz "${packages[@]}"; }

targets() {
  if [ -n "${TARGETS:-}" ]; then
    echo "$TARGETS"
  else
    for f in "$FUZZ_DIR"/fuzz_*.cpp; do basename "$f" .cpp; done
  fi
}

# libFuzzer arguments for a target: its dictionary, when it has one, and its input size.
target_args() {
  local t=$1 args=("${LIMITS[@]}")
  [ -f "$FUZZ_DIR/$t.dict" ] && args+=("-dict=$FUZZ_DIR/$t.dict")
  case "$t" in
    fuzz_cifar) args+=(-max_len=8192) ;;  # a record is 3073 bytes
    *) args+=(-max_len=4096) ;;
  esac
  echo "${args[@]}"
}

build() {
  setup
  # -O1 with line tables: symbolized reports, and a build that fits CI's minutes on 2 cores.
  mkdir -p "$BUILD_DIR"
  CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" -DNEUROAI_CUDA=OFF -DNEUROAI_CUDA_SIM=OFF \
    -DNEUROAI_BUILD_TESTS=OFF -DNEUROAI_BUILD_BENCH=OFF -DNEUROAI_FUZZ=ON >"$BUILD_DIR/configure.log" 2>&1 ||
    { cat "$BUILD_DIR/configure.log"; exit 1; }
  grep -E "Fuzz targets" "$BUILD_DIR/configure.log" || true
  cmake --build "$BUILD_DIR" -j "$JOBS" --target fuzz_all
}

# run_target TARGET SECONDS CORPUS_DIR [MORE_CORPUS_DIRS]: prints one summary line. New inputs go to
# CORPUS_DIR only.
run_target() {
  local t=$1 secs=$2 corpus=$3
  shift 3
  local bin="$BUILD_DIR/tests/fuzz/$t" log="$BUILD_DIR/logs/$t.log" findings="$BUILD_DIR/findings/$t"
  [ -x "$bin" ] || { echo "fuzz: $bin is missing; run tools/fuzz.sh build" >&2; return 1; }
  mkdir -p "$BUILD_DIR/logs" "$findings" "$corpus"
  local start=$SECONDS rc=0 cpu_file
  cpu_file=$(mktemp)
  # The CPU seconds (user + system) beside the wall time: on a shared machine the two differ.
  # shellcheck disable=SC2046
  { TIMEFORMAT='%U %S'; time ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0} \
    OMP_NUM_THREADS=1 "$bin" $(target_args "$t") -max_total_time="$secs" -print_final_stats=1 \
    -artifact_prefix="$findings/" "$corpus" "$@" >"$log" 2>&1; } 2>"$cpu_file" || rc=$?
  local execs units cpu
  execs=$(grep -oE "stat::number_of_executed_units: *[0-9]+" "$log" | grep -oE "[0-9]+$" || echo "?")
  units=$(find "$corpus" -type f | wc -l)
  cpu=$(awk '{printf "%.0f", $1 + $2}' "$cpu_file")
  rm -f "$cpu_file"
  printf "%-22s %s  execs %-10s time %4ss  cpu %4ss  corpus %5s files\n" "$t" \
    "$([ $rc -eq 0 ] && echo ok || echo FAIL)" "$execs" "$((SECONDS - start))" "$cpu" "$units"
  if [ $rc -ne 0 ]; then
    grep -E "ERROR|SUMMARY|invariant|runtime error|Test unit written|terminate|what\(\)" "$log" | head -20 >&2
    echo "fuzz: $t failed (exit $rc); log $log, input in $findings/" >&2
  fi
  return $rc
}

smoke() {
  local secs=${1:-20} failed=0
  for t in $(targets); do
    # The committed corpus stays as it is: new inputs go to a scratch folder beside it.
    local scratch="$BUILD_DIR/smoke/$t"
    rm -rf "$scratch"
    mkdir -p "$scratch"
    run_target "$t" "$secs" "$scratch" "$FUZZ_DIR/corpus/$t" || failed=1
  done
  [ $failed -eq 0 ] || { echo "fuzz: smoke test found problems" >&2; exit 1; }
}

campaign() {
  local secs=${1:?usage: tools/fuzz.sh campaign SECONDS} failed=0
  for t in $(targets); do
    local corpus="$BUILD_DIR/campaign/$t"
    mkdir -p "$corpus"
    cp -n "$FUZZ_DIR/corpus/$t/"* "$corpus/" 2>/dev/null || true
    run_target "$t" "$secs" "$corpus" || failed=1  # one process: no -jobs, no -fork
  done
  [ $failed -eq 0 ] || exit 1
}

case "${1:-}" in
  build) build ;;
  smoke) smoke "${2:-20}" ;;
  campaign) campaign "${2:-}" ;;
  run)
    t=${2:?usage: tools/fuzz.sh run TARGET [libFuzzer args]}
    shift 2
    # shellcheck disable=SC2046
    exec "$BUILD_DIR/tests/fuzz/$t" $(target_args "$t") "$@" "$FUZZ_DIR/corpus/$t"
    ;;
  *) echo "usage: $0 build | smoke [SECONDS] | campaign SECONDS | run TARGET [ARGS]" >&2; exit 2 ;;
esac
