"""Whole-command time of ``newsclean run`` as a user meets it, this tree beside
another commit's (default ``main``), paired in one run.

Three cases over the embedded sample (``raw/``):

* refusal: a missing input folder (exit 2, one line);
* scratch: a run into an empty output folder;
* no-op: the same run again (nothing new to read).

The other commit's source is exported with ``git archive`` into a temporary
folder and run with this environment's Python and libraries (its own tree
first on ``PYTHONPATH``), so the two differ only in newsclean's code. The
two trees alternate ``--repeat`` times per case; each figure is the median
wall time of a whole process, and the ratio is taken pair by pair.

    .venv/bin/python benchmarks/startup.py [--other main] [--repeat 5]

Writes ``benchmarks/results/startup.json``.
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
CASES = ("refusal", "scratch", "no-op")


def _export(rev: str, into: Path) -> None:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)


def _command(tree: Path, case: str, out: Path) -> list[str]:
    src = "/no/such/input" if case == "refusal" else str(ROOT / "raw")
    return [sys.executable, "-c", "import sys; from pipelines.cli import app; sys.argv[0] = 'newsclean'; app()",
            "run", "--input", src, "--output", str(out)]


def _time(tree: Path, case: str, out: Path, home: Path) -> float:
    if case == "scratch":
        shutil.rmtree(out, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PYTHONPATH=str(tree), NEWSCLEAN_HOME=str(home))
    t = time.perf_counter()
    proc = subprocess.run(_command(tree, case, out), cwd=tree, env=env, capture_output=True, text=True)
    took = time.perf_counter() - t
    # A refusal must fail (main's ends in a traceback and exit 1, this tree's in one line and exit 2).
    if (proc.returncode == 0) if case == "refusal" else (proc.returncode != 0):
        raise SystemExit(f"{tree} {case}: exit {proc.returncode}\n{proc.stderr[-2000:]}")
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--other", default="main", help="the commit to compare with (default: main)")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    other_rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", args.other], check=True,
                               capture_output=True, text=True).stdout.strip()
    this_rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], check=True,
                              capture_output=True, text=True).stdout.strip()
    results: dict = {"other": f"{args.other} ({other_rev})", "this": this_rev, "repeat": args.repeat,
                     "cpus": os.cpu_count(), "load_average_at_start": os.getloadavg()[0], "cases": {}}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        other = tmp / "other"
        other.mkdir()
        _export(args.other, other)
        trees = {"this": ROOT, "other": other}
        for case in CASES:
            times: dict[str, list[float]] = {"this": [], "other": []}
            for name, tree in trees.items():  # a first run of each: the scratch output the no-op needs, warm caches
                _time(tree, "scratch" if case == "no-op" else case, tmp / f"out-{name}", tmp / f"home-{name}")
            for _ in range(args.repeat):
                for name, tree in trees.items():
                    times[name].append(_time(tree, case, tmp / f"out-{name}", tmp / f"home-{name}"))
            ratios = [a / b for a, b in zip(times["this"], times["other"])]
            row = {"this_s": round(statistics.median(times["this"]), 2), "other_s": round(statistics.median(times["other"]), 2),
                   "ratio": round(statistics.median(ratios), 3),
                   "this_all": [round(x, 2) for x in times["this"]], "other_all": [round(x, 2) for x in times["other"]]}
            results["cases"][case] = row
            print(f"{case:8s} this {row['this_s']:6.2f} s   {args.other} {row['other_s']:6.2f} s   "
                  f"ratio {row['ratio']:.3f} (median of {args.repeat} pairs)", flush=True)
    results["load_average_at_end"] = os.getloadavg()[0]
    out = ROOT / "benchmarks" / "results" / "startup.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
