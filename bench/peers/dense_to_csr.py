#!/usr/bin/python3
"""Dense -> CSR conversion, neuroai against PyTorch (issue 7 target: neuroai >= 100x faster).

Workload: a 1024 x 1024 fp32 weight at 90% sparsity (uniform random pattern; both sides draw their own
matrix of the same shape and density: the conversion's cost does not depend on the values).
  PyTorch  torch.Tensor.to_sparse_csr() on the dense matrix with zeros where pruned (keeps W != 0)
  neuroai  BM_DenseToCsrNz/cpu/m:128/k:1024/n:1024/density:100: dense_to_csr_count + dense_to_csr_fill
           keeping W != 0 (no mask), the same semantics as to_sparse_csr; the target ratio uses this one
           BM_DenseToCsr/cpu/m:128/k:1024/n:1024/density:100: the same from W and its uint8 mask (the
           engine's hand-off), which reads the 1 MiB mask in place of a second pass over W (4 MiB)

Run from the repository root:
  /usr/bin/python3 bench/peers/dense_to_csr.py --threads 1 --bench build/neuroai_bench [--json d2c.json]
"""

import warnings

import common

NAME = "BM_DenseToCsrNz/cpu/m:128/k:1024/n:1024/density:100"
MASKED = "BM_DenseToCsr/cpu/m:128/k:1024/n:1024/density:100"


def main():
    args = common.parser(__doc__.splitlines()[0]).parse_args()
    torch = common.init_threads(args.threads)
    warnings.filterwarnings("ignore", category=UserWarning)  # "Sparse CSR tensor support is in beta state"
    w = torch.randn(1024, 1024) * (torch.rand(1024, 1024) < 0.1)
    t, nb = common.compare({"csr": lambda: w.to_sparse_csr()}, "^(" + NAME + "|" + MASKED + ")$", args)
    t_torch = t["csr"]
    same = "neuroai dense_to_csr count + fill, W != 0"
    masked = "neuroai dense_to_csr count + fill from the mask"
    timings = [("PyTorch to_sparse_csr", t_torch, ""), (same, nb[NAME], NAME), (masked, nb[MASKED], MASKED)]
    ratios = [("neuroai vs PyTorch to_sparse_csr", "PyTorch to_sparse_csr", same, 100.0),
              ("neuroai from the mask vs PyTorch to_sparse_csr", "PyTorch to_sparse_csr", masked, None)]
    common.report("Dense -> CSR, 1024 x 1024 at 90% sparsity", timings, ratios, args)


if __name__ == "__main__":
    main()
