#!/usr/bin/python3
"""Dense -> CSR conversion, neuroai against PyTorch (issue 7 target: neuroai >= 100x faster).

Workload: a 1024 x 1024 fp32 weight at 90% sparsity (uniform random pattern).
  PyTorch  torch.Tensor.to_sparse_csr() on the dense matrix with zeros where pruned
  neuroai  BM_DenseToCsr/cpu/m:128/k:1024/n:1024/density:100 (dense_to_csr_count + dense_to_csr_fill
           from W and its mask, the engine's hand-off; m is unused)

Run from the repository root:
  /usr/bin/python3 bench/peers/dense_to_csr.py --threads 1 --bench build/neuroai_bench [--json d2c.json]
"""

import warnings

import common

NAME = "BM_DenseToCsr/cpu/m:128/k:1024/n:1024/density:100"


def main():
    args = common.parser(__doc__.splitlines()[0]).parse_args()
    torch = common.init_threads(args.threads)
    warnings.filterwarnings("ignore", category=UserWarning)  # "Sparse CSR tensor support is in beta state"
    w = torch.randn(1024, 1024) * (torch.rand(1024, 1024) < 0.1)
    t, nb = common.compare({"csr": lambda: w.to_sparse_csr()}, "^" + NAME + "$", args)
    t_torch = t["csr"]
    n = nb[NAME]
    timings = [("PyTorch to_sparse_csr", t_torch, ""), ("neuroai dense_to_csr count + fill", n, NAME)]
    ratios = [("neuroai vs PyTorch to_sparse_csr", "PyTorch to_sparse_csr", "neuroai dense_to_csr count + fill",
               100.0)]
    common.report("Dense -> CSR, 1024 x 1024 at 90% sparsity", timings, ratios, args)


if __name__ == "__main__":
    main()
