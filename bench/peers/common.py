"""Shared helpers of the PyTorch peer comparisons: thread setup, step timing, running neuroai_bench and
reading its JSON, and the ratio table. Ratios are neuroai speed-ups: PyTorch time / neuroai time, so
> 1 means neuroai is faster. Both sides run on the same machine, taking turns (compare()), in one script."""

import argparse
import ctypes
import json
import os
import platform
import statistics
import subprocess
import sys
import time

_TORCH = None


def parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--threads", type=int, default=1, help="threads for both sides (torch.set_num_threads, "
                   "NEUROAI_BENCH_THREADS)")
    p.add_argument("--bench", default="build/neuroai_bench", help="the neuroai_bench binary")
    p.add_argument("--reps", type=int, default=3, help="repetitions; medians are reported")
    p.add_argument("--min-time", type=float, default=0.5, help="seconds of timed steps per repetition")
    p.add_argument("--json", default="", help="also write the results to this JSON file")
    p.add_argument("--clock", choices=["cpu", "wall"], default="",
                   help="time the ratios use (default: cpu with --threads 1, else wall)")
    return p


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def init_threads(threads):
    """Pins every thread pool before torch loads (OpenBLAS reads its variables at load time), and picks
    the OpenBLAS core as neuroai's programs do (kernels/cpu/blas_core.cpp: SkylakeX with AVX-512, Haswell
    with AVX2, unless OPENBLAS_CORETYPE is set), so PyTorch's GEMMs get the same kernels as neuroai's."""
    global _TORCH
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    if "OPENBLAS_CORETYPE" not in os.environ:
        flags = cpu_flags()
        core = "SkylakeX" if "avx512f" in flags else "Haswell" if "avx2" in flags else ""
        if core:
            os.environ["OPENBLAS_CORETYPE"] = core
    os.environ["NEUROAI_BENCH_THREADS"] = str(threads)
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    _TORCH = torch
    return torch


def openblas_core():
    """The kernel family OpenBLAS picked on this CPU (0.3.21 falls back to 'Prescott' on CPUs it does not
    know; OPENBLAS_CORETYPE overrides it)."""
    try:
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib.openblas_get_corename().decode()
    except OSError:
        return "unknown"


def machine():
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_avg_1m": os.getloadavg()[0],
        "openblas_core": openblas_core(),
        "openblas_coretype_env": os.environ.get("OPENBLAS_CORETYPE", ""),
        "torch": _TORCH.__version__ if _TORCH else "",
        "date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def time_steps(steps, reps=3, min_time=0.5, warmup=3):
    """steps: {label: step function}. Returns {label: {"wall": s, "cpu": s}}, the median over reps of the
    mean time per step; each repetition runs whole steps for >= min_time of wall time. The variants take
    turns (round robin over the repetitions) so that a change of load or clock speed during the run falls
    on all of them alike. "cpu" is the process CPU time (all its threads)."""
    for step in steps.values():
        for _ in range(warmup):
            step()
    wall = {k: [] for k in steps}
    cpu = {k: [] for k in steps}
    for _ in range(reps):
        for label, step in steps.items():
            n, t0, c0 = 0, time.perf_counter(), time.process_time()
            while True:
                step()
                n += 1
                dt = time.perf_counter() - t0
                if dt >= min_time and n >= 3:
                    break
            wall[label].append(dt / n)
            cpu[label].append((time.process_time() - c0) / n)
    return {k: {"wall": statistics.median(wall[k]), "cpu": statistics.median(cpu[k])} for k in steps}


_UNIT = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def neuroai_bench(binary, regex, reps=3, threads=1):
    """Runs neuroai_bench on the benchmarks matching regex; returns {run name: {"wall": s, "cpu": s}}
    (medians of the repetitions)."""
    if not os.path.exists(binary):
        sys.exit(f"{binary} not found: build it (cmake --build BUILD --target neuroai_bench) or pass --bench")
    cmd = [binary, f"--benchmark_filter={regex}", "--benchmark_format=json", f"--benchmark_repetitions={reps}",
           "--benchmark_report_aggregates_only=true"]
    env = dict(os.environ, NEUROAI_BENCH_THREADS=str(threads))
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    times, singles = {}, {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("error_occurred"):
            sys.exit(f"neuroai_bench: {b['name']}: {b.get('error_message')}")
        u = _UNIT[b["time_unit"]]
        t = {"wall": b["real_time"] * u, "cpu": b["cpu_time"] * u}
        name = b.get("run_name", b["name"])
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                times[name] = t
        else:
            singles[name] = t
    return times or singles


def compare(steps, regex, args):
    """Times the PyTorch steps and the neuroai benchmarks matching regex in args.reps rounds, each round
    one repetition of every PyTorch variant and then one neuroai_bench run, so that load changes fall on
    both sides alike. Returns ({label: {"wall", "cpu"}}, {run name: {"wall", "cpu"}}), medians."""
    torch_runs, neuroai_runs = [], []
    for r in range(args.reps):
        torch_runs.append(time_steps(steps, 1, args.min_time, warmup=3 if r == 0 else 1))
        neuroai_runs.append(neuroai_bench(args.bench, regex, 1, args.threads))

    def med(runs):
        return {k: {c: statistics.median(run[k][c] for run in runs) for c in ("wall", "cpu")} for k in runs[0]}
    return med(torch_runs), med(neuroai_runs)


def clock(args):
    """The clock ratios use: CPU time with one thread (robust when other processes share the cores: the
    wall time then includes waiting for a core), wall time with more threads."""
    return args.clock or ("cpu" if args.threads == 1 else "wall")


def command_line():
    return " ".join([os.path.relpath(sys.argv[0])] + sys.argv[1:])


def report(title, timings, ratios, args, extra=None):
    """timings: [(label, {"wall": s, "cpu": s}, note)]; ratios: [(label, numerator key, denominator key,
    target or None)] where the keys are timing labels and the value is time(numerator) / time(denominator)
    on clock(args). Prints the tables and writes --json when asked."""
    m = machine()
    c = clock(args)
    t = {label: sec for label, sec, _ in timings}
    values = [(label, t[num][c] / t[den][c], target) for label, num, den, target in ratios]
    print(f"== {title}")
    print(f"   {m['cpu']}, {args.threads} thread(s), torch {m['torch']}, OpenBLAS core {m['openblas_core']}, "
          f"load {m['load_avg_1m']:.1f}, {m['date_utc']}; ratios on {c} time")
    print(f"   {'':<52} {'wall ms':>10} {'cpu ms':>10}")
    for label, sec, note in timings:
        print(f"   {label:<52} {sec['wall'] * 1e3:10.3f} {sec['cpu'] * 1e3:10.3f}  {note}")
    for label, value, target in values:
        verdict = "" if target is None else ("  (target >= {:g}: {})".format(target, "met" if value >= target
                                                                                 else "NOT met"))
        print(f"   {label:<52} {value:10.2f}x{verdict}")
    if args.json:
        doc = {"title": title, "command": command_line(), "machine": m, "threads": args.threads, "clock": c,
               "timings": [{"label": l, "wall_s": s["wall"], "cpu_s": s["cpu"], "note": n} for l, s, n in timings],
               "ratios": [{"label": l, "value": v, "target": tg} for l, v, tg in values]}
        if extra:
            doc.update(extra)
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=2)
