"""Cost of the quality report on a large output folder, in one command:

    .venv/bin/python benchmarks/report.py                # 20,000 articles
    .venv/bin/python benchmarks/report.py --sizes 20000 100000

For each size it builds the BBC-based corpus of ``benchmarks/throughput.py``
(originals plus syndicated copies with made-up site furniture), runs the real
``newsclean run`` on it once, then, on that output folder and in separate
processes:

- baseline: stream ``articles.jsonl``, ``dropped.jsonl`` and ``runs/*.json``
  and parse every line (the least any report must do);
- report: ``newsclean report DIR`` (figures, charts, report.json and
  report.html).

It prints wall time and peak RSS of both, the report's cost as a multiple of
the baseline, the sizes of report.html and report.json, and writes
``benchmarks/results/report.json``. The report holds counters, two integer
arrays of lengths and bounded lists, so its memory should stay flat in the
corpus size while the baseline's time grows with it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
BIN = Path(sys.executable).parent

BASELINE = """
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
n = 0
for name in ("articles.jsonl", "dropped.jsonl"):
    with open(out / name, encoding="utf-8") as fh:
        for line in fh:
            json.loads(line)
            n += 1
for p in (out / "runs").glob("*.json"):
    json.loads(p.read_text())
print(n)
"""


def _throughput():
    spec = importlib.util.spec_from_file_location("bench_throughput", ROOT / "benchmarks" / "throughput.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# Runs a command and prints the peak RSS (KB) of it and its children alone.
PEAK = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def _timed(cmd: list[str], env: dict) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one command."""
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", PEAK, *cmd], check=True, env=env, capture_output=True, text=True)
    return time.perf_counter() - t, int(p.stdout.split()[-1]) / 1024


def measure(n: int, work: Path, repeats: int) -> dict:
    tp = _throughput()
    src, out = work / f"in-{n}", work / f"out-{n}"
    tp.build_corpus(n, src)
    env = {**os.environ, "NEWSCLEAN_HOME": str(work / "state")}
    t = time.perf_counter()
    p = subprocess.run([str(BIN / "newsclean"), "run", "--input", str(src), "--output", str(out)], env=env,
                       capture_output=True, text=True)
    if p.returncode:
        sys.exit(f"newsclean run failed ({p.returncode}):\n{p.stderr[-3000:]}")
    run_wall = time.perf_counter() - t
    shutil.rmtree(src)
    base = [_timed([sys.executable, "-c", BASELINE, str(out)], env) for _ in range(repeats)]
    rep = [_timed([str(BIN / "newsclean"), "report", str(out)], env) for _ in range(repeats)]
    base_wall = sorted(w for w, _ in base)[repeats // 2]
    rep_wall = sorted(w for w, _ in rep)[repeats // 2]
    kept = sum(1 for _ in open(out / "articles.jsonl", encoding="utf-8"))
    return {
        "articles": n,
        "kept": kept,
        "run_wall_s": round(run_wall, 2),
        "baseline_wall_s": round(base_wall, 3),
        "baseline_peak_rss_mb": round(max(m for _, m in base), 1),
        "report_wall_s": round(rep_wall, 3),
        "report_peak_rss_mb": round(max(m for _, m in rep), 1),
        "report_vs_baseline": round(rep_wall / base_wall, 2),
        "report_html_kb": round((out / "report.html").stat().st_size / 1024, 1),
        "report_json_kb": round((out / "report.json").stat().st_size / 1024, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[20000])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="newsclean-report-bench-") as tmp:
        for n in args.sizes:
            rows.append(measure(n, Path(tmp), args.repeats))
            r = rows[-1]
            print(f"{r['articles']:>8,} articles ({r['kept']:,} kept): report {r['report_wall_s']:.2f} s, "
                  f"peak {r['report_peak_rss_mb']:.0f} MB; baseline (parse the outputs) {r['baseline_wall_s']:.2f} s, "
                  f"peak {r['baseline_peak_rss_mb']:.0f} MB; report = {r['report_vs_baseline']:.2f}x baseline; "
                  f"report.html {r['report_html_kb']:.0f} KB, report.json {r['report_json_kb']:.0f} KB", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "report.json").write_text(json.dumps({"sizes": rows}, indent=2) + "\n")
    print(f"wrote {RESULTS / 'report.json'}")


if __name__ == "__main__":
    main()
