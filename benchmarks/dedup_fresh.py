"""Near-duplicates on a fresh set no threshold has seen: long version chains
of wire stories as real crawls carry them, and the hard negatives, newsclean
beside datatrove and datasketch.

The set is made like ``benchmarks/dedup_dev.py``'s (same sources, same site
leftovers, same scores), from BBC stories that benchmark never used, and
harder where real crawls are:

* **chain**: a wire story and 3 to 11 updates (up to 12 versions). Each
  update does one to three of: rewrite the lede, put a new development on
  top, add background at the bottom, add a quote, trim the last paragraph,
  reword a sentence in the body. Each version is published on its own site
  with its own leftovers and, now and then, its own headline. Plus one to
  three truncated reprints of random versions cut at random points (25 % to
  80 % of the words), sometimes an exact reprint, sometimes a reprint with
  a site's own paragraph on top.
* **quotes**, **followup**, **template**, **weather**: the hard negatives of
  the dev benchmark (same-event stories sharing quotes, follow-ups reusing
  background, templated sport / market / weather reports, each with its
  reprints), the stories with versions as above.

Wire copy runs one or two sentences a paragraph, so the BBC paragraphs are
split into paragraphs of one or two sentences before editing.

The groups are split into a tuning half and a report half by a hash of the
group. The report half was frozen before any tuning: its documents' ids and
text hashes are in ``benchmarks/dedup_fresh_manifest.json`` (written with
``--freeze``, committed before the thresholds were touched); a run whose
generated input differs from the manifest stops. The text itself is not
committed: it is derived from ``../shared`` deterministically.

Every figure goes through the whole default chain (``newsclean run``:
extraction of nothing, repair, the boilerplate stage, gates, dedup), so a
change of the cleaner is measured by running this again.

    .venv/bin/python benchmarks/dedup_fresh.py               # report half, all tools, AEB real copies, seeds
    .venv/bin/python benchmarks/dedup_fresh.py --half tune   # tuning half, newsclean only
    .venv/bin/python benchmarks/dedup_fresh.py --write FILE  # the generated input with labels

Writes ``benchmarks/results/dedup_fresh.json`` (``dedup_fresh_tune.json``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import dedup as base  # noqa: E402
import dedup_dev as dev  # noqa: E402

SEED = 20262
RESULTS = ROOT / "benchmarks" / "results"
MANIFEST = ROOT / "benchmarks" / "dedup_fresh_manifest.json"


def wire_paragraphs(text: str, rng: np.random.Generator) -> list[str]:
    """The article's paragraphs re-cut as wire copy: one or two sentences each."""
    out = []
    for p in dev.paragraphs(text):
        sents = [s for s in dev._SENT.split(p) if s.strip()]
        k = 0
        while k < len(sents):
            step = 1 if len(sents[k].split()) > 25 else int(rng.integers(1, 3))
            out.append(" ".join(sents[k : k + step]))
            k += step
    return out


def reword(para: str, rng: np.random.Generator, vocab: list[str], share: float = 0.15) -> str:
    words = para.split(" ")
    for i in rng.choice(len(words), size=max(1, int(len(words) * share)), replace=False):
        words[i] = vocab[int(rng.integers(len(vocab)))]
    return " ".join(words)


class FreshBuilder(dev.Builder):
    def __init__(self):
        used = dev.Builder()
        used.build()
        super().__init__(SEED, exclude=frozenset(used.taken), min_paragraphs=3)

    def versions(self, group: str, story: str, art: dict, donor: dict, updates: int, hour: int) -> None:
        rng = self.rng
        paras = wire_paragraphs(art["text"], rng)
        extra = wire_paragraphs(donor["text"], rng)
        quotes = dev.paragraphs(donor["text"])
        title = art["title"]
        chain = [list(paras)]
        lede = 0  # where the original lede is now
        for _ in range(updates):
            cur = list(chain[-1])
            for edit in rng.choice(["lede", "top", "bottom", "quote", "trim", "reword"], size=int(rng.integers(1, 4)), replace=False):
                if edit == "lede":  # each update's desk rewrites the wire's lede afresh
                    cur[lede] = dev.rewrite_lede(paras[:1], rng, self.vocab)[0]
                elif edit == "top" and extra:
                    cur = [extra.pop(0)] + cur
                    lede += 1
                elif edit == "bottom" and extra:
                    cur = cur + [extra.pop() for _ in range(min(len(extra), int(rng.integers(1, 3))))]
                elif edit == "quote":
                    cur.insert(int(rng.integers(lede + 1, len(cur) + 1)), dev.quote_paragraph(quotes, rng))
                elif edit == "trim" and len(cur) > max(6, lede + 2):
                    cur = cur[:-1]
                elif edit == "reword" and len(cur) > lede + 2:
                    k = int(rng.integers(lede + 1, len(cur)))
                    cur[k] = reword(cur[k], rng, self.vocab)
            chain.append(cur)
        sites = []
        for v, ps in enumerate(chain):
            headline = title if v == 0 or rng.random() < 0.5 else reword(title, rng, self.vocab, 0.3)
            sites.append(self.publish(group, story, "original" if v == 0 else f"update{v}", headline, ps, hour + v))
        for _ in range(int(rng.integers(1, 4))):
            v = int(rng.integers(len(chain)))
            self.publish(group, story, f"truncated{v}", title, dev.truncate(chain[v], float(rng.uniform(0.25, 0.8))), hour + v)
        if rng.random() < 0.3:
            v = int(rng.integers(len(chain)))
            self.publish(group, story, f"reprint{v}", title, chain[v], hour + v, exclude=sites[v : v + 1])
        if rng.random() < 0.3:
            v = int(rng.integers(len(chain)))
            local = f"{self.vocab[int(rng.integers(len(self.vocab)))]} readers have been following the story closely this week, and our reporters will bring updates as they come in."
            self.publish(group, story, f"localised{v}", title, [local] + chain[v], hour + v)

    def build(self) -> list[dict]:
        rng = self.rng
        hour = 0
        for g in range(30):
            cat = ("sport", "business")[g % 2]
            art = self.take(cat)
            grp = f"template{g:03d}"
            body = "\n\n".join(wire_paragraphs(art["text"], rng)[:10])
            for s in range(int(rng.integers(3, 7))):
                filled = dev.paragraphs(dev.fill_template(body, rng, self.names[cat]))
                title = dev.fill_template(art["title"], rng, self.names[cat])
                story = f"t{g:03d}s{s}"
                self.publish(grp, story, "original", title, filled, hour + s)
                self.publish(grp, story, "reprint", title, filled, hour + s)
                if rng.random() < 0.6:
                    self.publish(grp, story, "truncated", title, dev.truncate(filled, float(rng.uniform(0.4, 0.8))), hour + s)
            hour = (hour + 13) % 2000
        for g in range(180):
            cat = self.topic()
            self.versions(f"chain{g:03d}", f"c{g:03d}", self.take(cat), self.take(cat), int(rng.integers(3, 12)), hour)
            hour = (hour + 13) % 2000
        for g in range(50):
            cat = self.topic()
            a, b, donor = self.take(cat), self.take(cat), self.take(cat)
            grp = f"quotes{g:03d}"
            self.versions(grp, f"q{g:03d}a", a, donor, int(rng.integers(1, 5)), hour)
            pb = wire_paragraphs(b["text"], rng)
            qa = [s for p in dev.paragraphs(a["text"]) for s in dev.sentences(p) if '"' in s] or [dev.quote_paragraph(dev.paragraphs(a["text"]), rng)]
            for k, q in enumerate(qa[:3]):
                pb.insert(min(len(pb), 2 + 2 * k), q)
            self.publish(grp, f"q{g:03d}b", "original", b["title"], pb, hour + 3)
            self.publish(grp, f"q{g:03d}b", "reprint", b["title"], pb, hour + 4)
            self.publish(grp, f"q{g:03d}b", "truncated", b["title"], dev.truncate(pb, 0.6), hour + 5)
            hour = (hour + 13) % 2000
        for g in range(50):
            cat = self.topic()
            a, new, donor = self.take(cat), self.take(cat), self.take(cat)
            grp = f"followup{g:03d}"
            self.versions(grp, f"f{g:03d}a", a, donor, int(rng.integers(1, 5)), hour)
            pa = wire_paragraphs(a["text"], rng)
            pf = wire_paragraphs(new["text"], rng)
            pf = pf[: max(3, len(pf) * 2 // 3)]
            own = sum(len(p.split()) for p in pf)
            background = []
            for p in reversed(pa[len(pa) // 2 :]):
                if sum(len(x.split()) for x in background) + len(p.split()) > own * 0.4 / 0.6:
                    break
                background.insert(0, p)
            pf = pf + (background or [dev.truncate([pa[-1]], 0.5)[0]])
            self.publish(grp, f"f{g:03d}b", "original", new["title"], pf, hour + 30)
            self.publish(grp, f"f{g:03d}b", "truncated", new["title"], dev.truncate(pf, 0.6), hour + 31)
            hour = (hour + 13) % 2000
        for g in range(16):
            grp = f"weather{g:03d}"
            for s in range(int(rng.integers(3, 7))):
                report = dev.paragraphs(dev.weather_report(rng))
                story = f"w{g:03d}s{s}"
                title = f"Weather: {report[0].split(' will')[0]} forecast"
                self.publish(grp, story, "original", title, report, hour + s)
                self.publish(grp, story, "reprint", title, report, hour + s)
            hour = (hour + 13) % 2000
        return self.docs


def half_of(group: str) -> str:
    return "tune" if int(hashlib.sha256(f"{SEED}:{group}".encode()).hexdigest(), 16) % 2 == 0 else "report"


def build(half: str) -> list[dict]:
    return [d for d in FreshBuilder().build() if half_of(d["group"]) == half]


def digest(docs: list[dict]) -> dict:
    """What the manifest pins of one half: the documents' ids and the hash
    of every field a tool sees."""
    h = hashlib.sha256()
    for d in docs:
        h.update(json.dumps([d[k] for k in ("id", "title", "text", "source", "published", "story")], ensure_ascii=False).encode())
    return {"docs": len(docs), "stories": len({d["story"] for d in docs}), "sha256": h.hexdigest(),
            "stories_by_kind": dict(sorted(Counter(re.sub(r"\d+$", "", d["group"]) for d in docs if d["kind"] == "original").items())),
            "ids_sha256": hashlib.sha256("\n".join(d["id"] for d in docs).encode()).hexdigest()}


def check_frozen(half: str, docs: list[dict]) -> None:
    frozen = json.loads(MANIFEST.read_text())[half]
    now = digest(docs)
    if now["sha256"] != frozen["sha256"]:
        sys.exit(f"dedup_fresh: the generated {half} half differs from the frozen manifest "
                 f"({now['docs']} docs, sha256 {now['sha256'][:12]} vs {frozen['docs']} docs, {frozen['sha256'][:12]}): "
                 "the generator or ../shared changed")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--half", choices=("tune", "report"), default="report")
    ap.add_argument("--config", help="newsclean config (default configs/default.toml)")
    ap.add_argument("--only-newsclean", action="store_true", help="skip the other tools, the real copies and the seeds")
    ap.add_argument("--write", type=Path, help="write the generated input (jsonl with labels) here and stop")
    ap.add_argument("--freeze", action="store_true", help="write the manifest of both halves and stop")
    args = ap.parse_args()
    if args.freeze:
        docs = FreshBuilder().build()
        manifest = {"seed": SEED, **{h: digest([d for d in docs if half_of(d["group"]) == h]) for h in ("tune", "report")}}
        MANIFEST.write_text(json.dumps(manifest, indent=1) + "\n")
        print(json.dumps(manifest, indent=1))
        return
    docs = build(args.half)
    check_frozen(args.half, docs)
    if args.write:
        with open(args.write, "w", encoding="utf-8") as fh:
            for d in docs:
                fh.write(json.dumps(d, ensure_ascii=False) + "\n")
        print(f"wrote {len(docs)} docs to {args.write}")
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    res: dict = {"half": args.half, "seed": SEED, "docs": len(docs), "stories": len({d["story"] for d in docs}),
                 "groups": dict(Counter(re.sub(r"\d+$", "", g) for g in {d["group"] for d in docs})),
                 "sites": len({d["source"] for d in docs}), "chain": base.chain_identity(), "tools": {}}
    records = [{k: d[k] for k in ("id", "title", "text", "source", "published")} for d in docs]
    with tempfile.TemporaryDirectory(prefix="dedup-fresh-", dir=RESULTS) as tmp:
        work = Path(tmp)
        (work / "nc").mkdir()
        nc, info = base.run_newsclean(records, work / "nc", args.config)
        res["tools"]["newsclean"] = {**dev.scores(docs, nc), "seconds": info["seconds"], "dropped": info["dropped"]}
        # Every input counts above (an article a gate dropped, e.g. a copy
        # cut below 50 words, is a cluster of its own); the same scores over
        # the articles that reached dedup, for the dedup rule alone:
        gated = set(info["gated"])
        kept = dev.scores([d for d in docs if d["id"] not in gated], nc)
        res["tools"]["newsclean"]["reached_dedup"] = {"docs": len(docs) - len(gated),
                                                      **{k: kept[k] for k in ("precision", "recall", "f1", "chain_recall")}}
        if not args.only_newsclean:
            rates = {}
            for name, kw in (("datatrove (defaults, spaCy words)", {}), ("datatrove (defaults, regex words)", {"regex_words": True}),
                             ("datatrove (3-grams, threshold 0.5)", {"matched": True})):
                w = work / f"dt{len(rates)}"
                w.mkdir()
                label, dinfo = dev.run_datatrove(docs, w, **kw)
                res["tools"][name] = {**dev.scores(docs, label), **dinfo}
                rates[name] = dinfo["sign_articles_per_cpu_s"]
            res["datatrove_sign_rates"] = {"spacy": rates["datatrove (defaults, spaCy words)"],
                                           "regex": rates["datatrove (defaults, regex words)"]}
            res["tools"]["datasketch MinHashLSH (0.5)"] = dev.scores(docs, dev.run_datasketch(docs, 0.5))
            (work / "aeb").mkdir()
            res["real_copies"] = base.real_copies(work / "aeb")
            (work / "seeds").mkdir()
            res["seeds"] = dev.seeds_check(work / "seeds")
    res["seconds"] = round(time.perf_counter() - t_start, 1)
    lines = dev.table(res)
    r = res["tools"]["newsclean"]["reached_dedup"]
    lines.insert(2, f"newsclean over the {r['docs']} articles that reached dedup (the gates dropped {res['docs'] - r['docs']}): "
                    f"P {r['precision']:.3f}  R {r['recall']:.3f}  F1 {r['f1']:.3f}  chain R {r['chain_recall']:.3f}")
    res["table"] = lines
    print("\n".join(lines))
    out = RESULTS / ("dedup_fresh.json" if args.half == "report" else "dedup_fresh_tune.json")
    out.write_text(json.dumps(res, indent=1, default=str))
    print(f"wrote {out} ({res['seconds']} s)")


if __name__ == "__main__":
    main()
