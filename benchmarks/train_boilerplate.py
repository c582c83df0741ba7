"""Train the block classifier of the boilerplate stage from ../shared, reproducibly.

    make train-boilerplate          # final model -> configs/boilerplate-model.json, fold models -> cache
    .venv/bin/python benchmarks/train_boilerplate.py --folds-only

Data: the dev set of ``benchmarks/devset.py`` (AEB and WCXB pages rendered
as scrapers hand text over, every block labelled against the gold text).
Each page is turned into an article exactly as the pipeline sees it: every
block repaired (``cleaners.repair``), blocks one per line (one per
paragraph for a paragraph dump), the configured steps before
``classifier`` applied (rules, page trimming, ...). Half the pages (by a
hash of the page) keep their ``<title>``; the other half train as records
without a title, whose title-like first line the chain takes as the
headline, so that untitled records keep their content. The rows are the lines
still kept after those steps, labelled ``content`` (0) or ``boilerplate``
(1); ``mixed`` blocks are left out of training.

The model (:mod:`cleaners.boilerplate.classifier`) has two stages: LightGBM
on the lines' own features, then LightGBM on those plus the first stage's
scores of the neighbours. The second stage is trained on out-of-fold
first-stage scores (site-grouped inner folds), so it learns how far to
trust a neighbour's score on text the first stage has not seen.

Generalisation is measured on site-grouped folds (``devset`` folds 0-4; no
site is in two folds; sites with a page the rules were tuned on are fold
-1, train only). For every test fold ``k`` a model is trained on all other
folds, and its threshold is chosen on those folds' out-of-fold scores,
never on fold ``k``; ``benchmarks/boilerplate.py`` then runs the real
pipeline with fold ``k``'s model over fold ``k``'s pages. The final model,
committed, is trained on every fold the same way.

Same seed, same data, same bytes: LightGBM runs deterministic, single-threaded.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import devset  # noqa: E402
from cleaners.boilerplate import Blocks, Boilerplate, RuleSet  # noqa: E402
from cleaners.chain import split_title  # noqa: E402
from cleaners.boilerplate.features import (  # noqa: E402
    CONTEXT_FEATURES,
    FEATURE_VERSION,
    context_features,
    feature_names,
    local_features,
)
from cleaners.repair import repair_text  # noqa: E402
from pipelines.config import Config, load_config  # noqa: E402

MODELS = devset.CACHE / "models"
FINAL = ROOT / "configs" / "boilerplate-model.json"
SEED = 20261202
# Deterministic for a fixed thread count: same data, same bytes (the
# off-topic model's training uses the same settings).
DETERMINISTIC = {"verbose": -1, "deterministic": True, "force_row_wise": True, "num_threads": 2}
PARAMS = {
    "objective": "binary",
    "learning_rate": 0.15,
    "max_bin": 63,
    "num_leaves": 31,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.8,
    # Nothing drawn at random per row: bins from every row, not a sample,
    # and no bagging. Both draws follow the row order, so a rule that takes
    # 200 of 360,000 training rows redrew them all and moved content kept
    # on the tuning fold by up to 0.011 through the draw alone
    # (benchmarks/retrain_noise.py); the features drawn per tree do not
    # depend on the rows.
    "bin_construct_sample_cnt": 100_000_000,
    "lambda_l2": 1.0,
    **DETERMINISTIC,
    "seed": SEED,
}
ROUNDS = 100
# Threshold: the highest removal of boilerplate lines whose out-of-fold cost
# keeps at least this share of content lines (the target on paragraph dumps).
KEEP_CONTENT = 0.98
# Renders left out of training: the AEB's html-text and inscriptis outputs
# are the same converters over the same pages as our own renders (scored,
# not trained on twice).
NOT_TRAINED = ("aeb/html-text", "aeb/inscriptis")


@dataclasses.dataclass
class Rows:
    X: np.ndarray  # local features
    art: np.ndarray  # article index per row (for context features)
    y: np.ndarray  # 1 = boilerplate, 0 = content, -1 = mixed (not trained on)
    w: np.ndarray  # weight: longer blocks carry more of the F1
    fold: np.ndarray  # devset fold of the row's page
    site: np.ndarray  # hash of the page's site (registered domain)
    render: np.ndarray  # render index per row
    live: np.ndarray  # not removed by a step before the classifier
    dataset: np.ndarray  # 0 = AEB, 1 = WCXB (for the leave-one-dataset-out models)


def steps_before_classifier(cfg: Config) -> tuple[str, ...]:
    steps = tuple(cfg.boilerplate.steps)
    cut = steps.index("classifier") if "classifier" in steps else len(steps)
    # Learned lines need a source's other articles, which a dev-set page
    # has none of; training sees what the other steps leave.
    return tuple(s for s in steps[:cut] if s != "learned")


def article(page: dict) -> tuple[str, list[str]]:
    """The page as the pipeline reads it, and the label of each non-blank
    line of it (blocks that repair leaves empty are dropped with theirs)."""
    texts, labels = [], []
    for blk in page["blocks"]:
        text = repair_text(blk["text"])[0].replace("\n", " ")
        if text.strip():
            texts.append(text)
            labels.append(blk["label"])
    sep = "\n\n" if page["render"] == "dump" else "\n"
    return sep.join(texts), labels


def untitled(page: dict) -> bool:
    """Half the pages, fixed by a hash of the page, train as records
    without a title (text dumps, crawler exports): the model must not need
    one."""
    return int(hashlib.sha1(f"{page['dataset']}/{page['page']}".encode()).hexdigest(), 16) % 2 == 1


def record(page: dict, titled: bool, rules: RuleSet) -> tuple[str, str, list[str]]:
    """(title, text, label per non-blank line) of the page as the pipeline
    cleans it: with the page's title, or without one, when the chain takes
    a title-like first line as the headline (:meth:`cleaners.chain.Chain.prepare`)."""
    text, labels = article(page)
    if titled and page.get("title"):
        return page["title"], text, labels
    title, body = split_title(text, furniture=lambda line: rules.furniture(line, devset_source(page)))
    return title, body, labels[1:] if title else labels


def build_rows(cfg: Config, renders: list[str] | None = None, batch: int = 200) -> Rows:
    rules = cfg.ruleset()
    pre = Boilerplate(rules, steps_before_classifier(cfg), None if cfg.boilerplate.offtopic_max_shared is False
                      else float(cfg.boilerplate.offtopic_max_shared))
    renders = renders or [r for r in devset.renders() if r not in NOT_TRAINED]
    parts = []
    for r_idx, render in enumerate(renders):
        pages = devset.load(render)
        for s in range(0, len(pages), batch):
            chunk = pages[s:s + batch]
            blocks, labels, folds, sites, dsets = [], [], [], [], []
            for page in chunk:
                title, text, lab = record(page, not untitled(page), rules)
                blocks.append(Blocks(text, title, devset_source(page)))
                labels.append(lab)
                folds.append(page["fold"])
                dsets.append(0 if page["dataset"] == "aeb" else 1)
                sites.append(int(hashlib.sha1(devset_source(page).encode()).hexdigest()[:8], 16))
            pre.run(blocks)
            X, art = local_features(blocks, rules.patterns)
            y = np.array([{"boilerplate": 1, "content": 0}.get(lab, -1) for labs in labels for lab in labs], dtype=np.int8)
            assert len(y) == len(X), "one label per non-blank line"
            live = np.array([i not in b.removed for b in blocks for i in b.nonblank], dtype=bool)
            words = np.array([len(b.lines[i].split()) for b in blocks for i in b.nonblank], dtype=np.float32)
            counts = [len(b.nonblank) for b in blocks]
            parts.append(Rows(X, art + s + r_idx * 1_000_000, y, np.sqrt(words), np.repeat(folds, counts).astype(np.int8),
                              np.repeat(sites, counts).astype(np.int64), np.full(len(X), r_idx, dtype=np.int8), live,
                              np.repeat(dsets, counts).astype(np.int8)))
        print(f"  rows of {render}: {sum(len(p.y) for p in parts if p.render[:1].tolist() == [r_idx]):,}", flush=True)
    return Rows(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in dataclasses.fields(Rows)))


def devset_source(page: dict) -> str:
    return page.get("domain") or ""


def _train(X: np.ndarray, y: np.ndarray, w: np.ndarray):
    import lightgbm

    return lightgbm.train(PARAMS, lightgbm.Dataset(X, y, weight=w, free_raw_data=True), num_boost_round=ROUNDS)


def _prose(rows: Rows, names: tuple[str, ...]) -> np.ndarray:
    return rows.X[:, names.index("is_prose")] > 0


def fit(rows: Rows, mask: np.ndarray, names: tuple[str, ...], group: np.ndarray | None = None) -> tuple[object, object, float, dict]:
    """Two-stage model on the rows of ``mask``; its threshold from the
    out-of-fold scores of those rows. ``group``: the inner folds (default:
    two folds by a hash of the site, so no site is on both sides)."""
    group = rows.site % 2 if group is None else group
    labelled = mask & rows.live & (rows.y >= 0)
    # Every content line, and every other boilerplate line (a fixed half,
    # weighted twice): boilerplate outnumbers content two to one and is
    # mostly alike, so half of it teaches as much in half the time.
    half = (rows.y == 0) | (np.arange(len(rows.y)) % 2 == 0)
    train = labelled & half
    rows = dataclasses.replace(rows, w=np.where(rows.y == 1, 2 * rows.w, rows.w).astype(np.float32))
    groups = sorted(set(group[mask].tolist()))
    # Stage 1 out of fold, on every row of mask (context needs every line of
    # an article, trained on or not).
    p1 = np.zeros(len(rows.y), dtype=np.float64)
    for g in groups:
        inner = train & (group != g)
        m1 = _train(rows.X[inner], rows.y[inner], rows.w[inner])
        at = mask & (group == g)
        p1[at] = m1.predict(rows.X[at], num_threads=1)
    stage1 = _train(rows.X[train], rows.y[train], rows.w[train])
    prose = _prose(rows, names)
    ctx = np.zeros((len(rows.y), len(CONTEXT_FEATURES)), dtype=np.float32)
    ctx[mask] = context_features(p1[mask], rows.art[mask], prose[mask])
    X2 = np.hstack([rows.X, ctx])
    # Stage 2's own out-of-fold scores choose the threshold.
    p2 = np.zeros(len(rows.y), dtype=np.float64)
    for g in groups:
        inner = train & (group != g)
        m2 = _train(X2[inner], rows.y[inner], rows.w[inner])
        at = labelled & (group == g)
        p2[at] = m2.predict(X2[at], num_threads=1)
    stage2 = _train(X2[train], rows.y[train], rows.w[train])
    threshold, oof = choose_threshold(p2[labelled], rows.y[labelled])
    return stage1, stage2, threshold, oof


def choose_threshold(p: np.ndarray, y: np.ndarray) -> tuple[float, dict]:
    content = np.sort(p[y == 0])
    # The smallest threshold that keeps KEEP_CONTENT of content lines.
    k = int(np.floor(len(content) * KEEP_CONTENT))
    t = float(content[min(k, len(content) - 1)]) + 1e-6 if len(content) else 0.5
    t = round(min(max(t, 0.05), 0.99), 3)
    return t, {"oof_content_kept": round(float((p[y == 0] < t).mean()), 4),
               "oof_boilerplate_removed": round(float((p[y == 1] >= t).mean()), 4),
               "oof_rows": int(len(y))}


def save(path: Path, stage1, stage2, threshold: float, names: tuple[str, ...], cfg: Config, meta: dict) -> None:
    rules = cfg.ruleset()
    data = {
        "feature_version": FEATURE_VERSION,
        "features": list(names),
        "pattern_digest": rules.patterns.digest,
        "threshold": threshold,
        "steps_before": list(steps_before_classifier(cfg)),
        **meta,
        "stage1": stage1.model_to_string(num_iteration=-1),
        "stage2": stage2.model_to_string(num_iteration=-1),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n", encoding="utf-8")
    tmp.replace(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", type=Path, default=None)
    ap.add_argument("--folds-only", action="store_true", help="only the fold models (for the benchmark)")
    ap.add_argument("--final-only", action="store_true", help="only the committed model")
    ap.add_argument("--fold", type=int, action="append", help="only these fold models")
    ap.add_argument("--lodo", action="store_true", help="also the leave-one-dataset-out models (AEB only, WCXB only)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    cfg = load_config(args.config)
    names = feature_names(cfg.ruleset().patterns)
    print("building rows from the dev set ...", flush=True)
    rows = build_rows(cfg)
    print(f"{len(rows.y):,} lines, {int(rows.live.sum()):,} left by the steps before the classifier; "
          f"labels: {int((rows.y == 1).sum()):,} boilerplate, {int((rows.y == 0).sum()):,} content, "
          f"{int((rows.y < 0).sum()):,} mixed", flush=True)
    data_digest = hashlib.sha256(rows.X.tobytes() + rows.y.tobytes()).hexdigest()[:16]
    summary = {"rows": int(len(rows.y)), "data_digest": data_digest, "folds": {}}
    if not args.final_only:
        for k in args.fold or range(devset.FOLDS):
            mask = rows.fold != k
            s1, s2, t, oof = fit(rows, mask, names)
            save(MODELS / f"fold-{k}.json", s1, s2, t, names, cfg, {"trained_on": f"folds != {k}", **oof})
            summary["folds"][k] = {"threshold": t, **oof}
            print(f"fold {k}: threshold {t} (out-of-fold on the training folds: content kept {oof['oof_content_kept']}, "
                  f"boilerplate removed {oof['oof_boilerplate_removed']})", flush=True)
    if args.lodo:
        for d, name in ((0, "aeb"), (1, "wcxb")):
            s1, s2, t, oof = fit(rows, rows.dataset == d, names)
            save(MODELS / f"lodo-{name}.json", s1, s2, t, names, cfg, {"trained_on": f"{name} only", **oof})
            summary[f"lodo_{name}"] = {"threshold": t, **oof}
            print(f"trained on {name} only: threshold {t}", flush=True)
    if not args.folds_only:
        s1, s2, t, oof = fit(rows, np.ones(len(rows.y), dtype=bool), names)
        save(FINAL, s1, s2, t, names, cfg, {"trained_on": "all folds", **oof})
        summary["final"] = {"threshold": t, **oof, "bytes": FINAL.stat().st_size,
                            "sha256": hashlib.sha256(FINAL.read_bytes()).hexdigest()}
        print(f"final model: {FINAL} ({FINAL.stat().st_size:,} bytes), threshold {t} "
              f"(stored in the model file: runs use it unless [boilerplate] classifier_threshold is set)", flush=True)
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    out = devset.RESULTS / "train_boilerplate.json"
    out.write_text(json.dumps(summary, indent=1) + "\n")
    print(f"wrote {out} ({summary['seconds']} s)")


if __name__ == "__main__":
    main()
