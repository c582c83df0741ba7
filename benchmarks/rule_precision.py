"""Precision of every hand-written rule reason on the dev set's training
fold (``-1``: the sites the rules were written from), per render: lines
removed that the gold calls boilerplate, against lines removed that it
calls content. The rules run before the classifier and override it, so a
reason with low precision here costs content that no model can win back.

    .venv/bin/python benchmarks/rule_precision.py [--steps sections,rules]
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
from benchmarks.train_boilerplate import article  # noqa: E402
from cleaners.boilerplate import Blocks, Boilerplate  # noqa: E402
from pipelines.config import load_config  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", default="sections,rules")
    args = ap.parse_args()
    cfg = load_config(None)
    pre = Boilerplate(cfg.ruleset(), tuple(args.steps.split(",")), None)
    out: dict = {"steps": args.steps, "fold": -1, "renders": {}}
    for render in devset.renders():
        stats: dict[str, Counter] = defaultdict(Counter)
        for page in devset.load(render):
            if page["fold"] != -1:
                continue
            text, labels = article(page)
            b = Blocks(text, page["title"], page["domain"])
            for step in pre.steps:
                step(b)
            for n, i in enumerate(b.nonblank):
                if i in b.removed:
                    stats[b.removed[i]][labels[n]] += 1
        out["renders"][render] = {r: dict(c) for r, c in stats.items()}
        print(render)
        for r, c in sorted(stats.items(), key=lambda x: -sum(x[1].values())):
            tot = c["content"] + c["boilerplate"]
            print(f"   {r:<18} boilerplate {c['boilerplate']:6d}  content {c['content']:5d}  precision {c['boilerplate'] / max(tot, 1):.3f}")
    (devset.RESULTS / "rule_precision.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
