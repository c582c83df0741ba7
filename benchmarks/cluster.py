"""The Dask executor against the process pool, same corpus, same machine.

For each size it builds a corpus from ``../shared/data/bbc-news-2225`` (the
BBC originals plus syndicated copies, built by ``benchmarks/throughput.py``'s
``build_corpus``; at 1,000,000 articles these are mostly synthetic copies of
the 2,225 originals) and runs the real ``newsclean run`` command twice into
fresh output folders:

- ``executor = "processes"``, ``workers = 2`` (the default on 2 cores);
- ``executor = "dask"``, ``workers = 2`` and no ``dask_address``: a
  ``LocalCluster`` of two worker processes started by the run itself.

Measured per run: the whole command's wall time; the peak RSS of the
DRIVER only, i.e. the ``newsclean run`` process itself (psutil polls that
one pid every 0.1 s; the pool's and the LocalCluster's workers are its
children and are reported apart, as the tree's peak); the flow steps' wall
times and the cleaning stages' CPU seconds from the run record
(``runs/<id>.json``: ``timings``, ``stage_seconds``); the bytes under
``state/`` (what later runs keep). Checks that ``articles.jsonl`` and
``dropped.jsonl`` are byte-identical between the two.

    .venv/bin/python benchmarks/cluster.py                         # 20,000 and 200,000
    .venv/bin/python benchmarks/cluster.py --sizes 20000 200000 1000000
    .venv/bin/python benchmarks/cluster.py --sizes 200000 --results cluster-200k.json

Prints one line per size and writes ``benchmarks/results/cluster.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from throughput import BBC, RESULTS, ROOT, build_corpus, run_watched  # noqa: E402

OUTPUTS = ("articles.jsonl", "dropped.jsonl")


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run_once(corpus: Path, work: Path, executor: str, shard_size: int, workers: int) -> dict:
    """``newsclean run`` as a whole process, from this checkout (PYTHONPATH),
    as a local run (no Prefect settings: no API server)."""
    work.mkdir(parents=True, exist_ok=True)
    cfg = work / f"{executor}.toml"
    cfg.write_text(f'[run]\nexecutor = "{executor}"\nworkers = {workers}\nshard_size = {shard_size}\n', encoding="utf-8")
    out = work / f"out-{executor}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    env["NEWSCLEAN_HOME"] = str(work / "home")
    res = run_watched([sys.executable, "-m", "pipelines.cli", "run", "--input", str(corpus), "--output", str(out),
                       "--config", str(cfg)], env=env)
    if res["returncode"] != 0:
        raise RuntimeError(f"newsclean run ({executor}) failed:\n{res['stderr'][-3000:]}")
    record = json.loads(sorted((out / "runs").glob("*.json"))[-1].read_text(encoding="utf-8"))
    return {
        "out": out,
        "process_wall": round(res["wall"], 2),
        # res["peak_rss"]["main"]: the polled command process alone.
        "driver_peak_bytes": res["peak_rss"]["main"],
        "tree_peak_bytes": res["peak_rss"]["tree"],
        "timings": record["timings"],
        "stage_seconds": record["stage_seconds"],
        "counts": {k: record["counts"][k] for k in ("documents", "cleaned", "passed_gates", "corpus_kept", "corpus_dropped",
                                                   "lsh_candidate_pairs", "lsh_verified_pairs")},
        "state_bytes": _du(out / "state"),
        "output_bytes": sum((out / name).stat().st_size for name in OUTPUTS),
    }


def per_article(row: dict, n: int) -> dict:
    """Seconds per article of each flow step (wall) and each cleaning stage
    (CPU, summed over shards), bytes of state per article."""
    return {
        "step_wall_s": {k: v / n for k, v in row["timings"].items()},
        "stage_cpu_s": {k: v / n for k, v in row["stage_seconds"].items()},
        "state_bytes": row["state_bytes"] / n,
        "output_bytes": row["output_bytes"] / n,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[20000, 200000], help="corpus sizes (articles)")
    ap.add_argument("--shard-size", type=int, default=2000, help="[run] shard_size of both runs")
    ap.add_argument("--workers", type=int, default=2, help="[run] workers of both runs (the LocalCluster's size)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument("--results", default="cluster.json", help="file name under benchmarks/results/")
    args = ap.parse_args()
    if not BBC.exists():
        sys.exit(f"{BBC} is missing: the benchmark reads ../shared in place")
    tmp = Path(tempfile.mkdtemp(prefix="newsclean-cluster-"))
    result: dict = {"machine": {"cpus": os.cpu_count(), "load_before": os.getloadavg()},
                    "shard_size": args.shard_size, "workers": args.workers,
                    "driver_rss": "peak RSS of the `newsclean run` process alone (psutil, 0.1 s polling); workers excluded",
                    "sizes": {}}
    try:
        for n in args.sizes:
            corpus = tmp / f"corpus-{n}"
            info = build_corpus(n, corpus)
            runs = {ex: run_once(corpus, tmp / f"run-{n}", ex, args.shard_size, args.workers) for ex in ("processes", "dask")}
            identical = all((runs["processes"]["out"] / name).read_bytes() == (runs["dask"]["out"] / name).read_bytes()
                            for name in OUTPUTS)
            p, d = runs["processes"], runs["dask"]
            row = {"corpus": info, "identical": identical, "ratio": round(d["process_wall"] / p["process_wall"], 3)}
            for ex, r in runs.items():
                r.pop("out")
                row[ex] = {**r, "per_article": per_article(r, n)}
            result["sizes"][str(n)] = row
            print(f"cluster  articles {n}  processes_s {p['process_wall']:.1f}  dask_s {d['process_wall']:.1f}  "
                  f"ratio {row['ratio']:.2f}  driver_peak_mb_processes {p['driver_peak_bytes'] / 2**20:.0f}  "
                  f"driver_peak_mb_dask {d['driver_peak_bytes'] / 2**20:.0f}  identical {identical}", flush=True)
            for ex, r in runs.items():
                print(f"  {ex:<9} steps (wall s): " + ", ".join(f"{k} {v:.1f}" for k, v in r["timings"].items())
                      + "; stages (CPU s): " + ", ".join(f"{k} {v:.1f}" for k, v in sorted(r["stage_seconds"].items()))
                      + f"; state {r['state_bytes'] / n:,.0f} B/article; tree peak {r['tree_peak_bytes'] / 2**20:,.0f} MB",
                      flush=True)
            shutil.rmtree(tmp / f"run-{n}", ignore_errors=True)
            shutil.rmtree(corpus, ignore_errors=True)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    result["machine"]["load_after"] = os.getloadavg()
    sizes = list(result["sizes"].values())
    if len(sizes) > 1:
        first, last = sizes[0]["dask"]["driver_peak_bytes"], sizes[-1]["dask"]["driver_peak_bytes"]
        result["dask_driver_peak_growth"] = round(last / first, 3)
        print(f"dask driver peak, largest size against smallest: {last / first:.2f}x (target: within 1.10x)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / args.results).write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS / args.results}")


if __name__ == "__main__":
    main()
