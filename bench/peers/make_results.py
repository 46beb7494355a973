#!/usr/bin/python3
"""Writes bench/RESULTS.md from the outputs of bench/run_cpu_results.sh (one directory of JSON files and
the command that produced each, NAME.json + NAME.cmd):
  kernels    neuroai_bench, CSR kernels and OpenBLAS SGEMM       models     neuroai_bench, training steps
  breakeven  neuroai bench --json (the hand-off's break-even)   mlp, gru, gcn, dense_to_csr   bench/peers/*.py
Usage: /usr/bin/python3 bench/peers/make_results.py RESULTS_DIR [--out bench/RESULTS.md] [--preliminary NOTE]
"""

import argparse
import json
import os
import subprocess
import time

_UNIT = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def load(d, name):
    path = os.path.join(d, name + ".json")
    if not os.path.exists(path):
        return None, None
    with open(path) as f:
        doc = json.load(f)
    cmd_path = os.path.join(d, name + ".cmd")
    cmd = open(cmd_path).read().strip() if os.path.exists(cmd_path) else doc.get("command", "")
    return doc, cmd


def medians(doc, clock):
    """{run name: (median seconds on clock, label)} from a Google Benchmark JSON document."""
    out, singles = {}, {}
    for b in (doc or {}).get("benchmarks", []):
        if b.get("error_occurred"):
            continue
        v = (b["cpu_time" if clock == "cpu" else "real_time"] * _UNIT[b["time_unit"]], b.get("label", ""))
        name = b.get("run_name", b["name"])
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                out[name] = v
        else:
            singles.setdefault(name, v)
    return out or singles


def verdict(value, target, higher_is_better=True):
    if value is None:
        return "not measured"
    ok = value >= target if higher_is_better else value <= target
    return "met" if ok else "**not met**"


def fmt_x(v):
    return "n/a" if v is None else f"{v:.2f}x"


def ratio(doc, label):
    for r in (doc or {}).get("ratios", []):
        if r["label"] == label:
            return r["value"]
    return None


def code(cmd):
    return f"`{cmd}`" if cmd else "n/a"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--out", default="bench/RESULTS.md")
    ap.add_argument("--preliminary", default="")
    ap.add_argument("--clock", choices=["cpu", "wall"], default="cpu",
                    help="time of the neuroai_bench figures (the peers record theirs)")
    a = ap.parse_args()

    kernels, kernels_cmd = load(a.dir, "kernels")
    models, models_cmd = load(a.dir, "models")
    be, be_cmd = load(a.dir, "breakeven")
    peers = {n: load(a.dir, n) for n in ("mlp", "gru", "gcn", "dense_to_csr")}
    km, mm = medians(kernels, a.clock), medians(models, a.clock)

    machine = next((d["machine"] for d, _ in peers.values() if d), {})
    ctx = (kernels or models or {}).get("context", {})
    source = os.path.join(a.dir, "source.txt")  # written by run_cpu_results.sh when the benchmarks ran
    if os.path.exists(source):
        rev = open(source).read().strip()
    else:
        try:
            rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
            dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True).stdout.strip()
            rev = rev + (" + uncommitted changes" if dirty else "")
        except OSError:
            rev = "unknown"
    loads = []
    for f in ("load_start", "load_end"):
        p = os.path.join(a.dir, f + ".txt")
        if os.path.exists(p):
            loads.append(open(p).read().split()[0])
    cores = machine.get("cores") or os.cpu_count()
    # The single-threaded benchmarks themselves keep the load average near 1; more than half a core of
    # other work on top of that makes the figures preliminary.
    busy = any(float(x) > 1.0 + 0.5 * max(1, cores - 1) for x in loads)
    note = a.preliminary or (f"the machine was busy (load average {' -> '.join(loads)} on {cores} cores): "
                             "timings are noisy" if busy else "")

    def k(op, d):
        v = km.get(f"BM_{op}/cpu/m:128/k:1024/n:1024/density:{d}")
        return v[0] if v else None

    sgemm = k("Sgemm", 1000)
    spmm, spmmt, sddmm = k("SpmmCsr", 100), k("SpmmCsrT", 100), k("SddmmCsr", 100)
    div = lambda x, y: x / y if x and y else None  # noqa: E731
    layer1 = next((l for l in (be or {}).get("layers", []) if l["in"] == 1024 and l["out"] == 1024), None)
    handoff = layer1["handoff_density"] if layer1 else None
    mlp, mlp_cmd = peers["mlp"]
    d2c, d2c_cmd = peers["dense_to_csr"]

    L = []
    L.append("# neuroai CPU benchmark results (issue #7, issue #3)")
    L.append("")
    if note:
        L.append(f"> **PRELIMINARY**: {note}. Ratios are taken within one run (both sides taking turns, one "
                 "thread, medians of repetitions); rerun `bench/run_cpu_results.sh` on a quiet machine for "
                 "final figures.")
        L.append("")
    L.append(f"- Machine: {machine.get('cpu', 'unknown')}, {cores} cores; {ctx.get('num_cpus', '?')} CPUs seen "
             f"by Google Benchmark at {ctx.get('mhz_per_cpu', '?')} MHz")
    L.append(f"- Date: {machine.get('date_utc', time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()))}; "
             f"load average at start / end: {' / '.join(loads) or 'n/a'}")
    L.append(f"- Source: git {rev}; Release build, CPU backend, 1 thread on both sides")
    L.append(f"- BLAS: OpenBLAS core {machine.get('openblas_core', '?')} (OPENBLAS_CORETYPE="
             f"{machine.get('openblas_coretype_env') or 'unset'}), shared by neuroai's dense path, the SGEMM "
             f"baseline and PyTorch; PyTorch {machine.get('torch', '?')} (Debian python3-torch)")
    L.append(f"- Clock: {a.clock} time of the benchmark process (with one thread on a shared machine, CPU time "
             "does not count the time spent waiting for a core; wall time does), medians of the repetitions")
    L.append("- Regenerate everything: `bench/run_cpu_results.sh BUILD_DIR` (writes this file)")
    L.append("")
    L.append("## Issue #7 targets (CPU, 1 thread)")
    L.append("")
    L.append("| target | measured | verdict | command |")
    L.append("| --- | --- | --- | --- |")
    r = div(sgemm, spmm)
    L.append(f"| CSR SpMM at 90% sparsity >= 4x OpenBLAS SGEMM (1024x1024, batch 128) | {fmt_x(r)} "
             f"(SGEMM {sgemm * 1e6 if sgemm else 0:.0f} us, SpMM {spmm * 1e6 if spmm else 0:.0f} us) | "
             f"{verdict(r, 4.0)} | {code(kernels_cmd)} |")
    step_dense = mm.get("BM_MlpTrainStep/cpu/density:1000/format:0")
    step_half = mm.get("BM_MlpTrainStep/cpu/density:500/format:1")
    step_note = (f"; whole MLP training step in CSR at density 0.50: {fmt_x(step_dense[0] / step_half[0])} the dense "
                 f"step ({a.clock} time, issue #3 table)" if step_dense and step_half else "")
    # The SpMM target's break-even: the density where SpMM's time crosses SGEMM's, interpolated linearly
    # between the table's densities.
    cross = None
    pts = [(d / 1000, k("SpmmCsr", d)) for d in (1000, 500, 300, 200, 100, 50, 10)]
    pts = [(d, t) for d, t in pts if t and sgemm]
    for (d_hi, t_hi), (d_lo, t_lo) in zip(pts, pts[1:]):
        if t_hi <= sgemm:
            cross = d_hi
            break
        if t_lo <= sgemm:
            cross = d_lo + (d_hi - d_lo) * (sgemm - t_lo) / (t_hi - t_lo)
            break
    if cross is not None:
        L.append(f"| SpMM break-even against SGEMM at <= 60% sparsity (density >= 0.40; aim 50%) | SpMM as fast as "
                 f"SGEMM at density {cross:.2f} (sparsity {100 * (1 - cross):.0f}%) | {verdict(cross, 0.40)} | "
                 f"{code(kernels_cmd)} |")
    else:
        L.append("| SpMM break-even against SGEMM at <= 60% sparsity | n/a | not measured | |")
    if handoff is not None:
        L.append(f"| (for reference, no target) a whole layer, forward + backward (SpMM + SpMM^T + SDDMM against "
                 f"three GEMMs): the engine's hand-off | below density {handoff:.2f} (sparsity > "
                 f"{100 * (1 - handoff):.0f}%); highest density where CSR won in the table: "
                 f"{layer1['break_even']:.2f}{step_note} | | {code(be_cmd)} |")
    r = div(spmmt, spmm)
    L.append(f"| transposed SpMM <= 1.5x forward SpMM (90%) | {fmt_x(r)} | {verdict(r, 1.5, False)} | "
             f"{code(kernels_cmd)} |")
    r = div(sgemm, sddmm)
    L.append(f"| SDDMM at 90% >= 3x SGEMM | {fmt_x(r)} | {verdict(r, 3.0)} | {code(kernels_cmd)} |")
    for label, target, text in (("neuroai 90% CSR vs PyTorch dense", 3.0, "MLP training at 90% >= 3x PyTorch dense"),
                                ("neuroai 90% CSR vs PyTorch prune masks", 3.5,
                                 "MLP training at 90% >= 3.5x PyTorch with prune masks"),
                                ("neuroai dense vs PyTorch dense", 1.0, "dense MLP training >= 1.0x PyTorch")):
        v = ratio(mlp, label)
        L.append(f"| {text} | {fmt_x(v)} | {verdict(v, target)} | {code(mlp_cmd)} |")
    v = ratio(d2c, "neuroai vs PyTorch to_sparse_csr")
    vm = ratio(d2c, "neuroai from the mask vs PyTorch to_sparse_csr")
    mask_note = f"; from W's mask (the engine's hand-off): {fmt_x(vm)}" if vm else ""
    L.append(f"| dense -> CSR >= 100x torch `to_sparse_csr` (1024x1024, 90%; both keep W != 0) | {fmt_x(v)}"
             f"{mask_note} | {verdict(v, 100.0)} | {code(d2c_cmd)} |")
    L.append("| GPU targets (cuBLAS / cuSPARSE comparisons, GPU pruning vs a device copy, GPU training) | "
             "not measured: no GPU lent to this task | not measured | `tools/device-check.sh` on a GPU machine |")
    L.append("")
    # What limits a target that is not met (measured while tuning the kernels; see the commit log).
    limits = []
    if div(sgemm, spmm) is not None and div(sgemm, spmm) < 4.0:
        limits.append(
            "- **SpMM >= 4x SGEMM at 90%**: the kernel does one vector load of a 512-byte row of X^T per stored "
            "entry and one FMA per load, so it runs at the rate X^T streams from cache. Unblocked, X^T (512 KiB) "
            "lives in L2 (~40 B/cycle); 2-D tiling keeps its slice in L1 but costs ~35 cycles per (row, K block) "
            "to park the accumulators and leave the loop, which at 10% density (~12 entries per block) cancels "
            "most of the gain: 1.1-1.2x at densities 0.2-0.5, ~5% at 0.1. Tried without gain: 32/64-wide batch "
            "blocks, 16-48 KiB L1 budgets, two rows in flight, two accumulator sets, 16x16 transposes back. The "
            "two transposes (X -> X^T, Y^T -> Y) are ~10% of the time at 90%; keeping activations transposed "
            "between CSR layers (an engine change) would remove them.")
    if v is not None and v < 100.0:
        limits.append(
            "- **dense -> CSR >= 100x `to_sparse_csr`**: memory-bound. W (4 MiB) streams from L3 on every call "
            "and a pure read of it takes ~134 us on one core here (~31 GB/s); converting W != 0 needs two reads "
            "(count, then fill) because the output must be allocated between them, so ~270 us is the floor "
            "(~50x PyTorch's ~14 ms). From the mask (what the engine's hand-off does) the count reads 1 MiB of "
            "mask bytes instead. Skipping all-pruned chunks and software prefetch were measured and not faster.")
    if limits:
        L.append("### What limits the targets not met")
        L.append("")
        L.extend(limits)
        L.append("")

    L.append("## Issue #3: MLP training step after the hand-off >= 3x a dense step")
    L.append("")
    L.append("784-1024-1024-10, batch 128, Adam, random data, one thread; every layer pruned to the density "
             "(layerwise magnitude). format 0 = dense (masked GEMM), 1 = CSR, 2 = the engine's own hand-off "
             "(formats in the last column).")
    L.append("")
    L.append("| density | format | step ms | samples/s | vs dense step | layer formats |")
    L.append("| --- | --- | --- | --- | --- | --- |")
    dense = mm.get("BM_MlpTrainStep/cpu/density:1000/format:0")
    for name, (sec, label) in sorted(mm.items(), key=lambda kv: (kv[0].split("format:")[-1],
                                                                  -int(kv[0].split("density:")[1].split("/")[0]))
                                     if kv[0].startswith("BM_MlpTrainStep") else ("z", 0)):
        if not name.startswith("BM_MlpTrainStep"):
            continue
        d = int(name.split("density:")[1].split("/")[0]) / 1000
        fmt_ = name.split("format:")[1]
        L.append(f"| {d:.2f} | {fmt_} | {sec * 1e3:.1f} | {128 / sec:.0f} | "
                 f"{fmt_x(dense[0] / sec) if dense else 'n/a'} | {label} |")
    L.append("")
    L.append(f"Command: {code(models_cmd)}")
    L.append("")

    for key, title in (("mlp", "MLP vs PyTorch"), ("gru", "GRU vs PyTorch"), ("gcn", "GCN vs PyTorch"),
                       ("dense_to_csr", "Dense -> CSR vs PyTorch")):
        doc, cmd = peers[key]
        L.append(f"## {title}")
        L.append("")
        if not doc:
            L.append("not measured")
            L.append("")
            continue
        L.append(f"{doc['title']}. Ratios are PyTorch time / neuroai time (> 1: neuroai faster).")
        L.append("")
        L.append(f"Ratios use {doc['clock']} time.")
        L.append("")
        L.append("| run | wall ms | cpu ms | source |")
        L.append("| --- | --- | --- | --- |")
        for t in doc["timings"]:
            L.append(f"| {t['label']} | {t['wall_s'] * 1e3:.3f} | {t['cpu_s'] * 1e3:.3f} | "
                     f"{t['note'] or 'PyTorch'} |")
        L.append("")
        L.append("| ratio | value | target |")
        L.append("| --- | --- | --- |")
        for rr in doc["ratios"]:
            tgt = "" if rr["target"] is None else f">= {rr['target']:g}: {verdict(rr['value'], rr['target'])}"
            L.append(f"| {rr['label']} | {rr['value']:.2f}x | {tgt} |")
        L.append("")
        L.append(f"Command: {code(cmd)} (load average {doc['machine']['load_avg_1m']:.1f} when it ended)")
        L.append("")

    L.append("## CSR kernels against OpenBLAS SGEMM (m = 128, k = n = 1024, 1 thread)")
    L.append("")
    L.append("SGEMM is the dense Y = X W^T at any density. Speed-up = SGEMM time / kernel time.")
    L.append("")
    L.append("| density | SpMM us | SpMM^T us | SDDMM us | dense->CSR us | SpMM vs SGEMM | SpMM^T / SpMM | "
             "SDDMM vs SGEMM |")
    L.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for d in (1000, 500, 300, 200, 100, 50, 10):
        s, t, dd, c = k("SpmmCsr", d), k("SpmmCsrT", d), k("SddmmCsr", d), k("DenseToCsr", d)
        us = lambda v: f"{v * 1e6:.0f}" if v else "n/a"  # noqa: E731
        L.append(f"| {d / 1000:.2f} | {us(s)} | {us(t)} | {us(dd)} | {us(c)} | {fmt_x(div(sgemm, s))} | "
                 f"{fmt_x(div(t, s))} | {fmt_x(div(sgemm, dd))} |")
    L.append("")
    L.append(f"SGEMM (OpenBLAS): {sgemm * 1e6 if sgemm else 0:.0f} us. Command: {code(kernels_cmd)}")
    L.append("")

    L.append("## Break-even density of the hand-off (`neuroai bench`)")
    L.append("")
    L.append("Forward + backward (dX, dW, db) of one layer, dense (masked GEMM) against CSR, timed by the engine's "
             "own measure_break_even (wall clock, median of at most 3 calls, 1 when a call takes > 20 ms): on a "
             "busy machine single cells can be off by several times; the hand-off density is what "
             "break_even_density() returned in the same process.")
    L.append("")
    for l in (be or {}).get("layers", []):
        L.append(f"{l['name']}: {l['in']} -> {l['out']}, batch {l['batch']}, forward + backward; hand-off below "
                 f"density {l['handoff_density']:.2f}")
        L.append("")
        L.append("| density | dense ms | CSR ms | CSR / dense |")
        L.append("| --- | --- | --- | --- |")
        for d, dn, cs in zip(l["density"][::-1], l["dense_ms"][::-1], l["csr_ms"][::-1]):
            L.append(f"| {d:.2f} | {dn:.3f} | {cs:.3f} | {cs / dn:.2f} |")
        L.append("")
    if be:
        L.append(f"Command: {code(be_cmd)}")
        L.append("")
    with open(a.out, "w") as f:
        f.write("\n".join(L))
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
