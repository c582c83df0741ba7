"""Boilerplate removal on sites the cleaner was never tuned on.

Every page of the dev set (``benchmarks/devset.py``) is scored only by a
model that never saw its site: for each site-grouped test fold ``k`` (0-4),
the pipeline runs with fold ``k``'s model (trained by
``benchmarks/train_boilerplate.py --folds-only`` on every other fold, its
threshold chosen on those folds) over fold ``k``'s pages, through the same
learn and clean passes a user's run takes. Fold ``-1`` (sites the rules were
tuned on) is never scored. Leave-one-dataset-out: a model trained on every
AEB page scores the WCXB pages of untuned sites, and the other way round.

Figures per render:

* paragraph dumps and every other render, by block: boilerplate blocks
  removed, content blocks kept (by count and by words); ``mixed`` blocks and
  blocks without a word are not counted;
* word 4-gram F1 against the gold body, per page, averaged (the AEB
  benchmark's metric), before and after cleaning;
* pages that lost half their body's words (what a false positive costs).

Every figure twice, records with their page title and without one (the
chain then takes a title-like first line as the headline, and the output
is that title and the text); the figure reported is the worse of the two.

    .venv/bin/python benchmarks/generalisation.py [--renders dump html-text]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import devset  # noqa: E402
from benchmarks.boilerplate import clean_records, prf  # noqa: E402
from cleaners.repair import repair_text  # noqa: E402
from pipelines.config import Config, load_config  # noqa: E402

MODELS = devset.CACHE / "models"
_TOKEN = re.compile(r"\w+")
# A block is text when it has a letter or a digit ("___" has neither).
_WORD = re.compile(r"[^\W_]")


def _norm(text: str) -> str:
    return " ".join(_TOKEN.findall(text.lower()))


def has_text(text: str) -> bool:
    """A letter or a digit: text someone reads ("___" and "|" are not)."""
    return bool(_WORD.search(text))


def page_text(page: dict) -> tuple[str, list[dict]]:
    """The page as a scraper hands it over (a dump: one block a paragraph),
    and its blocks that are not blank."""
    blocks = [b for b in page["blocks"] if b["text"].strip()]
    sep = "\n\n" if page["render"] == "dump" else "\n"
    return sep.join(b["text"] for b in blocks), blocks


def kept_blocks(blocks: list[dict], cleaned: str) -> list[bool | None]:
    """Which blocks survive in the cleaned text: the block's words are an
    output line, or an output line is most of the block (a dateline or a
    suffix trimmed off it). None for a block without a letter or a digit
    ("|", "•", "___", an invisible character): it is no text anyone reads
    or misses, and most such blocks have no word to compare, so whether
    they survived cannot be told. They are counted neither way: counted as
    gone, they credited every cleaner, the one that removes nothing
    included, with removing them.
    """
    out = [_norm(line) for line in cleaned.splitlines() if line.strip()]
    exact = set(out)
    res: list[bool | None] = []
    for b in blocks:
        n = _norm(repair_text(b["text"])[0])
        res.append(None if not has_text(n) else n in exact or any(len(o) >= 0.5 * len(n) and o in n for o in out))
    return res


def model_cfg(base: Config, path: Path) -> Config:
    return base.with_overrides(boilerplate={"model": str(path)})


def evaluate(pages: list[dict], cfg: Config, title: bool = True) -> list[dict]:
    """Per page: F1 before and after, and block counts. ``title`` False:
    the records carry no title, as text dumps and many crawler exports
    have it; what the user gets is then the headline the chain took from
    the text (the output's ``title``) and the cleaned text."""
    recs, blocks = [], {}
    for p in pages:
        text, blks = page_text(p)
        pid = f"{p['dataset']}/{p['page']}"
        blocks[pid] = (p, text, blks)
        recs.append({"id": pid, "text": text, "title": p["title"] if title else "", "url": p["url"],
                     "source": p["domain"]})
    out = clean_records(recs, cfg=cfg)
    after = {pid: t if title or not head else f"{head}\n{t}" for pid, (head, t) in out.items()}
    rows = []
    for pid, (p, text, blks) in blocks.items():
        kept = kept_blocks(blks, after[pid])
        row = {"page": pid, "f1_before": prf(p["gold"], text)[2], "f1_after": prf(p["gold"], after[pid])[2]}
        for lab in ("content", "boilerplate"):
            sel = [(k, len(b["text"].split())) for k, b in zip(kept, blks) if b["label"] == lab and k is not None]
            row[f"{lab}_blocks"] = len(sel)
            row[f"{lab}_kept"] = sum(k for k, _ in sel)
            row[f"{lab}_words"] = sum(w for _, w in sel)
            row[f"{lab}_words_kept"] = sum(w for k, w in sel if k)
        rows.append(row)
    return rows


def summarise(rows: list[dict]) -> dict:
    def share(a: str, b: str) -> float | None:
        d = sum(r[b] for r in rows)
        return round(sum(r[a] for r in rows) / d, 4) if d else None

    rem = share("boilerplate_kept", "boilerplate_blocks")
    return {
        "pages": len(rows),
        "f1_before": round(statistics.fmean(r["f1_before"] for r in rows), 4) if rows else None,
        "f1_after": round(statistics.fmean(r["f1_after"] for r in rows), 4) if rows else None,
        "boilerplate_removed": None if rem is None else round(1 - rem, 4),
        "content_kept": share("content_kept", "content_blocks"),
        "content_words_kept": share("content_words_kept", "content_words"),
        "content_blocks": sum(r["content_blocks"] for r in rows),
        "boilerplate_blocks": sum(r["boilerplate_blocks"] for r in rows),
        # Pages that lost most of their body: what a false positive costs.
        "pages_lost_half_content": sum(1 for r in rows if r["content_words"] and r["content_words_kept"] < 0.5 * r["content_words"]),
    }


# The worse of titled and untitled, figure by figure: the one users can count on.
_HIGHER_IS_BETTER = ("f1_after", "boilerplate_removed", "content_kept", "content_words_kept")


def worst(a: dict, b: dict) -> dict:
    out = dict(a)
    for k in _HIGHER_IS_BETTER:
        if a.get(k) is not None and b.get(k) is not None:
            out[k] = min(a[k], b[k])
    out["pages_lost_half_content"] = max(a["pages_lost_half_content"], b["pages_lost_half_content"])
    return out


def folds_run(render: str, base: Config, title: bool = True, folds: list[int] | None = None) -> dict:
    pages = devset.load(render)
    rows = []
    for k in folds if folds is not None else range(devset.FOLDS):
        path = MODELS / f"fold-{k}.json"
        if not path.exists():
            sys.exit(f"no model for fold {k}: run benchmarks/train_boilerplate.py --folds-only first")
        test = [p for p in pages if p["fold"] == k]
        if test:
            rows += evaluate(test, model_cfg(base, path), title)
    return {"folds": summarise(rows), "per_page": rows}


def lodo_run(render: str, base: Config) -> dict:
    """Train on one dataset, test on the other's untuned sites (sites seen in
    training left out of the test too); untitled records."""
    pages = devset.load(render)
    out = {}
    for train, test in (("aeb", "wcxb"), ("wcxb", "aeb")):
        path = MODELS / f"lodo-{train}.json"
        if not path.exists():
            continue
        seen = {p["domain"] for p in pages if p["dataset"] == train}
        sel = [p for p in pages if p["dataset"] == test and p["fold"] >= 0 and p["domain"] not in seen]
        if sel:
            out[f"{train}->{test}"] = summarise(evaluate(sel, model_cfg(base, path), title=False))
    return out


def rules_only(render: str, base: Config, title: bool = True, folds: list[int] | None = None) -> dict:
    """The same pages and folds through the rule-based chain of the
    previous release (no classifier): the baseline in the same run."""
    steps = [s for s in base.boilerplate.steps if s != "classifier"]
    if "page" not in steps:
        steps.insert(steps.index("rules"), "page")
    cfg = base.with_overrides(boilerplate={"steps": steps})
    pages = [p for p in devset.load(render) if p["fold"] >= 0 and (folds is None or p["fold"] in folds)]
    return summarise(evaluate(pages, cfg, title))


def line(name: str, s: dict) -> str:
    def f(x):
        return "   -  " if x is None else f"{x:6.3f}"
    return (f"{name:<42}{s['pages']:>5} | F1 {f(s['f1_before'])} -> {f(s['f1_after'])} | "
            f"boilerplate removed {f(s['boilerplate_removed'])} | content kept {f(s['content_kept'])} "
            f"words {f(s['content_words_kept'])} | pages losing half their body {s['pages_lost_half_content']}")


def run(renders: list[str] | None = None, config: Path | None = None, baseline: bool = True,
        folds: list[int] | None = None) -> dict:
    """``folds``: the held-out folds to score (default: all five)."""
    base = load_config(config)
    res: dict = {"steps": list(base.boilerplate.steps), "folds": folds if folds is not None else list(range(devset.FOLDS)),
                 "renders": {}}
    for render in renders or devset.renders():
        t0 = time.perf_counter()
        entry = {"folds_titled": folds_run(render, base, folds=folds)["folds"],
                 "folds_untitled": folds_run(render, base, title=False, folds=folds)["folds"]}
        entry["folds"] = worst(entry["folds_titled"], entry["folds_untitled"])
        print(line(f"{render} titled", entry["folds_titled"]), flush=True)
        print(line(f"{render} untitled", entry["folds_untitled"]), flush=True)
        print(line(f"{render} worse of the two", entry["folds"]), flush=True)
        if render in ("dump", "html-text", "inscriptis", "trafilatura-recall"):
            entry["lodo"] = lodo_run(render, base)
            for k, v in entry["lodo"].items():
                print(line(f"{render} {k}", v), flush=True)
        if baseline and render in ("dump", "html-text", "inscriptis"):
            # Titled records: how the previous release saw them.
            entry["rules_only"] = rules_only(render, base, folds=folds)
            print(line(f"{render} rules only (baseline)", entry["rules_only"]), flush=True)
        entry["seconds"] = round(time.perf_counter() - t0, 1)
        res["renders"][render] = entry
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--renders", nargs="*")
    ap.add_argument("--config", type=Path)
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--folds", type=int, nargs="*", help="held-out folds to score (default: all five)")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    t0 = time.perf_counter()
    res = run(args.renders, args.config, not args.no_baseline, args.folds)
    res["seconds"] = round(time.perf_counter() - t0, 1)
    out = args.out or devset.RESULTS / ("generalisation.json" if not args.renders else "generalisation-partial.json")
    out.write_text(json.dumps(res, indent=1) + "\n")
    print(f"wrote {out} ({res['seconds']} s)")


if __name__ == "__main__":
    main()
