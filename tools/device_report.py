#!/usr/bin/env python3
"""The device check's one table: gtest XML reports and a Google Benchmark JSON file -> text.

Usage (tools/device-check.sh calls it; standard library only, so it runs on any python3):
  python3 tools/device_report.py --raw DIR [--bench FILE] [--manifest FILE]
  python3 tools/device_report.py --selftest

DIR holds, per test binary NAME: NAME.xml (--gtest_output), NAME.rc (its exit status) and NAME.log.
Rows are one per test case: op (suite.test without the backend suffix), backend (cpu|cuda, from the
parameter suffix), result (pass|fail|skip) and max error (the "max_error" property that
tests/backend_fixture.h's all_close records). A binary without XML (crash, timeout, missing library)
gets one row of its own. The benchmark table shows name, time per iteration and the counters
(FLOP/s, bytes/s, ...). Exit status: 1 when a test failed or a binary did not finish cleanly, else 0.
"""
import argparse
import json
import os
import re
import sys
import tempfile
import xml.etree.ElementTree as ET

BACKENDS = ("cpu", "cuda")
# Fields of a benchmark JSON entry that are not user counters.
BENCH_FIELDS = {
    "name", "family_index", "per_family_instance_index", "run_name", "run_type", "repetitions",
    "repetition_index", "threads", "iterations", "real_time", "cpu_time", "time_unit", "label",
    "error_occurred", "error_message", "aggregate_name", "aggregate_unit", "big_o", "rms",
    "complexity_n", "skipped", "skip_message",
}


def split_backend(name, value_param):
    """'Op/cuda' -> ('Op', 'cuda'); 'Op/cuda_1x1' -> ('Op/1x1', 'cuda'); '-' when not per backend."""
    m = re.match(r"^(.*)/(cpu|cuda)(?:[_/](.*))?$", name)
    if m:
        return m.group(1) + ("/" + m.group(3) if m.group(3) else ""), m.group(2)
    vp = (value_param or "").strip('"')
    return name, (vp if vp in BACKENDS else "-")


def parse_xml(path):
    """Test case rows of one gtest XML report."""
    rows = []
    root = ET.parse(path).getroot()
    for suite in root.iter("testsuite"):
        for case in suite.iter("testcase"):
            op, backend = split_backend(case.get("name", ""), case.get("value_param"))
            failure = case.find("failure")
            if failure is None:
                failure = case.find("error")
            if failure is not None:
                result = "fail"
            elif case.find("skipped") is not None or case.get("result") == "skipped" or case.get("status") == "notrun":
                result = "skip"
            else:
                result = "pass"
            props = {p.get("name"): p.get("value") for p in case.iter("property")}
            max_err = props.get("max_error", case.get("max_error"))
            msg = ""
            if failure is not None:
                msg = failure.get("message") or (failure.text or "")
            elif result == "skip":
                sk = case.find("skipped")
                msg = sk.get("message", "") if sk is not None else ""
            rows.append({
                "op": suite.get("name", "?") + "." + op, "backend": backend, "result": result,
                "max_error": max_err, "time": float(case.get("time") or 0), "message": msg,
            })
    return rows


def load_bench(path):
    """Benchmark entries; tolerates a file cut short by a timeout."""
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    try:
        return json.loads(text).get("benchmarks", [])
    except ValueError:
        pass
    # Keep the complete entries: cut after the last "}," or "}" at entry depth and close the document.
    start = text.find('"benchmarks"')
    if start < 0:
        return []
    for end in range(len(text), start, -1):
        if text[end - 1] != "}":
            continue
        try:
            return json.loads(text[:end] + "]}").get("benchmarks", [])
        except ValueError:
            continue
    return []


def si(v):
    for unit, scale in (("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(v) >= scale:
            return "%.3g%s" % (v / scale, unit)
    return "%.3g" % v


def fmt_time(value, unit):
    ns = value * {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}.get(unit, 1)
    for u, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= scale:
            return "%.3g %s" % (ns / scale, u)
    return "%.3g ns" % ns


def table(header, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)] if rows else [len(h) for h in header]
    line = lambda r: "  ".join(str(x).ljust(w) for x, w in zip(r, widths)).rstrip()
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def binary_status(rc):
    if rc is None:
        return "notrun"
    if rc in (124, 137):
        return "timeout"
    if rc == 127:
        return "noexec(127)"
    if rc > 128:
        return "signal%d" % (rc - 128)
    return "rc=%d" % rc


def log_tail(raw, name, n=4):
    path = os.path.join(raw, name + ".log")
    if not os.path.exists(path):
        return " (none)"
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = [l.rstrip() for l in f if l.strip()]
    return "".join("\n    " + l[:160] for l in lines[-n:]) or " (empty)"


def report(raw, bench_path=None, manifest=None, out=sys.stdout):
    """Prints the tables; returns the exit status."""
    names = sorted({os.path.splitext(f)[0] for f in os.listdir(raw)
                    if f.endswith((".xml", ".rc")) and f.startswith("test_")})
    rows, problems, failures = [], [], []
    counts = {"pass": 0, "fail": 0, "skip": 0}
    per_backend = {}
    bench_errors = 0
    for name in names:
        xml_path, rc_path = os.path.join(raw, name + ".xml"), os.path.join(raw, name + ".rc")
        rc = None
        if os.path.exists(rc_path):
            with open(rc_path) as f:
                txt = f.read().strip()
            rc = int(txt) if txt.lstrip("-").isdigit() else None
        cases = []
        if os.path.exists(xml_path):
            try:
                cases = parse_xml(xml_path)
            except ET.ParseError as e:
                problems.append("%s: unreadable XML (%s)" % (name, e))
        for c in cases:
            counts[c["result"]] += 1
            per_backend.setdefault(c["backend"], {"pass": 0, "fail": 0, "skip": 0})[c["result"]] += 1
            err = "-" if c["max_error"] is None else "%.3g" % float(c["max_error"])
            rows.append([c["op"], c["backend"], c["result"], err, "%.2f" % c["time"]])
            if c["result"] == "fail":
                # The message's first line is file:line; the rest, joined, says what went wrong.
                lines = [l.strip() for l in c["message"].splitlines() if l.strip()]
                what = " | ".join(lines[1:] if len(lines) > 1 else lines)
                failures.append("%s [%s]: %s" % (c["op"], c["backend"], what[:200]))
        had_fail = any(c["result"] == "fail" for c in cases)
        if not cases or (rc not in (0, None) and not had_fail):
            # Crashed, timed out or could not start: the binary itself is the failing row.
            rows.append([name + " (binary)", "-", "FAIL " + binary_status(rc), "-", "-"])
            problems.append("%s: %s; end of %s.log:%s" % (name, binary_status(rc), name, log_tail(raw, name)))
    print("== Tests", file=out)
    print(table(["op", "backend", "result", "max_error", "time_s"], rows), file=out)
    if bench_path and os.path.exists(bench_path):
        print("\n== Benchmarks", file=out)
        brows = []
        for b in load_bench(bench_path):
            if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "mean":
                continue
            if b.get("error_occurred") or b.get("skipped"):
                bench_errors += 1
                brows.append([b.get("name", "?"), "error", (b.get("error_message") or b.get("skip_message", ""))[:100]])
                continue
            counters = ["%s=%s" % (k, si(v)) for k, v in b.items()
                        if k not in BENCH_FIELDS and isinstance(v, (int, float))]
            brows.append([b.get("name", "?"), fmt_time(b.get("real_time", 0), b.get("time_unit", "ns")),
                          " ".join(counters)])
        print(table(["benchmark", "time", "counters"], brows) if brows else "(no benchmark results)", file=out)
        if bench_errors:
            print("%d of %d benchmarks reported an error (not counted as a test failure)" % (bench_errors, len(brows)),
                  file=out)

    if manifest and os.path.exists(manifest):
        with open(manifest) as f:
            missing = [l.split(None, 1)[1].strip() for l in f if l.startswith("build-failed")]
        if missing:
            print("\nNot in the bundle (failed to build): " + ", ".join(missing), file=out)
    if failures:
        print("\n== Failures", file=out)
        cap = 60
        print("\n".join(failures[:cap]), file=out)
        if len(failures) > cap:
            print("... and %d more (the XML in raw/ has them all)" % (len(failures) - cap), file=out)
    if problems:
        print("\n== Binaries that did not finish cleanly", file=out)
        print("\n".join(problems), file=out)

    bad = counts["fail"] + len(problems)
    print("\n== Per backend: " + "; ".join("%s %d/%d/%d" % (b, c["pass"], c["fail"], c["skip"])
                                         for b, c in sorted(per_backend.items())) + " (pass/fail/skip)", file=out)
    print("\n== Summary: %d passed, %d failed, %d skipped, %d binaries, %d not finished cleanly -> %s"
          % (counts["pass"], counts["fail"], counts["skip"], len(names), len(problems), "FAIL" if bad else "OK"),
          file=out)
    return 1 if bad else 0


SAMPLE_XML = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="4" failures="1" name="AllTests">
  <testsuite name="Spmm" tests="3" failures="1" skipped="1">
    <testcase name="Matches/cpu" value_param="&quot;cpu&quot;" status="run" result="completed" time="0.01" classname="Spmm">
      <properties><property name="max_error" value="0.000244"/></properties>
    </testcase>
    <testcase name="Matches/cuda" value_param="&quot;cuda&quot;" status="run" result="completed" time="0.2" classname="Spmm">
      <failure message="t.cpp:4&#x0A;element 3: got 1, expected 2" type=""/>
    </testcase>
    <testcase name="Empty/cuda" value_param="&quot;cuda&quot;" status="run" result="skipped" time="0" classname="Spmm">
      <skipped message="no gpu"/>
    </testcase>
  </testsuite>
  <testsuite name="Registry" tests="1"><testcase name="Lists" status="run" result="completed" time="0"/></testsuite>
</testsuites>
"""
SAMPLE_BENCH = """{"context": {}, "benchmarks": [
  {"name": "BM_Spmm/cuda/m:1024/density:0.1", "run_type": "iteration", "iterations": 10,
   "real_time": 12.5, "cpu_time": 13.0, "time_unit": "us", "FLOP/s": 2.5e12, "bytes_per_second": 1.1e11},
  {"name": "BM_Spmm/cusparse/m:1024/density:0.1", "run_type": "iteration", "iterations": 10,
   "real_time": 15.0, "cpu_time": 15.0, "time_unit": "us", "FLOP/s": 2.0e12},
  {"name": "BM_Gemm/cuda/m:4096", "run_type": "iter"""


def selftest():
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "test_spmm.xml"), "w") as f:
            f.write(SAMPLE_XML)
        with open(os.path.join(d, "test_spmm.rc"), "w") as f:
            f.write("1\n")
        with open(os.path.join(d, "test_crash.rc"), "w") as f:
            f.write("139\n")
        with open(os.path.join(d, "bench.json"), "w") as f:
            f.write(SAMPLE_BENCH)
        rows = parse_xml(os.path.join(d, "test_spmm.xml"))
        assert [(r["op"], r["backend"], r["result"]) for r in rows] == [
            ("Spmm.Matches", "cpu", "pass"), ("Spmm.Matches", "cuda", "fail"), ("Spmm.Empty", "cuda", "skip"),
            ("Registry.Lists", "-", "pass")], rows
        assert rows[0]["max_error"] == "0.000244" and rows[1]["max_error"] is None
        assert split_backend("Fwd/cuda_1x1", None) == ("Fwd/1x1", "cuda")
        bench = load_bench(os.path.join(d, "bench.json"))
        assert [b["name"] for b in bench] == ["BM_Spmm/cuda/m:1024/density:0.1",
                                              "BM_Spmm/cusparse/m:1024/density:0.1"], bench
        import io
        buf = io.StringIO()
        rc = report(d, os.path.join(d, "bench.json"), out=buf)
        text = buf.getvalue()
        assert rc == 1, rc
        for needle in ("cuda     fail", "0.000244", "test_crash (binary)", "FAIL signal11",
                       "Spmm.Matches [cuda]: element 3: got 1, expected 2", "FLOP/s=2.5T", "12.5 us",
                       "2 passed, 1 failed, 1 skipped, 2 binaries, 1 not finished"):
            assert needle in text, (needle, text)
    print("device_report.py selftest: OK")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--raw", help="folder with NAME.xml / NAME.rc / NAME.log per test binary")
    ap.add_argument("--bench", help="Google Benchmark JSON output")
    ap.add_argument("--manifest", help="the bundle's MANIFEST (lists targets that failed to build)")
    ap.add_argument("--selftest", action="store_true", help="parse embedded samples and check the table")
    a = ap.parse_args()
    if a.selftest:
        return selftest()
    if not a.raw:
        ap.error("--raw is required")
    return report(a.raw, a.bench, a.manifest)


if __name__ == "__main__":
    sys.exit(main())
