#!/usr/bin/python3
"""GCN training step, neuroai against PyTorch (issue 7).

Workload: a stochastic block model of 1000 nodes (k = 4 equal blocks, mean degree 20, c_out / c_in =
0.1, the same formula as engine/graph.cpp's make_sbm), 32 contextual-SBM features, a 2-layer GCN
32 -> 64 -> 4 (H' = A_norm H W + b, ReLU between, A_norm = D^-1/2 (A + I) D^-1/2), cross-entropy over
every node, Adam (lr 0.01, weight decay 5e-4); one full-graph step timed over many steps.
  PyTorch dense            A_norm as a torch.sparse COO matrix, torch.sparse.mm
  PyTorch prune masks 90%  l1_unstructured(amount=0.9) on both weight matrices
  PyTorch 10% edges        the same GCN on a random 10% of the edges
  neuroai                  BM_GcnTrainStep/cpu at edges 1000 and 100 (per mille of the node pairs kept)
Note: neuroai's GCN also learns one weight per edge through a Hebbian rule (SPEC section 8): it does
strictly more work per step than the plain PyTorch GCN, which has a fixed adjacency.

Run from the repository root:
  /usr/bin/python3 bench/peers/gcn.py --threads 1 --bench build/neuroai_bench [--json gcn.json]
"""

import warnings

import common

REGEX = "^BM_GcnTrainStep/cpu/edges:(1000|100)$"


def sbm(torch, n=1000, k=4, deg=20.0, ratio=0.1, seed=1):
    g = torch.Generator().manual_seed(seed)
    c_in = k * deg / (1 + (k - 1) * ratio)
    p_in, p_out = c_in / n, ratio * c_in / n
    labels = torch.arange(n) * k // n
    same = labels[:, None] == labels[None, :]
    p = torch.where(same, torch.tensor(p_in), torch.tensor(p_out))
    upper = torch.triu(torch.rand(n, n, generator=g) < p, diagonal=1)
    u, v = upper.nonzero(as_tuple=True)
    return u, v, labels


def normalized_adjacency(torch, n, u, v):
    loops = torch.arange(n)
    rows = torch.cat([u, v, loops])
    cols = torch.cat([v, u, loops])
    deg = torch.bincount(rows, minlength=n).float()
    dinv = deg.rsqrt()
    vals = dinv[rows] * dinv[cols]
    return torch.sparse_coo_tensor(torch.stack([rows, cols]), vals, (n, n)).coalesce()


def torch_step(torch, pruned, edge_keep):
    nn = torch.nn
    u, v, y = sbm(torch)
    n, k, f = 1000, 4, 32
    if edge_keep < 1.0:
        keep = torch.rand(len(u), generator=torch.Generator().manual_seed(2)).argsort()[:round(edge_keep * len(u))]
        u, v = u[keep], v[keep]
    a = normalized_adjacency(torch, n, u, v)
    means = torch.nn.functional.normalize(torch.randn(k, f), dim=1)
    x = means[y] + torch.randn(n, f)  # contextual SBM features, signal 1
    lin1, lin2 = nn.Linear(f, 64, bias=False), nn.Linear(64, k, bias=False)
    b1, b2 = nn.Parameter(torch.zeros(64)), nn.Parameter(torch.zeros(k))
    if pruned:
        for m in (lin1, lin2):
            torch.nn.utils.prune.l1_unstructured(m, "weight", amount=0.9)
    params = list(lin1.parameters()) + list(lin2.parameters()) + [b1, b2]
    opt = torch.optim.Adam(params, lr=0.01, weight_decay=5e-4)

    def step():
        opt.zero_grad(set_to_none=True)
        h = torch.relu(torch.sparse.mm(a, lin1(x)) + b1)
        out = torch.sparse.mm(a, lin2(h)) + b2
        loss = torch.nn.functional.cross_entropy(out, y)
        loss.backward()
        opt.step()
    return step, len(u)


def main():
    args = common.parser(__doc__.splitlines()[0]).parse_args()
    torch = common.init_threads(args.threads)
    import torch.nn.utils.prune  # noqa: F401
    warnings.filterwarnings("ignore", category=UserWarning)

    s_dense, pairs = torch_step(torch, False, 1.0)
    s_pruned, _ = torch_step(torch, True, 1.0)
    s_edges, kept = torch_step(torch, False, 0.1)
    t, nb = common.compare({"dense": s_dense, "pruned": s_pruned, "edges": s_edges}, REGEX, args)
    t_dense, t_pruned, t_edges = t["dense"], t["pruned"], t["edges"]
    n_full = nb["BM_GcnTrainStep/cpu/edges:1000"]
    n_edges = nb["BM_GcnTrainStep/cpu/edges:100"]
    dense, pruned, edges = f"PyTorch GCN ({pairs} edges)", "PyTorch GCN, prune masks 90% on the weights", \
        f"PyTorch GCN, 10% of the edges ({kept})"
    full, few = "neuroai Hebbian GCN, all edges", "neuroai Hebbian GCN, 10% of the edges"
    timings = [(dense, t_dense, ""), (pruned, t_pruned, ""), (edges, t_edges, ""),
               (full, n_full, "BM_GcnTrainStep/cpu/edges:1000"), (few, n_edges, "BM_GcnTrainStep/cpu/edges:100")]
    ratios = [("neuroai all edges vs PyTorch dense", dense, full, None),
              ("neuroai all edges vs PyTorch prune masks", pruned, full, None),
              ("neuroai 10% edges vs PyTorch 10% edges", edges, few, None)]
    common.report("GCN 32 -> 64 -> 4 on SBM(1000, k=4, deg 20): one full-graph training step", timings, ratios,
                  args)


if __name__ == "__main__":
    main()
