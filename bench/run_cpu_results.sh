#!/usr/bin/env bash
# Re-runs every CPU figure of bench/RESULTS.md (issue #7 targets, issue #3's step speed-up, the PyTorch
# peers) single-threaded and rewrites bench/RESULTS.md. Run it on a quiet machine, from anywhere:
#   bench/run_cpu_results.sh [BUILD_DIR] [--preliminary "why these figures are not final"]
# BUILD_DIR (default: build) must be configured with -DNEUROAI_BUILD_BENCH=ON (the default); the targets
# neuroai and neuroai_bench are built if missing. Needs Debian's PyTorch (apt-get install python3-torch).
# Environment: REPS (repetitions, medians reported; default 3), RESULTS_DIR (raw JSON; default
# BUILD_DIR/cpu-results), OPENBLAS_CORETYPE (default: SkylakeX on AVX-512 CPUs, Haswell on AVX2 ones:
# OpenBLAS 0.3.21 does not know recent CPUs and falls back to SSE3 kernels, which would make every dense
# baseline, PyTorch's included, several times slower than it should be).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=build
PRELIM=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --preliminary) PRELIM="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) BUILD="$1"; shift ;;
  esac
done
REPS=${REPS:-3}
OUT=${RESULTS_DIR:-$BUILD/cpu-results}
PY=/usr/bin/python3  # Debian's interpreter, the one python3-torch installs into
mkdir -p "$OUT"

if [[ -z "${OPENBLAS_CORETYPE:-}" ]]; then
  if grep -qw avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX
  elif grep -qw avx2 /proc/cpuinfo; then export OPENBLAS_CORETYPE=Haswell
  fi
fi
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}, $REPS repetitions, results in $OUT"

[[ -x "$BUILD/neuroai" && -x "$BUILD/neuroai_bench" ]] || cmake --build "$BUILD" -j2 --target neuroai neuroai_bench
"$PY" -c "import torch" || { echo "PyTorch is missing: apt-get install -y python3-torch" >&2; exit 1; }

GB=(--benchmark_format=json "--benchmark_repetitions=$REPS" --benchmark_report_aggregates_only=true)
# run NAME COMMAND...: stdout -> OUT/NAME.json, the command line -> OUT/NAME.cmd
run() {
  local name=$1; shift
  echo "== $name: $*"
  echo "$*" > "$OUT/$name.cmd"
  "$@" > "$OUT/$name.json"
}

cut -d' ' -f1 /proc/loadavg > "$OUT/load_start.txt"
# The source the figures belong to (the binaries should be built from it).
echo "$(git rev-parse --short HEAD)$([[ -n "$(git status --porcelain)" ]] && echo ' + uncommitted changes')" \
  > "$OUT/source.txt"
run kernels "$BUILD/neuroai_bench" '--benchmark_filter=^BM_(SpmmCsr|SpmmCsrT|SddmmCsr|DenseToCsr|Sgemm)/cpu/' "${GB[@]}"
run models env NEUROAI_BENCH_THREADS=1 "$BUILD/neuroai_bench" '--benchmark_filter=^BM_(Mlp|Gru|Gcn)TrainStep/cpu/' \
  "${GB[@]}"
run breakeven "$BUILD/neuroai" bench --model mlp --hidden 1024,1024 --inputs 784 --outputs 10 --batch 128 \
  --threads 1 --backend cpu --json
for peer in mlp gru gcn dense_to_csr; do
  echo "== $peer (PyTorch peer)"
  "$PY" "bench/peers/$peer.py" --threads 1 --bench "$BUILD/neuroai_bench" --reps "$REPS" --json "$OUT/$peer.json"
done
cut -d' ' -f1 /proc/loadavg > "$OUT/load_end.txt"

"$PY" bench/peers/make_results.py "$OUT" --out bench/RESULTS.md ${PRELIM:+--preliminary "$PRELIM"}
