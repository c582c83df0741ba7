"""CPU per article of the signature stage (fingerprint + MinHash signature),
a whole shard at once (``cleaners.dedup.fingerprints`` + ``Signer.sign_many``,
what the pipeline runs) beside one article at a time (``fingerprint`` +
``Signer.sign``, the code the pipeline ran before), in the same run on the
same articles, and a check that both give the same values byte for byte.

Articles: the BBC-derived ones of ``benchmarks/dedup.py`` (``synth_block``:
~3 KB each, real vocabulary), 20,000 by default. The two ways alternate
``--rounds`` times (CPU seconds, ``time.process_time``); the figure is the
median ratio, so a busy machine slows both alike.

    .venv/bin/python benchmarks/dedup_signature_speed.py [--articles 20000] [--rounds 3]

Writes ``benchmarks/results/dedup_signature_speed.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from dedup import BLOCK, synth_block  # noqa: E402

from cleaners.dedup import DedupParams, Signer, fingerprint, fingerprints  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def one_at_a_time(texts: list[str], signer: Signer, k: int):
    prints = [fingerprint(t, k) for t in texts]
    return prints, np.stack([signer.sign(fp.shingles) for fp in prints])


def whole_shard(texts: list[str], signer: Signer, k: int):
    prints = fingerprints(texts, k)
    return prints, signer.sign_many([fp.shingles for fp in prints])


def same(a, b) -> bool:
    return all(np.array_equal(x.shingles, y.shingles) and x.shingles.dtype == y.shingles.dtype and x.exact == y.exact
               and x.tokens == y.tokens and np.array_equal(x.entities, y.entities) and x.n_entities == y.n_entities
               for x, y in zip(a, b)) and len(a) == len(b)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    p = DedupParams()
    texts = [t for b in range(-(-args.articles // BLOCK)) for t in synth_block(b)][: args.articles]
    signer = Signer(p.num_perm, p.seed)
    whole_shard(texts[:100], signer, p.shingle_size)  # warm the power tables alike
    one_at_a_time(texts[:100], signer, p.shingle_size)
    rows = []
    for _ in range(args.rounds):
        t0 = time.process_time()
        old_prints, old_sigs = one_at_a_time(texts, signer, p.shingle_size)
        t1 = time.process_time()
        new_prints, new_sigs = whole_shard(texts, signer, p.shingle_size)
        t2 = time.process_time()
        assert same(old_prints, new_prints), "fingerprints differ"
        assert old_sigs.dtype == new_sigs.dtype and old_sigs.tobytes() == new_sigs.tobytes(), "signatures differ"
        rows.append({"one_at_a_time_ms": (t1 - t0) / len(texts) * 1e3, "whole_shard_ms": (t2 - t1) / len(texts) * 1e3})
        del old_prints, old_sigs, new_prints, new_sigs
    ratio = statistics.median(r["whole_shard_ms"] / r["one_at_a_time_ms"] for r in rows)
    res = {
        "articles": len(texts), "rounds": args.rounds, "machine": platform.machine(), "python": platform.python_version(),
        "numpy": np.__version__,
        "one_at_a_time_ms_per_article": round(statistics.median(r["one_at_a_time_ms"] for r in rows), 4),
        "whole_shard_ms_per_article": round(statistics.median(r["whole_shard_ms"] for r in rows), 4),
        "ratio": round(ratio, 3), "identical": True, "per_round": [{k: round(v, 4) for k, v in r.items()} for r in rows],
    }
    lines = [
        f"signature stage (fingerprint + MinHash), {len(texts):,} BBC-derived articles, CPU per article, median of {args.rounds} rounds:",
        f"  one article at a time (before): {res['one_at_a_time_ms_per_article']:.3f} ms",
        f"  whole shard at once (now):      {res['whole_shard_ms_per_article']:.3f} ms  = {ratio:.2f}x  (same fingerprints and signatures, byte for byte)",
    ]
    res["table"] = lines
    print("\n".join(lines))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "dedup_signature_speed.json"
    out.write_text(json.dumps(res, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
