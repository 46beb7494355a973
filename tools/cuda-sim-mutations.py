#!/usr/bin/env python3
"""Mutation evidence for cuda-sim: five one-token bugs in five kernels, each of which must make a
cuda-sim test fail. Each is applied to the source, its test is rebuilt in build-sim/ and run on
cuda-sim only, and the source is restored, whatever happens.

    cmake -S . -B build-sim -DNEUROAI_CUDA=OFF && cmake --build build-sim -j2
    tools/cuda-sim-mutations.py            # exit 1 if a mutation goes unnoticed
"""
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
MUTATIONS = [  # (what, file, original, mutated, test binary)
    ("index off by one", "kernels/cuda/csr_transpose.cu",
     "k < indptr[row + 1]; k += kWarp", "k < indptr[row + 2]; k += kWarp", "test_csr_convert"),
    ("wrong shuffle source lane", "kernels/cuda/spmm_csr.cu",
     "__shfl_sync(kFullMask, my_v, q)", "__shfl_sync(kFullMask, my_v, lane)", "test_spmm_csr"),
    ("missing __syncthreads", "kernels/cuda/reduce.cu",
     "  part[threadIdx.y][threadIdx.x] = s;\n  __syncthreads();\n", "  part[threadIdx.y][threadIdx.x] = s;\n",
     "test_pointwise"),
    ("wrong leading dimension in a cuBLAS call", "kernels/cuda/gemm.cu",
     "int(std::max<int64_t>(1, b.cols))", "int(std::max<int64_t>(1, b.rows))", "test_gemm"),
    ("tail condition", "kernels/cuda/dense_to_csr.cu",
     "const bool keep = c < cols &&", "const bool keep = c <= cols &&", "test_csr_convert"),
]


def main():
    missed = 0
    for what, rel, old, new, test in MUTATIONS:
        path = ROOT / rel
        src = path.read_text()
        assert src.count(old) == 1, f"{rel}: the original text of '{what}' is not there exactly once"
        path.write_text(src.replace(old, new))
        try:
            b = subprocess.run(["cmake", "--build", "build-sim", "--target", test, "-j2"], cwd=ROOT,
                               capture_output=True, text=True)
            if b.returncode != 0:
                print(f"## {what}: {rel}: the mutant does not build\n{b.stdout[-1500:]}")
                missed += 1
                continue
            r = subprocess.run([f"build-sim/{test}", "--gtest_filter=*cuda_sim*"], cwd=ROOT, capture_output=True,
                               text=True, timeout=900)
            out = r.stdout + r.stderr
            failed = sorted({l.split(",")[0].removeprefix("[  FAILED  ] ")
                             for l in out.splitlines() if l.startswith("[  FAILED  ]") and "cuda_sim" in l})
            caught = r.returncode != 0
            missed += not caught
            how = f"{len(failed)} cuda_sim cases fail" if failed else f"the test binary dies (exit {r.returncode})"
            print(f"## {what}: {rel}\n   `{old.strip()}` -> `{new.strip()}`")
            print(f"   {test}: {'caught' if caught else 'NOT CAUGHT'}: {how}")
            for name in failed[:4]:
                print(f"     {name}")
            for line in [l for l in out.splitlines() if "cuda-sim:" in l or "exception" in l][:2]:
                print(f"     > {line.strip()[:240]}")
            sys.stdout.flush()
        finally:
            path.write_text(src)
    # Leave no mutant binary behind: rebuild the tests from the restored sources.
    targets = sorted({m[4] for m in MUTATIONS})
    subprocess.run(["cmake", "--build", "build-sim", "--target", *targets, "-j2"], cwd=ROOT, capture_output=True)
    print(f"{len(MUTATIONS) - missed} of {len(MUTATIONS)} mutations caught")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
