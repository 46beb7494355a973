#!/usr/bin/env bash
# The GPU device check: runs every bundled test binary with the CUDA backend required, then the GPU
# benchmarks, and prints one table (tools/device_report.py). Runs on the GPU machine, from the
# repository root, on the bundle that tools/device-bundle.sh made here (.device-bundle/bundle.tar.gz
# or .tar.xz).
#
# Here:   tools/device-bundle.sh            # builds build-device, writes .device-bundle (< 60 MiB)
#         python3 tools/device_report.py --selftest
#         tools/device-check.sh --no-require-cuda   # dry run without a GPU: CUDA cases skip
# There:  device tool run with carry [".device-bundle"], timeout_s 420, command:
#           bash tools/device-check.sh
# It needs there: bash, coreutils (timeout), ldd, tar (+gzip/xz, or python3), python3 (table), CUDA 13
# libraries (toolkit lib64, nvcc's, or pip nvidia-* wheels; found automatically) and glibc >= the
# version in the bundle's MANIFEST ("needs GLIBC_2.35" with libigraph from Debian 12).
# Options:
#   --no-require-cuda  do not set NEUROAI_REQUIRE_CUDA=1 (CUDA cases then skip; for trying it here)
#   --bundle DIR       a folder with bundle.tar.gz/.tar.xz or an unpacked bin/ + lib/ (.device-bundle)
#   --budget S         whole run in seconds, default 280; tests get what the benchmarks do not reserve
#   --test-timeout S   per test binary, default 120
#   --bench-reserve S  seconds kept for the benchmarks, default 80
#   --bench-filter RE  default '/(cuda|cublas|cusparse)' (our kernels and their vendor baselines)
#   --no-bench         skip the benchmarks
#   --only RE          run only the test binaries whose name matches RE
#   -j N               test binaries run at once, default 4 (OMP_NUM_THREADS = cores / N)
# Output: $OUT when set (the device tool's folder: at most 8 files come back, so the per-binary XML and
# logs travel as one raw.tar.gz), else ./device-check-out: info.txt, report.txt, bench.json, raw.tar.gz
# or raw/.
# Exit status: 0 when every test passed; 1 when a test failed or a binary crashed, timed out or could
# not start; 3 when the bundle cannot run at all (missing bundle, libraries or glibc too old).
set -uo pipefail

t0=$SECONDS
budget=280 test_timeout=120 bench_reserve=80 bench_filter='/(cuda|cublas|cusparse)' bench=1 only='' njobs=4
require_cuda=1 bundle=''
while [[ $# -gt 0 ]]; do
  case $1 in
    --no-require-cuda) require_cuda=0; shift ;;
    --bundle) bundle=$2; shift 2 ;;
    --budget) budget=$2; shift 2 ;;
    --test-timeout) test_timeout=$2; shift 2 ;;
    --bench-reserve) bench_reserve=$2; shift 2 ;;
    --bench-filter) bench_filter=$2; shift 2 ;;
    --no-bench) bench=0; shift ;;
    --only) only=$2; shift 2 ;;
    -j) njobs=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "device-check: unknown argument $1" >&2; exit 2 ;;
  esac
done
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
die() { echo "device-check: $*" >&2; exit 3; }

# ---- the bundle ---------------------------------------------------------------------------------
if [[ -z $bundle ]]; then
  for c in "$PWD/.device-bundle" "$here/../.device-bundle" "$here" "$here/.."; do
    [[ -e $c/bundle.tar.gz || -e $c/bundle.tar.xz || -d $c/bin ]] && { bundle=$c; break; }
  done
fi
[[ -n $bundle ]] || die "no bundle: run tools/device-bundle.sh here first and carry .device-bundle"
bundle=$(cd "$bundle" && pwd)
if [[ ! -d $bundle/bin ]]; then
  tarball=$(ls "$bundle"/bundle.tar.gz "$bundle"/bundle.tar.xz 2>/dev/null | head -1)
  [[ -n $tarball ]] || die "$bundle has neither bin/ nor bundle.tar.gz / bundle.tar.xz"
  unpacked=${TMPDIR:-/tmp}/neuroai-device-bundle
  rm -rf "$unpacked" && mkdir -p "$unpacked" || die "cannot make $unpacked"
  # tar picks gzip or xz itself; python's tarfile when the xz program is missing.
  tar -C "$unpacked" -xf "$tarball" 2>/dev/null \
    || python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$tarball" "$unpacked" \
    || die "cannot unpack $tarball"
  bundle=$unpacked
fi
bin=$bundle/bin
report_py=$here/device_report.py
[[ -e $report_py ]] || report_py=$bundle/tools/device_report.py

if [[ -n ${OUT:-} ]]; then
  out=$OUT raw=$(mktemp -d)/raw
else
  out=$PWD/device-check-out raw=$PWD/device-check-out/raw
  rm -rf "$raw"
fi
mkdir -p "$out" "$raw"

# ---- libraries: the bundle's, then the CUDA toolkit's (system, nvcc's, or pip nvidia-* wheels) -----
export LD_LIBRARY_PATH=$bundle/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
unresolved() { ldd "$bin"/* "$bundle"/lib/*.so* 2>/dev/null | awk '$2 == "=>" && $3 == "not" {print $1}' | sort -u; }
cands=()
for h in "${CUDA_HOME:-}" "${CUDA_PATH:-}"; do [[ -n $h ]] && cands+=("$h/lib64" "$h/lib"); done
if nvcc=$(command -v nvcc); then
  h=$(dirname "$(dirname "$(readlink -f "$nvcc")")"); cands+=("$h/lib64" "$h/lib" "$h/targets/x86_64-linux/lib")
fi
cands+=(/usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda-*/lib64)
if command -v python3 >/dev/null; then
  while IFS= read -r d; do cands+=("$d"); done < <(python3 - <<'EOF' 2>/dev/null
import glob, site, sys
dirs = site.getsitepackages() + [site.getusersitepackages()] + [p for p in sys.path if p.endswith("-packages")]
for sp in dict.fromkeys(dirs):
    for pat in ("nvidia/*/lib", "nvidia/cu*/lib", "torch/lib"):
        for d in sorted(glob.glob(sp + "/" + pat)):
            print(d)
EOF
  )
fi
for so in $(unresolved); do
  for d in "${cands[@]}"; do
    if [[ -e $d/$so ]]; then
      [[ :$LD_LIBRARY_PATH: == *":$d:"* ]] || LD_LIBRARY_PATH=$LD_LIBRARY_PATH:$d
      break
    fi
  done
done
# libstdc++/libgcc_s from the build machine only when this system's are older than what we need.
if ldd "$bin"/* "$bundle"/lib/*.so* 2>&1 | grep -E "(libstdc\+\+|libgcc_s)[^:]*: (version .* not found|no version information)" >/dev/null; then
  LD_LIBRARY_PATH=$bundle/lib/compat:$LD_LIBRARY_PATH
fi
still=$(unresolved | tr '\n' ' ')
[[ -z $still ]] || die "libraries not found: $still(searched ${cands[*]})"
if ver=$(ldd "$bin"/* "$bundle"/lib/*.so* 2>&1 | grep -m1 "version .* not found"); then
  die "this system is too old for the bundle: $ver"
fi

# ---- the machine --------------------------------------------------------------------------------
{
  echo "== device-check $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname), bundle $(grep -E '^(revision|date) ' "$bundle/MANIFEST" 2>/dev/null | cut -d' ' -f2 | tr '\n' ' ')"
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=index,name,driver_version,memory.total,compute_cap,clocks.max.sm --format=csv,noheader
  else
    echo "nvidia-smi: not found"
  fi
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  timeout 60 "$bin/neuroai" info 2>&1 || echo "neuroai info: exit $?"
} | tee "$out/info.txt"

# ---- tests --------------------------------------------------------------------------------------
if (( require_cuda )); then export NEUROAI_REQUIRE_CUDA=1; else unset NEUROAI_REQUIRE_CUDA; fi
cores=$(nproc 2>/dev/null || echo 4)
export OMP_NUM_THREADS=$(( cores / njobs > 0 ? cores / njobs : 1 ))
have_bench=0; (( bench )) && [[ -x $bin/neuroai_bench ]] && have_bench=1
test_deadline=$(( t0 + budget - (have_bench ? bench_reserve : 0) - 10 ))
echo "== tests (NEUROAI_REQUIRE_CUDA=${NEUROAI_REQUIRE_CUDA:-unset}, $njobs at once, OMP_NUM_THREADS=$OMP_NUM_THREADS)"

run_test() {  # name timeout
  local name=$1 limit=$2 start=$SECONDS rc
  # The braces keep bash's "Aborted"/"Segmentation fault" notice out of the output; the rc says it.
  { timeout -k 5 "$limit" "$bin/$name" --gtest_output="xml:$raw/$name.xml" >"$raw/$name.log" 2>&1; } 2>/dev/null
  rc=$?
  echo "$rc" >"$raw/$name.rc"
  printf '  %-32s rc=%-3d %4ds\n' "$name" "$rc" $(( SECONDS - start ))
}
for path in "$bin"/test_*; do
  [[ -x $path ]] || continue
  name=$(basename "$path")
  [[ -z $only || $name =~ $only ]] || continue
  while (( $(jobs -rp | wc -l) >= njobs )); do wait -n; done
  left=$(( test_deadline - SECONDS ))
  if (( left < 5 )); then
    echo "budget" >"$raw/$name.rc"; echo "  $name: not run (time budget spent)"; continue
  fi
  run_test "$name" $(( left < test_timeout ? left : test_timeout )) &
done
wait

# ---- benchmarks ---------------------------------------------------------------------------------
bench_json=''
if (( have_bench )); then
  left=$(( t0 + budget - SECONDS - 10 ))
  if (( left > 10 )); then
    echo "== benchmarks matching '$bench_filter' (${left}s at most)"
    bench_json=$raw/bench.json
    OMP_NUM_THREADS=$cores timeout -k 5 "$left" "$bin/neuroai_bench" --benchmark_filter="$bench_filter" \
      --benchmark_min_time=0.05 --benchmark_out="$bench_json" --benchmark_out_format=json \
      >"$raw/bench.log" 2>&1
    rc=$?
    (( rc == 0 )) || echo "  neuroai_bench: exit $rc$( ((rc == 124)) && echo ' (timed out; partial results)')"
  else
    echo "== benchmarks: skipped (time budget spent)"
  fi
fi

# ---- the table ----------------------------------------------------------------------------------
echo
if command -v python3 >/dev/null; then
  python3 "$report_py" --raw "$raw" ${bench_json:+--bench "$bench_json"} --manifest "$bundle/MANIFEST" \
    | tee "$out/report.txt"
  status=${PIPESTATUS[0]}
else
  echo "python3 not found: exit statuses only" | tee "$out/report.txt"
  status=0
  for f in "$raw"/*.rc; do
    echo "$(basename "$f" .rc) $(cat "$f")" | tee -a "$out/report.txt"
    [[ $(cat "$f") == 0 ]] || status=1
  done
fi
[[ -n $bench_json && -e $bench_json ]] && cp "$bench_json" "$out/bench.json"
if [[ -n ${OUT:-} ]]; then
  tar -C "$(dirname "$raw")" -czf "$out/raw.tar.gz" raw
  rm -rf "$(dirname "$raw")"
fi
echo "device-check: $(( SECONDS - t0 ))s, exit $status; files in $out"
exit "$status"
