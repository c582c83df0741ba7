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
(``runs/<id>.json``: ``timings``, ``stage_seconds``); the bytes of LSH
band keys dedup shuffled into hash partitions (``counts.lsh_shuffled_bytes``);
the bytes under ``state/`` (what later runs keep). Checks that
``articles.jsonl`` and ``dropped.jsonl`` are byte-identical between the
two.

    .venv/bin/python benchmarks/cluster.py                         # 20,000 and 200,000
    .venv/bin/python benchmarks/cluster.py --sizes 20000 200000 1000000
    .venv/bin/python benchmarks/cluster.py --sizes 200000 --results cluster-200k.json

Then, on the processes run's output, each dedup step alone in a process
of its own (``--dedup-step``), for the memory the worker running it needs:
its peak RSS over its RSS before the step (Linux: ``VmHWM`` reset through
``/proc/self/clear_refs``), for the one-worker steps (``lsh_plan``,
``dedup_components``, ``dedup_corpus``) and the largest of the per-shard, per-partition and
per-pair-partition (``lsh_verify``) and per-batch (``dedup_batch``) ones.

Prints one line per size and writes ``benchmarks/results/cluster.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from throughput import BBC, RESULTS, ROOT, build_corpus, run_watched  # noqa: E402

OUTPUTS = ("articles.jsonl", "dropped.jsonl")
EXECUTORS = ("processes", "dask")


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
        "driver_peak_at_s": res["peak_rss"]["main_at"],
        "tree_peak_bytes": res["peak_rss"]["tree"],
        "timings": record["timings"],
        "stage_seconds": record["stage_seconds"],
        "counts": {k: record["counts"][k] for k in ("documents", "cleaned", "passed_gates", "corpus_kept", "corpus_dropped",
                                                   "lsh_candidate_pairs", "lsh_verified_pairs", "lsh_partitions",
                                                   "lsh_shuffled_bytes")},
        "state_bytes": _du(out / "state"),
        "output_bytes": sum((out / name).stat().st_size for name in OUTPUTS),
    }


def _status(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def _peak_over_base(fn, *args):
    """``fn(*args)`` and the peak RSS it added to this process (bytes)."""
    gc.collect()
    base = _status("VmRSS")
    with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
        fh.write("5")  # resets VmHWM to the current RSS
    result = fn(*args)
    return result, max(0, _status("VmHWM") - base)


def dedup_step(step: str, out: str, config: str, work: str, k: int) -> None:
    """One dedup step over the output ``out`` (a finished run), in this
    process; prints the peak RSS it added. ``plan`` first (it writes
    ``work``), then ``shard``/``partition``/``verify`` ``k``, then
    ``components``, ``batch`` ``k`` (and ``batches``: every other), then
    ``corpus`` (the per-shard assignments from the batches)."""
    from pipelines import corpus
    from pipelines.config import load_config
    from pipelines.store import State

    cfg = load_config(config)
    segments = State.open(Path(out)).segments
    # What the steps import on first use is the worker's once, not the
    # step's: imported before the baseline.
    import pyarrow.ipc  # noqa: F401
    import scipy.sparse.csgraph  # noqa: F401

    import cleaners.dedup.clustering  # noqa: F401
    cfg.dedup.params().bands()
    # (pyarrow imports pandas when it reads its first table: 45 MB)
    first = next(((seg, shard) for seg in segments for shard in seg.shards()), None)
    if first:
        first[0].load_sidecar(first[1])
    plan_file = Path(work) / "plan.pickle"
    folder = Path(work) / "lsh"
    if step == "plan":
        plan, peak = _peak_over_base(corpus.lsh_plan, segments, cfg, work)
        plan_file.write_bytes(pickle.dumps(plan))
        print(json.dumps({"peak": peak, "units": len(plan.units), "partitions": plan.partitions, "articles": plan.articles}))
        return
    plan = pickle.loads(plan_file.read_bytes())
    prefixes = [str(folder / corpus._unit(si, shard)) for si, shard, _ in plan.units]
    pair_prefixes = [str(folder / f"pairs-{p:05d}") for p in range(plan.partitions)]
    edge_files = [str(folder / f"edges-{q:05d}.npy") for q in range(plan.partitions)]
    rows = corpus.shard_rows(segments, plan, cfg.dedup.num_perm)

    def shard_args(k: int) -> tuple:
        si, shard, path = plan.units[k]
        return segments[si], shard, path, prefixes[k], cfg.dedup.num_perm, plan.bands, plan.rows, plan.partitions

    def verify(q: int) -> None:  # keeps its count of candidate pairs for the corpus step
        candidates, _verified = corpus.lsh_verify(q, pair_prefixes, rows, cfg.dedup.params(), edge_files[q])
        (folder / f"candidates-{q:05d}").write_text(str(candidates), encoding="ascii")

    if step == "shard":
        _, peak = _peak_over_base(corpus.lsh_shard, *shard_args(k))
    elif step == "shards":  # the ones from k on, not measured (the partitions read them all)
        peak = 0
        for j in range(k, len(plan.units)):
            corpus.lsh_shard(*shard_args(j))
    elif step == "partition":
        _, peak = _peak_over_base(corpus.lsh_partition, k, prefixes, pair_prefixes[k], plan.partitions)
    elif step == "partitions":  # the ones from k on, not measured (the verification reads them all)
        peak = 0
        for j in range(k, plan.partitions):
            corpus.lsh_partition(j, prefixes, pair_prefixes[j], plan.partitions)
    elif step == "verify":
        _, peak = _peak_over_base(verify, k)
    elif step == "verifies":  # the ones from k on, not measured (the components step reads them all)
        peak = 0
        for j in range(k, plan.partitions):
            verify(j)
    elif step == "components":
        comp, peak = _peak_over_base(corpus.dedup_components, work, edge_files, plan.groups, plan.articles)
        (Path(work) / "components.pickle").write_bytes(pickle.dumps(comp))
        largest = max(range(comp.batches), key=comp.articles.__getitem__, default=-1)
        print(json.dumps({"peak": peak, "batches": comp.batches, "largest": largest,
                          "largest_articles": comp.articles[largest] if comp.batches else 0}))
        return
    elif step in ("batch", "batches"):
        # "batch": batch k alone, measured; "batches": every other one, not
        # measured (the last step reads them all).
        comp = pickle.loads((Path(work) / "components.pickle").read_bytes())
        peak = 0
        for j in [k] if step == "batch" else [j for j in range(comp.batches) if j != k]:
            dest = str(Path(work) / "components" / f"batch-{j:05d}.jsonl")
            counted, p = _peak_over_base(corpus.dedup_batch, j, comp, segments, plan.groups, rows, cfg.dedup.params(),
                                         dest)
            (Path(work) / "components" / f"counts-{j:05d}").write_text(json.dumps(counted), encoding="ascii")
            peak = p if step == "batch" else 0
    else:
        comp = pickle.loads((Path(work) / "components.pickle").read_bytes())
        batch_files = [str(Path(work) / "components" / f"batch-{j:05d}.jsonl") for j in range(comp.batches)]
        counted = [json.loads((Path(work) / "components" / f"counts-{j:05d}").read_text(encoding="ascii"))
                   for j in range(comp.batches)]
        _, peak = _peak_over_base(corpus.dedup_corpus, segments, out, work, None, plan.groups, batch_files,
                                  tuple(map(sum, zip(*counted))) if counted else (0, 0, 0))
    print(json.dumps({"peak": peak}))


def dedup_memory(out: Path, config: Path, work: Path, sample: int = 3) -> dict:
    """Peak RSS added by each dedup step, each run alone in a fresh process
    (bytes): the one-worker steps; the largest of the first ``sample``
    shard and partition steps (shards are of one size, partitions of about
    one by the hash; a process per step costs seconds of imports)."""
    work.mkdir(parents=True, exist_ok=True)

    def run(step: str, k: int = 0) -> dict:
        p = subprocess.run([sys.executable, __file__, "--dedup-step", step, str(out), str(config), str(work), str(k)],
                           capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        if p.returncode != 0:
            raise RuntimeError(f"dedup step {step} failed:\n{p.stderr[-3000:]}")
        return json.loads(p.stdout.strip().splitlines()[-1])

    plan = run("plan")
    shards = [run("shard", k)["peak"] for k in range(min(sample, plan["units"]))]
    run("shards", len(shards))
    parts = [run("partition", k)["peak"] for k in range(min(sample, plan["partitions"]))]
    run("partitions", len(parts))
    verifies = [run("verify", k)["peak"] for k in range(min(sample, plan["partitions"]))]
    run("verifies", len(verifies))
    comp = run("components")
    batch = run("batch", comp["largest"])["peak"] if comp["batches"] else 0
    run("batches", comp["largest"])
    # Counts, not bytes: printed here (the caller prints every other key in MB).
    print(f"  dedup components: {comp['batches']} batches, the largest of {comp['largest_articles']:,} articles",
          flush=True)
    return {"articles_indexed": plan["articles"], "lsh_plan": plan["peak"], "lsh_shard_max": max(shards, default=0),
            "lsh_partition_max": max(parts, default=0), "lsh_verify_max": max(verifies, default=0),
            "dedup_components": comp["peak"], "dedup_batch_max": batch, "dedup_corpus": run("corpus")["peak"]}


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
    if sys.argv[1:2] == ["--dedup-step"]:
        step, out, config, work, k = sys.argv[2:7]
        dedup_step(step, out, config, work, int(k))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[20000, 200000], help="corpus sizes (articles)")
    ap.add_argument("--shard-size", type=int, default=2000, help="[run] shard_size of both runs")
    ap.add_argument("--workers", type=int, default=2, help="[run] workers of both runs (the LocalCluster's size)")
    ap.add_argument("--executors", nargs="+", choices=EXECUTORS, default=list(EXECUTORS),
                    help="run only these (a 1,000,000-article run of both takes over an hour on 2 cores; the driver's "
                         "flatness needs only dask's, the byte-equality check both)")
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
            runs = {ex: run_once(corpus, tmp / f"run-{n}", ex, args.shard_size, args.workers) for ex in args.executors}
            both = len(runs) == 2
            identical = all((runs["processes"]["out"] / name).read_bytes() == (runs["dask"]["out"] / name).read_bytes()
                            for name in OUTPUTS) if both else None
            first = args.executors[0]
            memory = dedup_memory(runs[first]["out"], tmp / f"run-{n}" / f"{first}.toml", tmp / f"run-{n}" / "dedup")
            row = {"corpus": info, "identical": identical, "dedup_step_peak_bytes": memory}
            if both:
                row["ratio"] = round(runs["dask"]["process_wall"] / runs["processes"]["process_wall"], 3)
            for ex, r in runs.items():
                r.pop("out")
                row[ex] = {**r, "per_article": per_article(r, n)}
            result["sizes"][str(n)] = row
            print(f"cluster  articles {n}  " + "  ".join(
                f"{ex}_s {r['process_wall']:.1f}  driver_peak_mb_{ex} {r['driver_peak_bytes'] / 2**20:.0f}"
                for ex, r in runs.items()) + (f"  ratio {row['ratio']:.2f}  identical {identical}" if both else ""),
                flush=True)
            for ex, r in runs.items():
                print(f"  {ex:<9} steps (wall s): " + ", ".join(f"{k} {v:.1f}" for k, v in r["timings"].items())
                      + "; stages (CPU s): " + ", ".join(f"{k} {v:.1f}" for k, v in sorted(r["stage_seconds"].items()))
                      + f"; state {r['state_bytes'] / n:,.0f} B/article; tree peak {r['tree_peak_bytes'] / 2**20:,.0f} MB"
                      + f"; shuffled {r['counts']['lsh_shuffled_bytes'] / 2**20:,.1f} MB of band keys into "
                      f"{r['counts']['lsh_partitions']} partitions; driver peak reached at {r['driver_peak_at_s']:,.0f} s "
                      f"of {r['process_wall']:,.0f} s (steps in order: read, learn, clean, dedup, write, report)",
                      flush=True)
            print("  dedup steps, peak RSS added (each alone): " + ", ".join(
                f"{k} {v / 2**20:,.1f} MB ({v / n:,.0f} B/article)" for k, v in memory.items() if k != "articles_indexed"),
                flush=True)
            shutil.rmtree(tmp / f"run-{n}", ignore_errors=True)
            shutil.rmtree(corpus, ignore_errors=True)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    result["machine"]["load_after"] = os.getloadavg()
    sizes = list(result["sizes"].values())
    if len(sizes) > 1 and all("dask" in row for row in sizes):
        first, last = sizes[0]["dask"]["driver_peak_bytes"], sizes[-1]["dask"]["driver_peak_bytes"]
        result["dask_driver_peak_growth"] = round(last / first, 3)
        print(f"dask driver peak, largest size against smallest: {last / first:.2f}x (target: within 1.10x)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / args.results).write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS / args.results}")


if __name__ == "__main__":
    main()
