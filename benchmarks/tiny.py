"""Throughput on a pathological input: many tiny records, every one dropped
as too short ("tiny 17": 17 words each).

    .venv/bin/python benchmarks/tiny.py            # 200,000 records
    .venv/bin/python benchmarks/tiny.py --n 20000

Language detection used to run before the length gate, and on a 17-word
text langdetect often takes its slow path (about 20 ms a record), so such an
input ran for hours. The cheap gates now decide first. This script builds
the records (words of the embedded sample raw/, shuffled with a fixed seed,
nothing from outside), runs the real ``newsclean run`` on them and prints
the rate in the flow (documents / the run record's wall time). Baseline, in
the same run: the old order (language, then gates) over the first
``--baseline`` records with the same chain, in this process, as a rate.

Prints the figures and writes ``benchmarks/results/tiny.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT))


def build(n: int, words_per_record: int, path: Path, seed: int = 17) -> None:
    words = [w for p in sorted((ROOT / "raw").rglob("*.txt")) for w in p.read_bytes().decode("utf-8", "ignore").split()]
    rnd = random.Random(seed)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps({"id": f"tiny-{i}", "text": " ".join(rnd.choices(words, k=words_per_record))}) + "\n")


def old_order_rate(path: Path, n: int) -> dict:
    """Seconds per record with language detection before the gates (what
    the chain did before), and with the cheap gates first, same records."""
    from cleaners.record import Article
    from pipelines.config import load_config
    from pipelines.stages import _chain

    chain = _chain(load_config())
    chain.warm_up()
    rows = [json.loads(line) for _, line in zip(range(n), open(path, encoding="utf-8"))]

    def arts():
        out = []
        for r in rows:
            a = Article(id=r["id"], text=r["text"], title="")
            chain.prepare(a)
            chain.strip(a)
            out.append(a)
        return out

    batch = arts()
    t = time.perf_counter()
    old = [(chain.identify(a), chain.decide(a))[1] for a in batch]
    t_old = time.perf_counter() - t
    batch = arts()
    t = time.perf_counter()
    new = [chain.precheck(a) or (chain.identify(a), chain.decide(a))[1] for a in batch]
    t_new = time.perf_counter() - t
    assert old == new, "the order of the gates changed a decision"
    return {"records": n, "old_order_records_per_s": round(n / t_old, 1), "cheap_first_records_per_s": round(n / t_new, 1),
            "dropped_too_short": sum(r == "too_short" for r in new)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--words", type=int, default=17)
    ap.add_argument("--baseline", type=int, default=2000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="newsclean-tiny-") as tmp:
        tmp = Path(tmp)
        src = tmp / "tiny.jsonl"
        build(args.n, args.words, src)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        env["NEWSCLEAN_HOME"] = str(tmp / "home")
        t = time.perf_counter()
        proc = subprocess.run([str(Path(sys.executable).parent / "newsclean"), "run", "--input", str(src), "--output", str(tmp / "out")],
                              env=env, capture_output=True, text=True)
        process_wall = time.perf_counter() - t
        if proc.returncode != 0:
            raise SystemExit(f"newsclean run failed:\n{proc.stderr[-3000:]}")
        record = json.loads(sorted((tmp / "out" / "runs").glob("*.json"))[-1].read_text())
        flow_wall = record["timings"]["wall"] + record["timings"].get("report", 0.0)
        base = old_order_rate(src, args.baseline)
    result = {
        "records": args.n, "words_per_record": args.words,
        "flow_wall_s": round(flow_wall, 2), "process_wall_s": round(process_wall, 2),
        "flow_records_per_s": round(args.n / flow_wall, 1), "process_records_per_s": round(args.n / process_wall, 1),
        "counts": {k: record["counts"][k] for k in ("documents", "passed_gates", "dropped")},
        "stage_seconds": record["stage_seconds"],
        "baseline": base,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "tiny.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"tiny records ({args.words} words), {args.n:,} in one run:")
    print(f"  in the flow:       {result['flow_records_per_s']:>10,.0f} records/s  ({flow_wall:.1f} s)")
    print(f"  whole command:     {result['process_records_per_s']:>10,.0f} records/s  ({process_wall:.1f} s)")
    print(f"  dropped:           {record['counts']['dropped']}")
    print(f"  same run, {base['records']:,} records in-process, language + gates only:")
    print(f"    old order (language first): {base['old_order_records_per_s']:>10,.1f} records/s")
    print(f"    cheap gates first:          {base['cheap_first_records_per_s']:>10,.1f} records/s")
    print(f"wrote {RESULTS / 'tiny.json'}")


if __name__ == "__main__":
    main()
