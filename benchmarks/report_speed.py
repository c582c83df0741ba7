"""How long the report takes to build on the sample, before and after the
report became a package, measured in one run:

    .venv/bin/python benchmarks/report_speed.py [--repeats 5]

It runs ``newsclean run`` over ``raw/`` twice into one output folder (the
second run finds nothing new: what a second ``make demo`` does), keeping the
folder as it stood after each. Then, each build in a fresh process on a fresh
copy of the folder (interpreter start and imports included, as in the flow's
report step or ``newsclean report``):

- baseline: the single-module report of commit ``BASELINE_REV`` (the last
  one before the split), loaded from git;
- after, from scratch: the package with no earlier page to take charts from
  (a first run, or ``newsclean report`` after deleting report.html);
- after, rerun: the package building the second run's report with the first
  run's page beside it (the flow's case on every later run).

It also prints the flow's own report step (``timings.report`` of the two run
records), which only the code under test can show.

For the baseline it also splits where the time goes (module import,
matplotlib import, figures, charts and page, writing). Prints medians and
writes ``benchmarks/results/report_speed.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
BIN = Path(sys.executable).parent
BASELINE_REV = "5e6b14f"

# Builds the report of argv[1]; prints {phase: seconds} as JSON. argv[2] is
# the baseline module's file, or "" for the package.
CHILD = r"""
import importlib.util, json, sys, time
from pathlib import Path
t0 = time.perf_counter()
out, old = Path(sys.argv[1]), sys.argv[2]
if old:
    spec = importlib.util.spec_from_file_location("pipelines.report_baseline", old)
    report = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = report
    spec.loader.exec_module(report)
else:
    import pipelines.report as report
from pipelines.store import atomic_open, current_generation, write_json
t1 = time.perf_counter()
if old:
    import matplotlib.figure, matplotlib.backends.backend_svg
t2 = time.perf_counter()
gen = current_generation(out)
rep = report.figures(out, gen)
t3 = time.perf_counter()
if old:
    page, data = report.render_html(rep), rep
else:
    page, data = report.render_html(rep, report._previous_page(out, gen)), rep.to_json()
t4 = time.perf_counter()
write_json(gen / "report.json", data)
with atomic_open(gen / "report.html") as fh:
    fh.write(page)
t5 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "matplotlib_import": t2 - t1, "figures": t3 - t2, "page": t4 - t3,
                  "write": t5 - t4}))
"""


def _newsclean_run(src: Path, out: Path, env: dict) -> None:
    p = subprocess.run([str(BIN / "newsclean"), "run", "--input", str(src), "--output", str(out)], env=env,
                       capture_output=True, text=True)
    if p.returncode:
        sys.exit(f"newsclean run failed ({p.returncode}):\n{p.stderr[-3000:]}")


def _build(folder: Path, work: Path, old: str, env: dict, previous: Path | None = None) -> tuple[float, dict]:
    """Wall seconds of one build in a new process, on a copy of ``folder``
    whose report.html is ``previous`` (none if ``None``)."""
    copy = work / "copy"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(folder, copy, symlinks=True)
    page = (copy / "current").resolve() / "report.html"
    page.unlink()
    if previous is not None:
        shutil.copy(previous, page)
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", CHILD, str(copy), old], env=env, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t
    if p.returncode:
        sys.exit(f"report build failed:\n{p.stderr[-3000:]}")
    return wall, json.loads(p.stdout.splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="newsclean-report-speed-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "NEWSCLEAN_HOME": str(work / "home")}
        old = work / "report_baseline.py"
        old.write_bytes(subprocess.run(["git", "show", f"{BASELINE_REV}:pipelines/report.py"], cwd=ROOT,
                                       check=True, capture_output=True).stdout)
        out = work / "out"
        _newsclean_run(ROOT / "raw", out, env)
        first_page = work / "first-report.html"
        shutil.copy(out / "report.html", first_page)
        _newsclean_run(ROOT / "raw", out, env)
        flow_steps = [json.loads(p.read_text())["timings"]["report"] for p in sorted((out / "runs").glob("*.json"))]

        cases = {
            "baseline": lambda: _build(out, work, str(old), env),
            "after_from_scratch": lambda: _build(out, work, "", env),
            "after_rerun": lambda: _build(out, work, "", env, previous=first_page),
        }
        walls: dict[str, list[float]] = {k: [] for k in cases}
        phases: dict[str, list[dict]] = {k: [] for k in cases}
        for _ in range(args.repeats):  # interleaved, so that load on the machine hits each case alike
            for name, case in cases.items():
                wall, phase = case()
                walls[name].append(wall)
                phases[name].append(phase)

    med = {k: statistics.median(v) for k, v in walls.items()}
    split = {k: {p: round(statistics.median(ph[p] for ph in phases[k]), 3) for p in phases[k][0]} for k in phases}
    result = {
        "input": "raw/ (the sample), two runs into one output folder",
        "baseline_rev": BASELINE_REV,
        "repeats": args.repeats,
        "wall_s": {k: round(v, 3) for k, v in med.items()},
        "walls_s": {k: [round(w, 3) for w in v] for k, v in walls.items()},
        "phases_s": split,
        # The flow's own report step (after only: the baseline cannot run in today's flow).
        "flow_report_step_s": {"first_run": flow_steps[0], "rerun": flow_steps[1]},
        "from_scratch_vs_baseline": round(med["after_from_scratch"] / med["baseline"], 3),
        "rerun_vs_baseline": round(med["after_rerun"] / med["baseline"], 3),
    }
    b = split["baseline"]
    print(f"baseline ({BASELINE_REV}): {med['baseline']:.2f} s per build (process); of which import "
          f"{b['import']:.2f} s, matplotlib import {b['matplotlib_import']:.2f} s, figures {b['figures']:.2f} s, "
          f"charts and page {b['page']:.2f} s, write {b['write']:.2f} s")
    for name in ("after_from_scratch", "after_rerun"):
        p = split[name]
        print(f"{name.replace('_', ' ')}: {med[name]:.2f} s per build = {med[name] / med['baseline']:.2f}x baseline; "
              f"of which import {p['import']:.2f} s, figures {p['figures']:.2f} s, charts (matplotlib imported "
              f"only to draw) and page {p['page']:.2f} s, write {p['write']:.2f} s")
    print(f"the flow's report step (after): first run {flow_steps[0]:.2f} s, rerun {flow_steps[1]:.2f} s")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "report_speed.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS / 'report_speed.json'}")


if __name__ == "__main__":
    main()
