#!/usr/bin/python3
"""MLP training step, neuroai against PyTorch (issue 3 and issue 7 targets).

Workload: 784-1024-1024-10 with ReLU, batch 128, softmax cross-entropy, Adam (lr 1e-3), random data,
one full step (forward, loss, backward, optimizer step) timed over many steps.
  PyTorch dense            nn.Linear layers
  PyTorch prune masks 90%  torch.nn.utils.prune.l1_unstructured(amount=0.9) on every weight
  neuroai                  build/neuroai_bench BM_MlpTrainStep/cpu: dense (format 0), 90% pruned in CSR
                           (format 1, every layer handed over) and the engine's own hand-off (format 2)
Targets (issue 7, CPU): neuroai at 90% >= 3x PyTorch dense and >= 3.5x PyTorch with prune masks;
neuroai dense >= 1.0x PyTorch dense. Issue 3: neuroai CSR step >= 3x neuroai dense step.

Run from the repository root (Debian's PyTorch: apt-get install python3-torch, so /usr/bin/python3):
  /usr/bin/python3 bench/peers/mlp.py --threads 1 --bench build/neuroai_bench [--json mlp.json]
"""

import common

PRUNED = "PyTorch prune masks 90% (l1_unstructured)"
AUTO = "neuroai 90% pruned, engine hand-off (auto)"
REGEX = "^BM_MlpTrainStep/cpu/density:(1000/format:0|100/format:[12])$"


def torch_step(torch, pruned):
    nn = torch.nn
    model = nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 10))
    if pruned:
        for m in model:
            if isinstance(m, nn.Linear):
                torch.nn.utils.prune.l1_unstructured(m, "weight", amount=0.9)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(128, 784)
    y = torch.randint(0, 10, (128,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    return step


def main():
    args = common.parser(__doc__.splitlines()[0]).parse_args()
    torch = common.init_threads(args.threads)
    import torch.nn.utils.prune  # noqa: F401  (the submodule is not loaded by `import torch`)

    t, nb = common.compare({"dense": torch_step(torch, False), "pruned": torch_step(torch, True)}, REGEX, args)
    t_dense, t_pruned = t["dense"], t["pruned"]
    n_dense = nb["BM_MlpTrainStep/cpu/density:1000/format:0"]
    n_csr = nb["BM_MlpTrainStep/cpu/density:100/format:1"]
    n_auto = nb["BM_MlpTrainStep/cpu/density:100/format:2"]
    timings = [("PyTorch dense", t_dense, ""),
               (PRUNED, t_pruned, ""),
               ("neuroai dense", n_dense, "BM_MlpTrainStep/cpu/density:1000/format:0"),
               ("neuroai 90% pruned, CSR", n_csr, "BM_MlpTrainStep/cpu/density:100/format:1"),
               (AUTO, n_auto, "BM_MlpTrainStep/cpu/density:100/format:2")]
    ratios = [("neuroai dense vs PyTorch dense", "PyTorch dense", "neuroai dense", 1.0),
              ("neuroai 90% CSR vs PyTorch dense", "PyTorch dense", "neuroai 90% pruned, CSR", 3.0),
              ("neuroai 90% CSR vs PyTorch prune masks", PRUNED, "neuroai 90% pruned, CSR", 3.5),
              ("neuroai 90% auto vs PyTorch dense", "PyTorch dense", AUTO, None),
              ("neuroai 90% auto vs PyTorch prune masks", PRUNED, AUTO, None),
              ("neuroai 90% CSR vs neuroai dense (issue 3)", "neuroai dense", "neuroai 90% pruned, CSR", 3.0)]
    common.report("MLP 784-1024-1024-10, batch 128, Adam: one training step", timings, ratios, args)


if __name__ == "__main__":
    main()
