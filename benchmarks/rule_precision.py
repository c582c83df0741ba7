"""Precision of every default rule of ``configs/rules.toml`` on the dev
set's training fold (``-1``: the sites the rules were written from), over
every render, and the number of distinct sites it fires on. A default rule
must be a convention, not one site's text: at least ``MIN_SITES`` sites and
``MIN_PRECISION`` (lines removed that the gold calls boilerplate, against
lines removed that it calls content; ``mixed`` lines count for neither).
Rules run through the real steps (``sections``, ``rules``, ``lead``) with
the body guard; a rule below either bar is flagged, and belongs in an
opt-in file under ``configs/sites/`` or nowhere. A line without a letter or
a digit counts neither way, as in the cleaning benchmark
(``generalisation.kept_blocks``): a rule that takes only such lines is
held to the sites bar alone. A prefix or suffix rule trims text off a
line instead of removing it: a trim counts as boilerplate when its words
are not in the page's gold text, as content when they are. Held-out folds
are never read here: what is decided from these figures is reported on
folds 0-4.

    .venv/bin/python benchmarks/rule_precision.py [--steps sections,rules,lead]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import devset  # noqa: E402
from benchmarks.boilerplate import _norm  # noqa: E402
from benchmarks.generalisation import has_text  # noqa: E402
from benchmarks.train_boilerplate import record  # noqa: E402
from cleaners.boilerplate import Blocks, Boilerplate  # noqa: E402
from pipelines.config import load_config  # noqa: E402

MIN_SITES = 3
MIN_PRECISION = 0.99
NO_TEXT = "no_text"


def fires(b: Blocks, labels: list[str], gold: str) -> list[tuple[str, str]]:
    """(rule, label) for every line a rule removed from ``b`` (labels: the
    gold's, per non-blank line; NO_TEXT for a line without a letter or a
    digit) and every text a rule trimmed off a line (boilerplate unless
    its words are in ``gold``)."""
    out = []
    for n, i in enumerate(b.nonblank):
        name = b.by.get(i) or b.removed.get(i)
        if name:
            out.append((name, labels[n] if has_text(b.lines[i]) else NO_TEXT))
    gold = _norm(gold)
    for _, edit, name in b.trims:
        if has_text(edit.text):
            out.append((name, "content" if _norm(edit.text) in gold else "boilerplate"))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", default="sections,rules,lead")
    args = ap.parse_args()
    cfg = load_config(None)
    rules = cfg.ruleset()
    pre = Boilerplate(rules, tuple(args.steps.split(",")), None)
    counts: dict[str, Counter] = defaultdict(Counter)
    sites: dict[str, set[str]] = defaultdict(set)
    refused: Counter = Counter()
    for render in devset.renders():
        for page in devset.load(render):
            if page["fold"] != -1:
                continue
            # Titled and untitled, as users hand records over.
            for titled in (True, False):
                title, text, labels = record(page, titled, rules)
                b = Blocks(text, title, page["domain"])
                pre.run([b])
                refused.update(b.refused)
                for name, label in fires(b, labels, page["gold"]):
                    counts[name][label] += 1
                    if label in ("boilerplate", NO_TEXT):
                        sites[name].add(page["domain"])
    out: dict = {"steps": args.steps, "fold": -1, "min_sites": MIN_SITES, "min_precision": MIN_PRECISION,
                 "refused_by_body_guard": dict(refused), "rules": {}}
    names = [r.name for r in rules.rules]
    flagged = 0
    print(f"default rules on training fold -1 (titled and untitled, every render); "
          f"bar: >= {MIN_SITES} sites, precision >= {MIN_PRECISION}")
    for name in [*names, *sorted(set(counts) - set(names))]:
        c = counts.get(name, Counter())
        tot = c["content"] + c["boilerplate"]
        prec = c["boilerplate"] / tot if tot else None
        n_sites = len(sites.get(name, ()))
        # A rule that takes only lines without text ("___", "•") removes
        # nothing anyone reads: its precision cannot be told and need not be.
        takes_text = tot > 0
        ok = name not in names or (n_sites >= MIN_SITES and (not takes_text or prec >= MIN_PRECISION))
        flagged += not ok
        reason = next((r.reason for r in rules.rules if r.name == name), name)
        out["rules"][name] = {"reason": reason, "boilerplate": c["boilerplate"], "content": c["content"],
                              "no_text": c[NO_TEXT], "precision": None if prec is None else round(prec, 4),
                              "sites": n_sites, "ok": ok}
        print(f"{'  ' if ok else '! '}{name:<34} {reason:<18} boilerplate {c['boilerplate']:6d}  content {c['content']:5d}  "
              f"no text {c[NO_TEXT]:5d}  "
              f"precision {'  -  ' if prec is None else f'{prec:.3f}'}  sites {n_sites:4d}")
    print(f"{flagged} default rule(s) below the bar; removals refused by the body guard: "
          + ", ".join(f"{k} {v}" for k, v in refused.most_common()))
    (devset.RESULTS / "rule_precision.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
