#!/usr/bin/env bash
# Builds what the GPU device check runs and packs it into .device-bundle/ (git-ignored), for a machine
# that has the CUDA toolkit but none of our Debian packages (OpenBLAS, fmt, GoogleTest, Benchmark).
#
# Usage (from anywhere; paths are relative to the repository root):
#   tools/device-bundle.sh [-B build-device] [-o .device-bundle] [-j 2] [--static] [--max-mib 60]
#                          [--no-build] [--source DIR] [--xz]
#   -B DIR        build directory (configured Release, CUDA ON, sm_90 only, NEUROAI_SHARED_LIBS=ON)
#   -o DIR        bundle directory; it is replaced
#   --static      keep the neuroai libraries static (each test binary then carries the device code)
#   --no-build    only collect what the build directory already has
#   --source DIR  configure from another source tree (e.g. a snapshot) instead of this repository
#   --xz          pack with xz (about half gzip's size, minutes slower); chosen by itself when the
#                 gzip tarball is over --max-mib
# Result: .device-bundle/{bundle.tar.gz or .tar.xz, device-check.sh, device_report.py}. The tarball holds
#   bin/   every test_* binary that built, neuroai, neuroai_bench (stripped)
#   lib/   libneuroai_*.so and the non-system, non-CUDA libraries they need (OpenBLAS, gfortran, fmt, ...)
#   lib/compat/  libstdc++ and libgcc_s, used there only when the system's are too old
#   MANIFEST     what was built, what failed to build, the newest GLIBC symbol needed
# Then run on the device (see tools/device-check.sh):  tools/device-check.sh
# A target that fails to build (someone's work in progress) is left out and listed in MANIFEST; the
# neuroai_kernels library must build. Fails when the bundle is over --max-mib (the device tool carries
# at most 64 MiB with the rest of the working tree).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=build-device out=.device-bundle jobs=2 shared=ON max_mib=60 do_build=1 src=$root xz=0
while [[ $# -gt 0 ]]; do
  case $1 in
    -B) build=$2; shift 2 ;;
    -o) out=$2; shift 2 ;;
    -j) jobs=$2; shift 2 ;;
    --static) shared=OFF; shift ;;
    --xz) xz=1; shift ;;
    --max-mib) max_mib=$2; shift 2 ;;
    --no-build) do_build=0; shift ;;
    --source) src=$(cd "$2" && pwd); shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "device-bundle: unknown argument $1" >&2; exit 2 ;;
  esac
done
cd "$root"
build=$(mkdir -p "$build" && cd "$build" && pwd)
mkdir -p "$out"; out=$(cd "$out" && pwd)
[[ $out != "$root" && $out != / ]] || { echo "device-bundle: refusing to replace $out" >&2; exit 2; }

# Test binaries mirror CMake's rule: tests/<dir>/test_<name>.cpp -> test_<name>.
tests=()
for f in "$src"/tests/{kernels,engine,models,tools}/test_*.cpp; do
  [[ -e $f ]] && tests+=("$(basename "$f" .cpp)")
done
has_bench=0; compgen -G "$src/bench/*.cpp" >/dev/null && has_bench=1

built=() failed=()
if (( do_build )); then
  if ! grep -q NEUROAI_SHARED_LIBS "$src/CMakeLists.txt"; then shared=OFF; fi
  # PRE_TEST discovery: the build must not run the binaries (they need the CUDA libraries and a GPU).
  # No cuda-sim in the bundle: on a GPU the same kernels/cuda sources run for real, and the simulator's
  # cases would only spend the device's minutes.
  cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DNEUROAI_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90-real \
    -DNEUROAI_CUDA_SIM=OFF \
    -DNEUROAI_SHARED_LIBS=$shared -DNEUROAI_BUILD_TESTS=ON -DNEUROAI_BUILD_BENCH=$([[ $has_bench == 1 ]] && echo ON || echo OFF) \
    -DCMAKE_GTEST_DISCOVER_TESTS_DISCOVERY_MODE=PRE_TEST >"$build/device-bundle-configure.log" 2>&1 \
    || { tail -30 "$build/device-bundle-configure.log"; echo "device-bundle: configure failed" >&2; exit 1; }
  echo "device-bundle: building neuroai_kernels (CUDA, sm_90, shared libs $shared) in $build"
  if ! cmake --build "$build" -j "$jobs" --target neuroai_kernels >"$build/device-bundle-build.log" 2>&1; then
    grep -E 'error|Error' "$build/device-bundle-build.log" | head -20
    echo "device-bundle: neuroai_kernels does not build; nothing to bundle" >&2; exit 1
  fi
  targets=(neuroai "${tests[@]}")
  (( has_bench )) && targets+=(neuroai_bench)
  for t in "${targets[@]}"; do
    if cmake --build "$build" -j "$jobs" --target "$t" >"$build/device-bundle-$t.log" 2>&1; then
      built+=("$t"); echo "  built  $t"
    elif grep -E '(Error|FAILED).*CMakeFiles/neuroai_(kernels|engine|models)\.dir/' "$build/device-bundle-$t.log" >/dev/null; then
      # A library source changed under us and no longer compiles: every later target would fail too.
      grep -E 'error' "$build/device-bundle-$t.log" | sort -u | head -10
      echo "device-bundle: a neuroai library stopped building while building $t; try again later" >&2; exit 1
    else
      failed+=("$t"); echo "  FAILED $t (left out; see $build/device-bundle-$t.log)"
    fi
    cat "$build/device-bundle-$t.log" >>"$build/device-bundle-build.log"
  done
else
  for t in neuroai neuroai_bench "${tests[@]}"; do [[ -x $build/$t ]] && built+=("$t"); done
fi

stage=$build/device-bundle-stage
rm -rf "$stage"; mkdir -p "$stage"/{bin,lib/compat,tools}
for t in "${built[@]}"; do
  [[ -x $build/$t ]] && cp "$build/$t" "$stage/bin/" && strip --strip-unneeded "$stage/bin/$t"
done
[[ -n $(ls "$stage/bin") ]] || { echo "device-bundle: no binaries to bundle" >&2; exit 1; }

# Shared libraries from ldd, copied under their soname. System libraries (glibc's) and the CUDA
# toolkit's and driver's stay behind: the device has them (device-check.sh finds the toolkit).
system_re='^(linux-vdso|ld-linux|libc\.so|libm\.so|libmvec|libpthread|libdl\.so|librt\.so|libutil|libresolv)'
cuda_re='^lib(cuda|cudart|cublas|cublasLt|cusparse|nvJitLink|nvrtc|cufft|curand|cusolver|nvToolsExt|nvtx3?)\.so'
compat_re='^(libstdc\+\+\.so|libgcc_s\.so)'
missing=()
for f in "$stage"/bin/*; do   # ldd lists the whole closure; libneuroai_*.so resolve through the build RUNPATH
  while read -r name arrow path _; do
    [[ $arrow == "=>" ]] || continue
    [[ $name =~ $system_re || $name =~ $cuda_re ]] && continue
    [[ $path == not ]] && { missing+=("$name (needed by $(basename "$f"))"); continue; }
    dest=$stage/lib; [[ $name =~ $compat_re ]] && dest=$stage/lib/compat
    [[ -e $dest/$name ]] || { cp -L "$path" "$dest/$name"; strip --strip-unneeded "$dest/$name"; }
  done < <(ldd "$f" 2>/dev/null)
done
if (( ${#missing[@]} )); then
  printf 'device-bundle: unresolved library: %s\n' "${missing[@]}" | sort -u >&2; exit 1
fi

glibc=$(objdump -T "$stage"/bin/* "$stage"/lib/*.so* 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)
glibcxx=$(objdump -T "$stage"/bin/* "$stage"/lib/*.so* 2>/dev/null | grep -o 'GLIBCXX_[0-9.]*' | sort -uV | tail -1)
cp "$root/tools/device-check.sh" "$root/tools/device_report.py" "$stage/tools/"
{
  echo "source $src"
  echo "revision $(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$src" diff --quiet HEAD 2>/dev/null || echo +dirty)"
  echo "date $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "shared_libs $shared"
  echo "needs $glibc $glibcxx"
  for t in "${built[@]}"; do echo "built $t"; done
  for t in "${failed[@]}"; do echo "build-failed $t"; done
} >"$stage/MANIFEST"

rm -rf "$out"/*
if (( xz == 0 )); then
  tar -C "$stage" -czf "$out/bundle.tar.gz" .
  if (( $(stat -c %s "$out/bundle.tar.gz") > max_mib * 1048576 )) && command -v xz >/dev/null; then
    echo "device-bundle: gzip gives $(( $(stat -c %s "$out/bundle.tar.gz") >> 20 )) MiB; trying xz (minutes)"
    xz=1
  fi
fi
if (( xz )); then
  rm -f "$out/bundle.tar.gz"
  tar -C "$stage" -cf - . | xz -6 -T"$jobs" >"$out/bundle.tar.xz"
fi
cp "$root/tools/device-check.sh" "$root/tools/device_report.py" "$out/"
raw_mib=$(du -sm "$stage" | cut -f1)
out_bytes=$(du -sb "$out" | cut -f1)
out_mib=$(( (out_bytes + 1048575) / 1048576 ))
echo "device-bundle: ${#built[@]} targets built, ${#failed[@]} failed to build${failed:+ (${failed[*]})}"
echo "device-bundle: $(ls "$stage/bin" | wc -l) binaries, libs: $(cd "$stage/lib" && ls -d *.so* compat/* 2>/dev/null | tr '\n' ' ')"
echo "device-bundle: needs $glibc, $glibcxx (lib/compat has libstdc++ for older systems)"
echo "device-bundle: $out is ${out_mib} MiB (${raw_mib} MiB unpacked); limit ${max_mib} MiB"
if (( out_bytes > max_mib * 1048576 )); then
  echo "device-bundle: bundle over ${max_mib} MiB" >&2; exit 1
fi
