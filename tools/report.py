#!/usr/bin/env python3
"""Figures and a markdown page for a neuroai run or sweep folder (run by `neuroai report`).

    report.py RUN_DIR|SWEEP_DIR OUT_DIR

Run folder: metrics.jsonl (one line per epoch), optional steps.jsonl (train loss every few steps and one
line per pruning event with each layer's density and format), config.toml, unit_class.json (written by
`neuroai report` for MLP runs), done. Sweep folder: summary.csv and one run folder per setting and seed.
Needs matplotlib (Debian python3-matplotlib); everything else is the standard library."""
import csv
import json
import math
import os
import sys

try:
    import tomllib
except ImportError:  # Python < 3.11
    tomllib = None

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402


def read_jsonl(path):
    rows = []
    if not os.path.exists(path):
        return rows
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    pass  # a line cut short by a kill
    return rows


def read_config(run):
    path = os.path.join(run, "config.toml")
    if tomllib is None or not os.path.exists(path):
        return {}
    with open(path, "rb") as f:
        return tomllib.load(f)


def read_done(run):
    try:
        with open(os.path.join(run, "done")) as f:
            return json.load(f).get("final", {})
    except (OSError, json.JSONDecodeError):
        return {}


def save(fig, out, name):
    path = os.path.join(out, name)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return name


def series(rows, key):
    """(x, y) of rows that have key; x is the step when logged, else the epoch (GNN: training steps)."""
    pts = [(r.get("step", r.get("epoch")), r[key]) for r in rows
           if isinstance(r.get(key), (int, float)) and r.get("step", r.get("epoch")) is not None]
    return [p[0] for p in pts], [p[1] for p in pts]


def loss_accuracy(epochs, steps, out):
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6))
    train = [s for s in steps if "train_loss" in s and "event" not in s]
    if train:
        a1.plot(*series(train, "train_loss"), lw=0.8, label="train (per step)")
    else:
        for key in ("train_loss", "loss"):
            if series(epochs, key)[0]:
                a1.plot(*series(epochs, key), "o-", ms=3, label="train")
                break
    if series(epochs, "test_loss")[0]:
        a1.plot(*series(epochs, "test_loss"), "s-", label="test")
    for i, key in enumerate(("test_acc", "train_acc")):
        if series(epochs, key)[0]:
            a2.plot(*series(epochs, key), "s-", ms=3, color=f"C{2 + i}", label=key.replace("_", " "))
    a1.set(xlabel="step", ylabel="loss", title="Loss")
    a1.legend()
    a2.legend()
    a2.set(xlabel="step", ylabel="accuracy", title="Accuracy (at each evaluation)")
    a2.grid(alpha=0.3)
    return save(fig, out, "loss_accuracy.png")


def density_curves(epochs, steps, out):
    """Per layer density over steps; a marker where the layer went to CSR."""
    if epochs and "layers" not in epochs[-1]:
        return edge_density(epochs, out)
    events = [s for s in steps if s.get("event") in ("prune", "start")]
    if events:
        source = events + epochs[-1:]  # the last epoch extends the curves to the end of training
    elif epochs:  # per-epoch densities, starting dense
        source = [{"step": 0, "layers": [dict(l, density=1.0, format="dense") for l in epochs[0]["layers"]]}] + epochs
    else:
        return None
    names = [l["name"] for l in source[-1]["layers"]]
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    handoffs = []
    for i, name in enumerate(names):
        xs, ys, csr_at = [], [], None
        for s in source:
            layer = next((l for l in s["layers"] if l["name"] == name), None)
            if layer is None:
                continue
            xs.append(s["step"])
            ys.append(layer["density"])
            if csr_at is None and layer.get("format") == "csr":
                csr_at = (s["step"], layer["density"])
        # Layers often share a density (layerwise allocation): line styles keep each visible.
        style = dict(color=f"C{i}", ls=["-", "--", ":", "-."][i % 4], lw=2.4 - 0.5 * (i % 4))
        label = f"{name} (CSR from step {csr_at[0]})" if csr_at else name
        if events:
            ax.step(xs, ys, where="post", label=label, **style)
        else:
            ax.plot(xs, ys, marker="o", label=label, **style)
        if csr_at:
            ax.plot(*csr_at, marker="v", ms=9, color=f"C{i}", mec="k")
            handoffs.append((name, csr_at[0]))
    ax.plot([], [], "v", color="gray", mec="k", label="CSR hand-off")
    ax.set(xlabel="step", ylabel="density (alive / all weights)", title="Density per layer", ylim=(0, 1.05))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save(fig, out, "density.png"), handoffs


def edge_density(epochs, out):
    """GNN runs: the kept fraction of the graph's edges."""
    xs, ys = series(epochs, "edge_density")
    if not xs:
        return None
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    ax.plot(xs, ys, "-", label="edges kept / edges")
    ax.set(xlabel="step", ylabel="edge density", title="Edge density", ylim=(0, 1.05))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save(fig, out, "density.png"), []


def participation(epochs, out):
    xs, ys = series(epochs, "participation_ratio")
    if not xs:
        return None
    fig, ax = plt.subplots(figsize=(5, 3.4))
    ax.plot(xs, ys, "o-", label="all variance")
    # MLP runs also split the covariance by class (engine/metrics.h class_covariance_split).
    for key, label in (("pr_between_class", "between classes"), ("pr_within_class", "within classes")):
        bx, by = series(epochs, key)
        if bx:
            ax.plot(bx, by, ".--", label=label)
    ax.set(xlabel="step", ylabel="participation ratio", title="Participation ratio (last hidden layer)")
    ax.grid(alpha=0.3)
    if len(ax.get_lines()) > 1:
        ax.legend(fontsize=8)
    return save(fig, out, "participation_ratio.png")


def unit_maps(run, out):
    path = os.path.join(run, "unit_class.json")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        uc = json.load(f)
    k = uc["classes"]
    cmap = ListedColormap(["#202020"] + [plt.get_cmap("tab10" if k <= 10 else "tab20")(i) for i in range(k)])
    names = []
    for i, layer in enumerate(uc["layers"]):
        r, c = layer["rows"], layer["cols"]
        grid = [[layer["preferred"][y * c + x] + 1 for x in range(c)] for y in range(r)]
        fig, ax = plt.subplots(figsize=(5.2, 4.6 * r / max(c, 1) + 0.8))
        im = ax.imshow(grid, cmap=cmap, vmin=-0.5, vmax=k + 0.5, interpolation="nearest")
        cb = fig.colorbar(im, ax=ax, ticks=range(k + 1), fraction=0.046)
        cb.ax.set_yticklabels(["silent"] + [str(j) for j in range(k)], fontsize=7)
        ax.set(title=f"{layer['name']}: preferred class per unit ({r}x{c} sheet)", xticks=[], yticks=[])
        names.append(save(fig, out, f"unit_class_{i}.png"))
    return names


def adjacency(run, out):
    """GNN runs: the kept edges as an adjacency matrix with the nodes ordered by community."""
    path, lab = os.path.join(run, "kept_edges.txt"), os.path.join(run, "node_labels.json")
    if not (os.path.exists(path) and os.path.exists(lab)):
        return None
    with open(lab) as f:
        labels = json.load(f)["labels"]
    if not labels:
        return None
    order = sorted(range(len(labels)), key=lambda i: (labels[i], i))
    pos = {node: k for k, node in enumerate(order)}
    xs, ys = [], []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if not parts or parts[0].startswith("#"):
                continue
            u, v = int(parts[0]), int(parts[1])
            if u in pos and v in pos:
                xs += [pos[u], pos[v]]
                ys += [pos[v], pos[u]]
    fig, ax = plt.subplots(figsize=(5.6, 5.6))
    ax.scatter(xs, ys, s=0.3, c="k", marker=".", linewidths=0)
    bounds = [k for k in range(1, len(order)) if labels[order[k]] != labels[order[k - 1]]]
    for b in bounds:
        ax.axhline(b, color="C3", lw=0.6)
        ax.axvline(b, color="C3", lw=0.6)
    ax.set(xlim=(0, len(order)), ylim=(len(order), 0), title=f"Kept adjacency ({len(xs) // 2} edges), nodes by community",
           xlabel="node (ordered by community)", ylabel="node")
    return save(fig, out, "adjacency.png")


def run_report(run, out, title=None):
    os.makedirs(out, exist_ok=True)
    epochs = read_jsonl(os.path.join(run, "metrics.jsonl"))
    steps = read_jsonl(os.path.join(run, "steps.jsonl"))
    cfg = read_config(run)
    final = read_done(run) or (epochs[-1] if epochs else {})
    md = [f"# {title or 'Run ' + run}", ""]
    if cfg:
        md += [f"`neuroai {cfg.get('command', '?')} --config {os.path.join(run, 'config.toml')}`", ""]
    if final:
        keys = ["test_acc", "test_loss", "sparsity", "participation_ratio", "samples_per_s", "step"]
        md += ["| " + " | ".join(k for k in keys if k in final) + " |",
               "|" + "---|" * sum(k in final for k in keys),
               "| " + " | ".join(fmt(final[k]) for k in keys if k in final) + " |", ""]
        if final.get("layers"):
            md += ["| layer | out x in | density | nnz | format |", "|---|---|---|---|---|"]
            for l in final["layers"]:
                shape = l.get("shape") or [l.get("out", "?"), l.get("in", "?")]  # RNN lines: out / in
                md.append(f"| {l.get('name')} | {shape[0]}x{shape[1]} | {l.get('density', float('nan')):.4f} | "
                          f"{l.get('nnz', '?')} | {l.get('format', '?')} |")
            md.append("")
    if epochs:
        md += ["## Loss and accuracy", "", f"![loss and accuracy]({loss_accuracy(epochs, steps, out)})", ""]
        d = density_curves(epochs, steps, out)
        if d:
            name, handoffs = d
            md += ["## Density per layer", "", f"![density]({name})", ""]
            if "layers" in epochs[-1]:
                md += [("CSR hand-off: " + ", ".join(f"{n} at step {s}" for n, s in handoffs)) if handoffs else
                       "No layer went to CSR in this run.", ""]
            if not steps and "layers" in epochs[-1]:
                md += ["(per-epoch densities: this run has no steps.jsonl)", ""]
        p = participation(epochs, out)
        if p:
            md += ["## Participation ratio", "", f"![participation ratio]({p})", ""]
    adj = adjacency(run, out)
    if adj:
        md += ["## Kept adjacency by community", "", f"![kept adjacency]({adj})", ""]
    maps = unit_maps(run, out)
    if maps:
        md += ["## Preferred class per unit (topographic maps)", "",
               "Each hidden unit's class with the highest mean activation on the test set; dark = silent.", ""]
        md += [f"![unit map]({m})" for m in maps] + [""]
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write("\n".join(md))
    return os.path.join(out, "report.md")


def fmt(v):
    if isinstance(v, float):
        return f"{v:.0f}" if abs(v) >= 100 else f"{v:.4f}"
    return str(v)


def sweep_report(sweep, out):
    os.makedirs(out, exist_ok=True)
    runs = sorted(d for d in os.listdir(sweep) if os.path.exists(os.path.join(sweep, d, "done")))
    points = []  # (group label, sparsity, test_acc)
    for d in runs:
        final, cfg = read_done(os.path.join(sweep, d)), read_config(os.path.join(sweep, d))
        if "test_acc" not in final or "sparsity" not in final:
            continue
        group = d.split("_seed-")[0]
        # Curves join settings that differ only in their target sparsity.
        label = "_".join(p for p in group.split("_") if not p.startswith("sparsity-")) or "all"
        points.append((label, final["sparsity"], final["test_acc"], cfg.get("sparsity", final["sparsity"])))
    md = [f"# Sweep {sweep}", ""]
    summary = os.path.join(sweep, "summary.md")
    if os.path.exists(summary):
        with open(summary) as f:
            md += [line.rstrip("\n") for line in f.readlines()[2:]] + [""]
    if points:
        fig, ax = plt.subplots(figsize=(6, 4))
        for i, label in enumerate(sorted({p[0] for p in points})):
            pts = [p for p in points if p[0] == label]
            ax.scatter([p[1] for p in pts], [p[2] for p in pts], s=14, alpha=0.5, color=f"C{i}")
            targets = sorted({p[3] for p in pts})
            xs, ms, sds = [], [], []
            for t in targets:
                g = [p for p in pts if p[3] == t]
                accs = [p[2] for p in g]
                m = sum(accs) / len(accs)
                xs.append(sum(p[1] for p in g) / len(g))
                ms.append(m)
                sds.append(math.sqrt(sum((a - m) ** 2 for a in accs) / (len(accs) - 1)) if len(accs) > 1 else 0.0)
            ax.errorbar(xs, ms, yerr=sds, marker="o", capsize=3, color=f"C{i}", label=label)
        ax.set(xlabel="weight sparsity (final)", ylabel="test accuracy", title="Accuracy against sparsity (mean ± std)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        md += ["## Accuracy against sparsity", "", f"![accuracy against sparsity]({save(fig, out, 'accuracy_vs_sparsity.png')})", ""]
    md += ["## Runs", ""]
    for d in runs:
        page = run_report(os.path.join(sweep, d), os.path.join(out, d), title=f"Run {d}")
        md.append(f"- [{d}]({os.path.relpath(page, out)})")
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    return os.path.join(out, "report.md")


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    src, out = argv
    if os.path.exists(os.path.join(src, "summary.csv")):
        page = sweep_report(src, out)
    else:
        page = run_report(src, out)
    pngs = sorted(os.path.relpath(os.path.join(d, f), out) for d, _, fs in os.walk(out) for f in fs if f.endswith(".png"))
    print(f"wrote {page} and {len(pngs)} figures: {', '.join(pngs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
