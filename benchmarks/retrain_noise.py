"""How much a retrain alone moves the cleaning figures: the block
classifier's fold -1 model (trained on folds 0-4) retrained on almost the
same rows, scored on the training fold -1 through the same learn and clean
passes as ``newsclean run``.

A rule that runs before the classifier changes the rows it trains on, so
judging such a rule needs a retrain; this says how large a difference a
retrain makes by itself. Each perturbation marks ``--rows`` random
boilerplate rows of folds 0-4 removed before the classifier (as a new rule
would; seeded), retrains with the shipped parameters, and scores fold -1
with the model's own threshold and with the unperturbed model's threshold
(how much of the move is the threshold's). Fold -1 is the tuning fold:
held-out pages are never read here.

    .venv/bin/python benchmarks/retrain_noise.py [--perturbations 2] [--rows 200]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import devset  # noqa: E402
from benchmarks.generalisation import evaluate, model_cfg, summarise  # noqa: E402
from benchmarks.train_boilerplate import MODELS, build_rows, fit, save  # noqa: E402
from cleaners.boilerplate.features import feature_names  # noqa: E402
from pipelines.config import load_config  # noqa: E402

RENDERS = ("dump", "html-text", "inscriptis")
FIGURES = ("content_kept", "content_words_kept", "boilerplate_removed", "f1_after", "pages_lost_half_content")


def score(cfg, path: Path, threshold: float | None = None) -> dict:
    run_cfg = model_cfg(cfg, path)
    if threshold is not None:
        run_cfg = run_cfg.with_overrides(boilerplate={"classifier_threshold": threshold})
    out = {}
    for render in RENDERS:
        pages = [p for p in devset.load(render) if p["fold"] == -1]
        for titled in (True, False):
            s = summarise(evaluate(pages, run_cfg, titled))
            out[f"{render} {'titled' if titled else 'untitled'}"] = {k: s[k] for k in FIGURES}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--perturbations", type=int, default=2)
    ap.add_argument("--rows", type=int, default=200)
    args = ap.parse_args()
    t0 = time.perf_counter()
    cfg = load_config(None)
    names = feature_names(cfg.ruleset().patterns)
    rows = build_rows(cfg)
    mask = rows.fold != -1
    variants: dict = {}
    base_threshold = None
    for k in range(args.perturbations + 1):
        live = rows.live.copy()
        if k:
            pool = np.flatnonzero(mask & (rows.y == 1) & rows.live)
            live[np.random.default_rng(k).choice(pool, args.rows, replace=False)] = False
        s1, s2, t, oof = fit(dataclasses.replace(rows, live=live), mask, names)
        path = MODELS / f"noise-{k}.json"
        save(path, s1, s2, t, names, cfg, {"trained_on": f"folds != -1, perturbation {k}", **oof})
        name = "as trained" if not k else f"{args.rows} rows removed, seed {k}"
        variants[name] = {"threshold": t, "own_threshold": score(cfg, path)}
        if k:
            variants[name]["at_unperturbed_threshold"] = score(cfg, path, base_threshold)
        else:
            base_threshold = t
        print(f"{name}: threshold {t}", flush=True)
        for key, fig in variants[name]["own_threshold"].items():
            print(f"  {key:<22} " + "  ".join(f"{f} {fig[f]}" for f in FIGURES), flush=True)
    spread = {}
    for key in variants["as trained"]["own_threshold"]:
        for f in FIGURES[:4]:
            vals = [v["own_threshold"][key][f] for v in variants.values()]
            spread.setdefault(key, {})[f] = round(max(vals) - min(vals), 4)
    print("spread (max - min over the retrains, own thresholds):", flush=True)
    for key, s in spread.items():
        print(f"  {key:<22} " + "  ".join(f"{f} {v}" for f, v in s.items()), flush=True)
    out = {"fold": -1, "rows_removed": args.rows, "variants": variants, "spread": spread,
           "seconds": round(time.perf_counter() - t0, 1)}
    path = devset.RESULTS / "retrain_noise.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path} ({out['seconds']} s)")


if __name__ == "__main__":
    main()
