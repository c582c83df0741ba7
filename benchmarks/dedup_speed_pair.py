"""LSH + clustering time and peak RSS of this tree's ``cleaners.dedup`` beside
another tree's (e.g. main's), paired on the same signatures in one run.

The articles are ``benchmarks/dedup.py``'s generated ones (section 4); the
signatures and entity sketches are made once by this tree (the other
tree's are the same, byte for byte). Each clustering runs in a fresh process, so its
peak RSS is its own; the two alternate ``--repeat`` times.

    .venv/bin/python benchmarks/dedup_speed_pair.py --size 200000 --other /work/main

Writes ``benchmarks/results/dedup_speed_pair.json``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import dedup as base  # noqa: E402


def _child(tree: str, folder: str, with_entities: bool, conn) -> None:
    package = Path(tree) / "cleaners" / "dedup"
    if package.is_dir():  # cleaners/dedup/, one module per structure
        spec = importlib.util.spec_from_file_location("other_dedup", package / "__init__.py",
                                                      submodule_search_locations=[str(package)])
    else:  # cleaners/dedup.py, as before the split
        spec = importlib.util.spec_from_file_location("other_dedup", Path(tree) / "cleaners" / "dedup.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["other_dedup"] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    d = Path(folder)
    sigs, n, order = np.load(d / "sigs.npy"), np.load(d / "n.npy"), np.load(d / "order.npy")
    keys = (d / "keys.txt").read_text().split("\n")
    extra = (np.load(d / "ents.npy"), np.load(d / "nents.npy")) if with_entities else ()
    t0 = time.perf_counter()
    c = mod.cluster(sigs, n, keys, order, mod.DedupParams(), *extra)
    conn.send({"seconds": round(time.perf_counter() - t0, 2), "peak_rss_mb": base._peak_rss_mb(),
               "clusters": int(len(np.unique(c.canonical)))})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=200_000)
    ap.add_argument("--other", default="/work/main", help="the other tree (its cleaners/dedup package or dedup.py)")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    blocks = list(range(-(-args.size // base.BLOCK)))
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(args.workers) as pool:
        parts = pool.starmap(base._sign_blocks, [(blocks[w :: args.workers], 128, 3) for w in range(args.workers)])
    per_block = {}
    for w, p in enumerate(parts):
        for k, b in enumerate(blocks[w :: args.workers]):
            sl = slice(k * base.BLOCK, (k + 1) * base.BLOCK)
            per_block[b] = {key: p[key][sl] for key in ("sigs", "n", "words", "keys", "ents", "nents")}
    res: dict = {"articles": len(blocks) * base.BLOCK, "other": args.other, "runs": {"this": [], "other": []}}
    with tempfile.TemporaryDirectory(prefix="dedup-pair-", dir=base.RESULTS) as tmp:
        d = Path(tmp)
        for key in ("sigs", "n", "ents", "nents"):
            np.save(d / f"{key}.npy", np.concatenate([per_block[b][key] for b in blocks]))
        words = np.concatenate([per_block[b]["words"] for b in blocks])
        np.save(d / "order.npy", np.lexsort((np.arange(len(words)), -words.astype(np.int64))))
        (d / "keys.txt").write_text("\n".join(k for b in blocks for k in per_block[b]["keys"]))
        del per_block, parts
        for _ in range(args.repeat):
            for name, tree, ents in (("other", args.other, True), ("this", str(ROOT), True)):
                res["runs"][name].append(base._in_child(_child, tree, str(d), ents))
    best = {k: min(r["seconds"] for r in v) for k, v in res["runs"].items()}
    peak = {k: max(r["peak_rss_mb"] for r in v) for k, v in res["runs"].items()}
    res["ratio_seconds"] = round(best["this"] / best["other"], 3)
    res["ratio_peak_rss"] = round(peak["this"] / peak["other"], 3)
    lines = [f"{res['articles']:,} articles, LSH + clustering: this tree {best['this']:.2f} s, {peak['this']:,} MB peak; "
             f"{args.other} {best['other']:.2f} s, {peak['other']:,} MB; ratio time {res['ratio_seconds']}, "
             f"peak RSS {res['ratio_peak_rss']} (best of {args.repeat}, alternating)",
             f"clusters: this {res['runs']['this'][0]['clusters']:,}, other {res['runs']['other'][0]['clusters']:,}"]
    res["table"] = lines
    print("\n".join(lines))
    out = base.RESULTS / "dedup_speed_pair.json"
    out.write_text(json.dumps(res, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
