#!/usr/bin/python3
"""GRU training step, neuroai against PyTorch (issue 7).

Workload: Fashion-MNIST-shaped row-sequential input (28 steps of 28 features), GRU with 128 hidden units,
a linear readout of the last hidden state to 10 classes, batch 128, cross-entropy, gradient clipping at
global norm 1, Adam (lr 1e-3), random data; one full step (BPTT included) timed over many steps.
  PyTorch dense            nn.GRU + nn.Linear
  PyTorch prune masks 90%  l1_unstructured(amount=0.9) on weight_ih_l0 and weight_hh_l0
  neuroai                  BM_GruTrainStep/cpu: dense (format 0), W_ih and W_hh 90% pruned per gate
                           block in CSR (format 1), and the engine's own hand-off (format 2)

Run from the repository root:
  /usr/bin/python3 bench/peers/gru.py --threads 1 --bench build/neuroai_bench [--json gru.json]
"""

import warnings

import common

PRUNED = "PyTorch prune masks 90% (l1_unstructured)"
AUTO = "neuroai 90% pruned, engine hand-off (auto)"
REGEX = "^BM_GruTrainStep/cpu/density:(1000/format:0|100/format:[12])$"


def torch_step(torch, pruned):
    nn = torch.nn
    gru = nn.GRU(28, 128)
    head = nn.Linear(128, 10)
    if pruned:
        torch.nn.utils.prune.l1_unstructured(gru, "weight_ih_l0", amount=0.9)
        torch.nn.utils.prune.l1_unstructured(gru, "weight_hh_l0", amount=0.9)
    params = list(gru.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    x = torch.randn(28, 128, 28)  # (T, B, features), time-major as nn.GRU takes it
    y = torch.randint(0, 10, (128,))

    def step():
        opt.zero_grad(set_to_none=True)
        out, _ = gru(x)
        loss = torch.nn.functional.cross_entropy(head(out[-1]), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
    return step


def main():
    args = common.parser(__doc__.splitlines()[0]).parse_args()
    torch = common.init_threads(args.threads)
    import torch.nn.utils.prune  # noqa: F401
    # nn.GRU warns that pruned weights are not one contiguous chunk; that is the cost being measured.
    warnings.filterwarnings("ignore", category=UserWarning)

    t, nb = common.compare({"dense": torch_step(torch, False), "pruned": torch_step(torch, True)}, REGEX, args)
    t_dense, t_pruned = t["dense"], t["pruned"]
    n_dense = nb["BM_GruTrainStep/cpu/density:1000/format:0"]
    n_csr = nb["BM_GruTrainStep/cpu/density:100/format:1"]
    n_auto = nb["BM_GruTrainStep/cpu/density:100/format:2"]
    timings = [("PyTorch dense", t_dense, ""),
               (PRUNED, t_pruned, ""),
               ("neuroai dense", n_dense, "BM_GruTrainStep/cpu/density:1000/format:0"),
               ("neuroai 90% pruned, CSR", n_csr, "BM_GruTrainStep/cpu/density:100/format:1"),
               (AUTO, n_auto, "BM_GruTrainStep/cpu/density:100/format:2")]
    ratios = [("neuroai dense vs PyTorch dense", "PyTorch dense", "neuroai dense", None),
              ("neuroai 90% CSR vs PyTorch dense", "PyTorch dense", "neuroai 90% pruned, CSR", None),
              ("neuroai 90% CSR vs PyTorch prune masks", PRUNED, "neuroai 90% pruned, CSR", None),
              ("neuroai 90% auto vs PyTorch prune masks", PRUNED, AUTO, None)]
    common.report("GRU 28 -> 128 -> 10, 28 steps, batch 128, Adam: one training step", timings, ratios, args)


if __name__ == "__main__":
    main()
