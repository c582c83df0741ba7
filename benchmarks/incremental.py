"""Nightly runs against one run: a 20,000-article corpus from
``../shared/data/bbc-news-2225`` (the originals plus syndicated copies with
made-up site furniture, as ``benchmarks/throughput.py`` builds it) in ten
slices of 2,000 articles, fed one slice per run into one output folder, with
learning on; then one run over all ten slices into another.

Prints, per slice: the articles of earlier slices cleaned again (because the
slice changed what is learned for their source) as a share of the corpus so
far, and the flow's wall time for the slice against cleaning that slice
alone into a fresh folder (same run of the script, same Prefect server).
Checks that ``articles.jsonl`` and ``dropped.jsonl`` after the ten nightly
runs are byte-identical to the one run's.

    .venv/bin/python benchmarks/incremental.py [--size 20000] [--slices 10]

Writes ``benchmarks/results/incremental.json``.
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

from throughput import BBC, RESULTS, build_corpus, run_newsclean, start_prefect_server  # noqa: E402


def _record(out: Path) -> dict:
    return json.loads(sorted((out / "runs").glob("*.json"))[-1].read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=20000, help="articles in the corpus")
    ap.add_argument("--slices", type=int, default=10, help="nightly runs (one slice each)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args()
    if not BBC.exists():
        sys.exit(f"{BBC} is missing: the benchmark reads ../shared in place")
    tmp = Path(tempfile.mkdtemp(prefix="newsclean-incremental-"))
    corpus = tmp / "corpus"
    info = build_corpus(args.size, corpus, per_file=-(-args.size // args.slices))
    parts = sorted(corpus.glob("part-*.jsonl"))
    print(f"corpus: {info['articles']:,} articles in {len(parts)} slices", flush=True)
    server = start_prefect_server(tmp / "prefect-server")
    rows = []
    try:
        nightly = tmp / "nightly"
        for k, part in enumerate(parts):
            inc = run_newsclean(part, nightly, api_url=server.url)
            rec = _record(nightly)
            alone_out = tmp / f"alone-{k}"
            alone = run_newsclean(part, alone_out, api_url=server.url)
            shutil.rmtree(alone_out, ignore_errors=True)
            seen = sum(rec["counts"][c] for c in ("corpus_kept", "corpus_dropped"))
            row = {"slice": k + 1, "articles": rec["counts"]["documents"], "corpus": seen,
                   "recleaned": rec["recleaned"], "recleaned_share": rec["recleaned"]["articles"] / seen,
                   "seconds": round(inc["flow_wall"], 2), "alone_seconds": round(alone["flow_wall"], 2),
                   "ratio": inc["flow_wall"] / alone["flow_wall"], "timings": rec["timings"], "alone_timings": alone["timings"]}
            rows.append(row)
            print(f"slice {k + 1:2d}: {row['recleaned']['articles']:5,} articles cleaned again "
                  f"({row['recleaned_share']:.1%} of {seen:,}); {row['seconds']:6.1f} s vs {row['alone_seconds']:6.1f} s alone "
                  f"({row['ratio']:.2f}x)", flush=True)
        whole = tmp / "whole"
        one = run_newsclean(corpus, whole, api_url=server.url)
        same = {name: (nightly / name).read_bytes() == (whole / name).read_bytes() for name in ("articles.jsonl", "dropped.jsonl")}
    finally:
        server.stop(timeout=20)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    result = {
        "machine": {"cpus": os.cpu_count(), "load_after": os.getloadavg()},
        "corpus": info, "slices": rows, "one_run_seconds": round(one["flow_wall"], 2),
        "byte_identical": same,
        "max_recleaned_share": max(r["recleaned_share"] for r in rows),
        "max_ratio": max(r["ratio"] for r in rows),
        "nightly_seconds": round(sum(r["seconds"] for r in rows), 2),
    }
    print(f"one run over all {args.size:,}: {result['one_run_seconds']:.1f} s; the ten nightly runs: {result['nightly_seconds']:.1f} s")
    print(f"byte-identical to one run: articles.jsonl {same['articles.jsonl']}, dropped.jsonl {same['dropped.jsonl']}")
    print(f"largest share cleaned again: {result['max_recleaned_share']:.1%} (target <= 10%); "
          f"largest time ratio to the slice alone: {result['max_ratio']:.2f}x (target <= 1.5x)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "incremental.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"wrote {RESULTS / 'incremental.json'}")


if __name__ == "__main__":
    main()
