"""Dev benchmark of near-duplicates as news arrives: version chains and hard
negatives made from real articles, newsclean beside datatrove and datasketch.

Built deterministically (fixed seed) from ``../shared/data/bbc-news-2225``
(the story texts) and ``../shared/data/article-extraction-benchmark`` (the
site leftovers: the lines of each real page's whole visible text,
``output/html-text.json``, just before and just after its gold article body,
i.e. what an extractor leaves around an article: bylines, captions, gallery
counters, "Most Popular", newsletter prompts). Each copy is published by one
of those real sites and carries a random part of that site's leftovers, so
two copies of one story never carry the same furniture.

Groups of stories (a BBC article is used by one group only):

* **chain**: a story updated 2-6 times; each update does one or two of:
  rewrite the lede, add a paragraph at the top (a new development), add
  paragraphs at the bottom (background), add a quote. Plus a truncated
  reprint of one version and, now and then, an exact reprint elsewhere.
  Every version is one story: all its pairs are true pairs.
* **quotes** (hard negative): story A (with versions) and story B, another
  article of the topic into which A's quotes are spliced, as two reports of
  one event quoting the same people.
* **followup** (hard negative): story A (with versions) and a follow-up: a
  new story that reuses A's background paragraphs at its end.
* **template** (hard negative): sports results and market reports made from
  one BBC sport or business article by replacing its numbers and proper
  names consistently (the same sentences, other teams / companies / scores),
  and weather reports filled into one set of template sentences; each such
  story also has a reprint or two on other sites, which *are* copies.

The groups are split into a tuning half and a report half by a hash of the
group (a story and its hard negatives never straddle the halves). Thresholds
are tuned on the tuning half (``--half tune``); the figures reported are the
report half's. On the same input, in the same run:

* newsclean (``newsclean run``: the whole pipeline, cleaning included);
* datatrove's MinHash dedup at its defaults (5-grams, 14 x 8: threshold
  ~0.72), with its default spaCy tokenizer and with a regex tokenizer;
* datatrove at a threshold matched to ours (3-grams, bands x rows derived
  for Jaccard 0.5 from 112 hashes, the nearest to our verification);
* datasketch ``MinHashLSH`` at threshold 0.5 (128 permutations, word
  3-shingles, clusters = connected components of its query results).

Scores: pairwise precision / recall / F1, ARI (scikit-learn's
``adjusted_rand_score``), recall of the version chains' pairs, false merges
between the distinct stories of the hard-negative groups. Plus the AEB real
copies (1,050 extractions, ``benchmarks/dedup.py`` section 1) and the five
seeds (must stay five articles).

    .venv/bin/python benchmarks/dedup_dev.py                 # report half, everything
    .venv/bin/python benchmarks/dedup_dev.py --half tune     # tuning half only, newsclean only
    .venv/bin/python benchmarks/dedup_dev.py --write DIR     # write the generated input and labels

Writes ``benchmarks/results/dedup_dev.json`` (``dedup_dev_tune.json`` for
the tuning half).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import dedup as base  # noqa: E402  (benchmarks/dedup.py: the tools' runners)
from cleaners.dedup import Signer, fingerprint, lsh_params  # noqa: E402

SEED = 20251
RESULTS = ROOT / "benchmarks" / "results"
SITES = 40  # real sites publishing the copies

# --------------------------------------------------------------------------
# Site leftovers (data from the real pages)


def _norm(s: str) -> str:
    return " ".join(re.findall(r"\w+", s.lower()))


def site_leftovers() -> dict[str, tuple[list[str], list[str]]]:
    """host -> (lines just before the article, lines just after it) of each
    real page whose gold body can be located in its visible text."""
    gt = json.loads((base.AEB / "ground-truth.json").read_text(encoding="utf-8"))
    page_text = json.loads((base.AEB / "output" / "html-text.json").read_text(encoding="utf-8"))["output"]
    out: dict[str, tuple[list[str], list[str]]] = {}
    for item in sorted(gt):
        body = gt[item]["articleBody"]
        paras = [p.strip() for p in body.split("\n\n") if p.strip()]
        lines = [ln.strip() for ln in ((page_text.get(item) or {}).get("articleBody") or "").split("\n")]
        if not paras or not lines:
            continue
        first, last = _norm(paras[0])[:40], _norm(paras[-1])[-40:]
        starts = [i for i, ln in enumerate(lines) if first and first in _norm(ln)]
        ends = [i for i, ln in enumerate(lines) if last and last in _norm(ln)]
        if not starts or not ends or ends[-1] < starts[0]:
            continue
        gold = _norm(body)
        def furniture(chunk):
            return [ln for ln in chunk if ln and 1 <= len(ln.split()) <= 40 and _norm(ln) not in gold]
        head = furniture(lines[max(0, starts[0] - 10) : starts[0]])
        foot = furniture(lines[ends[-1] + 1 : ends[-1] + 11])
        host = urlparse(gt[item]["url"]).netloc.removeprefix("www.")
        if len(head) + len(foot) >= 4 and host not in out:
            out[host] = (head, foot)
    return out


# --------------------------------------------------------------------------
# Text edits

_SENT = re.compile(r"(?<=[.!?\"])\s+(?=[A-Z\"])")


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.split("\n\n") if p.strip()]


def sentences(text: str) -> list[str]:
    return [s for s in _SENT.split(text) if len(s.split()) >= 6]


def rewrite_lede(paras: list[str], rng: np.random.Generator, vocab: list[str]) -> list[str]:
    """The first paragraph said another way: its sentences reordered, a
    clause moved to the front, a fifth of its words changed."""
    sents = sentences(paras[0])
    if len(sents) > 1:
        sents = sents[1:] + sents[:1]
    words = " ".join(sents).split(" ")
    if "," in paras[0] and len(words) > 8:
        cut = next((i for i, w in enumerate(words) if w.endswith(",")), None)
        if cut is not None and 2 < cut < len(words) - 3:
            tail = words[cut + 1 :]
            words = [tail[0].capitalize()] + tail[1:] + ["-"] + [w.rstrip(",") for w in words[: cut + 1]]
    for i in rng.choice(len(words), size=max(1, len(words) // 5), replace=False):
        words[i] = vocab[int(rng.integers(len(vocab)))]
    return [" ".join(words)] + paras[1:]


def quote_paragraph(donor: list[str], rng: np.random.Generator) -> str:
    quoted = [s for p in donor for s in sentences(p) if '"' in s]
    if quoted:
        return quoted[int(rng.integers(len(quoted)))]
    s = [s for p in donor for s in sentences(p)]
    return f'"{s[int(rng.integers(len(s)))].rstrip(".")}," a spokesperson said.'


def truncate(paras: list[str], share: float) -> list[str]:
    """The first ``share`` of the words, cut at a sentence end."""
    total = sum(len(p.split()) for p in paras)
    out, n = [], 0
    for p in paras:
        if n + len(p.split()) <= share * total:
            out.append(p)
            n += len(p.split())
            continue
        words = p.split(" ")[: max(1, int(share * total) - n)]
        cut = " ".join(words)
        if ". " in cut:
            out.append(cut[: cut.rfind(". ") + 1])
        break
    return out or paras[:1]


_NUM = re.compile(r"\d+")
_NAME = re.compile(r"(?<=[a-z,;:] )[A-Z][a-z]+(?: [A-Z][a-z]+)*")


def fill_template(text: str, rng: np.random.Generator, names: list[str]) -> str:
    """The same sentences about other entities: every number and every
    proper name (a capitalised word not opening a sentence) replaced, the
    same name by the same name throughout."""
    mapping: dict[str, str] = {}

    def name(m):
        return mapping.setdefault(m.group(0), names[int(rng.integers(len(names)))])

    def number(m):
        s = m.group(0)
        return mapping.setdefault("#" + s, str(int(rng.integers(10 ** (len(s) - 1) if len(s) > 1 else 0, 10 ** len(s)))))

    return _NUM.sub(number, _NAME.sub(name, text))


# Weather: our own template sentences (every slot filled per report).
WEATHER = [
    "{city} will see {sky} skies on {day}, with temperatures reaching a high of {hi}C in the afternoon and falling to {lo}C overnight.",
    "Forecasters said winds from the {dir} would average {wind} mph, gusting to {gust} mph along the coast and on higher ground.",
    "There is a {rain} per cent chance of rain during the morning, easing by the evening as a band of {front} pressure moves {move}.",
    "Motorists were advised to allow extra time on the {road} and to take care where surface water collects after the showers.",
    "The outlook for {day2} is {sky2}, with highs of {hi2}C and a light breeze, before more unsettled weather arrives at the weekend.",
    "Pollen levels will be {pollen} and the UV index {uv}, the {office} said in its latest update for the region.",
]
_W = {
    "city": ["Leeds", "Bristol", "Norwich", "Cardiff", "Belfast", "Aberdeen", "Exeter", "Carlisle", "Hull", "Swansea", "York", "Derby"],
    "sky": ["clear", "cloudy", "grey", "bright", "overcast", "hazy"], "sky2": ["dry and bright", "mostly cloudy", "showery", "fine"],
    "day": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"], "day2": ["Saturday", "Sunday", "tomorrow"],
    "dir": ["north", "south", "east", "west", "south-west", "north-east"], "front": ["low", "high"],
    "move": ["east", "north", "away to the south", "in from the Atlantic"],
    "road": ["A1", "M5", "M62", "A38", "M4", "A9", "M6"], "pollen": ["high", "moderate", "low"],
    "office": ["Met Office", "regional weather centre", "national forecaster"],
}


def weather_report(rng: np.random.Generator) -> str:
    slots = {k: v[int(rng.integers(len(v)))] for k, v in _W.items()}
    slots.update(hi=int(rng.integers(8, 30)), lo=int(rng.integers(0, 12)), wind=int(rng.integers(5, 30)),
                 gust=int(rng.integers(30, 70)), rain=int(rng.integers(1, 10)) * 10, hi2=int(rng.integers(8, 30)),
                 uv=int(rng.integers(1, 9)))
    lines = [s.format(**slots) for s in WEATHER]
    return "\n\n".join([" ".join(lines[:2]), " ".join(lines[2:4]), " ".join(lines[4:])])


# --------------------------------------------------------------------------
# The benchmark


class Builder:
    def __init__(self, seed: int = SEED, exclude: frozenset[str] = frozenset(), min_paragraphs: int = 5):
        self.rng = np.random.default_rng(seed)
        rows = base._bbc()
        versions = base._later_versions(rows)  # the corpus's own repeats are left out
        pool = [r for r in rows if r["id"] not in versions and r["id"] not in exclude
                and len(paragraphs(r["text"])) >= min_paragraphs]
        self.by_cat: dict[str, list[dict]] = defaultdict(list)
        for k in self.rng.permutation(len(pool)).tolist():
            self.by_cat[pool[k]["category"]].append(pool[k])
        self.vocab = sorted({w for r in rows[:300] for w in r["text"].split() if w.isalpha() and len(w) > 3})
        self.names = {cat: sorted({m for r in rs for m in _NAME.findall(r["text"])}) for cat, rs in self.by_cat.items()}
        leftovers = site_leftovers()
        hosts = sorted(leftovers)
        pick = sorted(self.rng.choice(len(hosts), size=min(SITES, len(hosts)), replace=False).tolist())
        self.sites = {hosts[k]: leftovers[hosts[k]] for k in pick}
        self.docs: list[dict] = []
        self.taken: list[str] = []  # BBC ids used, in order

    def take(self, cat: str) -> dict:
        art = self.by_cat[cat].pop()
        self.taken.append(art["id"])
        return art

    def topic(self) -> str:
        """The topic with the most articles left (the topics are uneven)."""
        return max(sorted(self.by_cat), key=lambda c: len(self.by_cat[c]))

    def publish(self, group: str, story: str, kind: str, title: str, paras: list[str], hour: int, exclude=()) -> str:
        """One copy on a random site, with some of that site's leftovers."""
        names = [s for s in sorted(self.sites) if s not in exclude]
        site = names[int(self.rng.integers(len(names)))]
        head, foot = self.sites[site]
        h = [ln for ln in head if self.rng.random() < 0.6]
        f = [ln for ln in foot if self.rng.random() < 0.6]
        text = "\n\n".join((["\n".join(h)] if h else []) + paras + (["\n".join(f)] if f else []))
        doc_id = f"{group}/{story}/{len([d for d in self.docs if d['story'] == story])}-{kind}"
        self.docs.append({"id": doc_id, "title": title, "text": text, "source": site,
                          "published": f"2025-03-{1 + hour // 24:02d}T{hour % 24:02d}:00:00Z",
                          "group": group, "story": story, "kind": kind})
        return site

    def versions(self, group: str, story: str, art: dict, donor: dict, updates: int, hour: int) -> None:
        """A story and its updates, a truncated reprint, maybe an exact reprint."""
        rng = self.rng
        paras = paragraphs(art["text"])
        extra = paragraphs(donor["text"])
        title = art["title"]
        chain = [list(paras)]
        for u in range(updates):
            cur = list(chain[-1])
            for edit in rng.choice(["lede", "top", "bottom", "quote"], size=int(rng.integers(1, 3)), replace=False):
                if edit == "lede":
                    cur = rewrite_lede(cur, rng, self.vocab)
                elif edit == "top" and extra:
                    cur = [extra.pop(0)] + cur
                elif edit == "bottom" and extra:
                    cur = cur + [extra.pop() for _ in range(min(len(extra), int(rng.integers(1, 3))))]
                elif edit == "quote":
                    cur.insert(int(rng.integers(1, len(cur))), quote_paragraph(paragraphs(donor["text"]), rng))
            chain.append(cur)
        sites = []
        for v, ps in enumerate(chain):
            sites.append(self.publish(group, story, "original" if v == 0 else f"update{v}",
                                      title if v == 0 else f"{title} - updated", ps, hour + 2 * v))
        v = int(rng.integers(len(chain)))
        self.publish(group, story, f"truncated{v}", title, truncate(chain[v], float(rng.uniform(0.4, 0.7))), hour + 2 * v + 1)
        if rng.random() < 0.3:
            v = int(rng.integers(len(chain)))
            self.publish(group, story, f"reprint{v}", title, chain[v], hour + 2 * v + 1, exclude=sites[v:v + 1])

    def build(self, chains: int = 140, quotes: int = 40, followups: int = 40, templates: int = 24, weather: int = 12) -> list[dict]:
        rng = self.rng
        hour = 0
        for g in range(templates):
            cat = ("sport", "business")[g % 2]
            art = self.take(cat)
            grp = f"template{g:03d}"
            body = "\n\n".join(paragraphs(art["text"])[:8])
            for s in range(int(rng.integers(3, 6))):
                filled = paragraphs(fill_template(body, rng, self.names[cat]))
                title = fill_template(art["title"], rng, self.names[cat])
                story = f"t{g:03d}s{s}"
                self.publish(grp, story, "original", title, filled, hour + s)
                self.publish(grp, story, "reprint", title, filled, hour + s)
                if rng.random() < 0.5:
                    self.publish(grp, story, "truncated", title, truncate(filled, 0.6), hour + s)
            hour = (hour + 5) % 600
        for g in range(chains):
            cat = self.topic()
            self.versions(f"chain{g:03d}", f"c{g:03d}", self.take(cat), self.take(cat), int(rng.integers(2, 7)), hour)
            hour = (hour + 5) % 600
        for g in range(quotes):
            cat = self.topic()
            a, b, donor = self.take(cat), self.take(cat), self.take(cat)
            grp = f"quotes{g:03d}"
            self.versions(grp, f"q{g:03d}a", a, donor, int(rng.integers(1, 3)), hour)
            pb = paragraphs(b["text"])
            qa = [s for p in paragraphs(a["text"]) for s in sentences(p) if '"' in s] or [quote_paragraph(paragraphs(a["text"]), rng)]
            for k, q in enumerate(qa[:3]):
                pb.insert(min(len(pb), 2 + 2 * k), q)
            self.publish(grp, f"q{g:03d}b", "original", b["title"], pb, hour + 3)
            self.publish(grp, f"q{g:03d}b", "reprint", b["title"], pb, hour + 4)
            hour = (hour + 5) % 600
        for g in range(followups):
            cat = self.topic()
            a, new, donor = self.take(cat), self.take(cat), self.take(cat)
            grp = f"followup{g:03d}"
            self.versions(grp, f"f{g:03d}a", a, donor, int(rng.integers(1, 3)), hour)
            pa = paragraphs(a["text"])
            pf = paragraphs(new["text"])
            pf = pf[: max(3, len(pf) * 2 // 3)]
            # Background: A's closing paragraphs, at most 40% of the follow-up.
            own = sum(len(p.split()) for p in pf)
            background = []
            for p in reversed(pa[len(pa) // 2 :]):
                if sum(len(x.split()) for x in background) + len(p.split()) > own * 0.4 / 0.6:
                    break
                background.insert(0, p)
            pf = pf + (background or [truncate([pa[-1]], 0.5)[0]])
            self.publish(grp, f"f{g:03d}b", "original", new["title"], pf, hour + 30)
            self.publish(grp, f"f{g:03d}b", "truncated", new["title"], truncate(pf, 0.6), hour + 31)
            hour = (hour + 5) % 600
        for g in range(weather):
            grp = f"weather{g:03d}"
            for s in range(int(rng.integers(3, 6))):
                report = paragraphs(weather_report(rng))
                story = f"w{g:03d}s{s}"
                title = f"Weather: {report[0].split(' will')[0]} forecast"
                self.publish(grp, story, "original", title, report, hour + s)
                self.publish(grp, story, "reprint", title, report, hour + s)
            hour = (hour + 5) % 600
        return self.docs


def half_of(group: str) -> str:
    return "tune" if int(hashlib.sha256(f"{SEED}:{group}".encode()).hexdigest(), 16) % 2 == 0 else "report"


def build(half: str) -> list[dict]:
    return [d for d in Builder().build() if half_of(d["group"]) == half]


# --------------------------------------------------------------------------
# Scores


HARD = ("quotes", "followup", "template", "weather")


def scores(docs: list[dict], label: dict[str, str]) -> dict:
    from sklearn.metrics import adjusted_rand_score

    pred = [label[d["id"]] for d in docs]
    truth = [d["story"] for d in docs]
    s = base.pair_scores(pred, truth)
    s["ari"] = round(float(adjusted_rand_score(truth, pred)), 4)
    # Recall of the version chains' pairs.
    chain_docs = [d for d in docs if d["group"].startswith("chain")]
    s["chain_recall"] = base.pair_scores([label[d["id"]] for d in chain_docs], [d["story"] for d in chain_docs])["recall"]
    # Distinct stories merged (pairs of stories sharing a cluster), in the
    # hard-negative groups and anywhere.
    stories_in = defaultdict(set)
    for d in docs:
        stories_in[label[d["id"]]].add(d["story"])
    merged = sorted({p for st in stories_in.values() if len(st) > 1 for p in base._pairs(st)})
    group_of = {d["story"]: d["group"] for d in docs}
    hard = [p for p in merged if group_of[p[0]].startswith(HARD) or group_of[p[1]].startswith(HARD)]
    s["false_merged_story_pairs"] = len(merged)
    s["hard_negative_merges"] = len(hard)
    s["hard_negative_merges_by_kind"] = dict(Counter(re.sub(r"\d+$", "", group_of[p[0]]) for p in hard))
    s["false_merged"] = merged[:40]
    # Missed pairs by the kinds of the two documents (for the JSON).
    missed = Counter()
    by_story = defaultdict(list)
    for d in docs:
        by_story[d["story"]].append(d)
    for st in by_story.values():
        for i in range(len(st)):
            for j in range(i + 1, len(st)):
                if label[st[i]["id"]] != label[st[j]["id"]]:
                    missed[re.sub(r"\d+$", "", st[i]["group"]) + ":" + "~".join(sorted(re.sub(r"\d+$", "", x["kind"]) for x in (st[i], st[j])))] += 1
    s["missed_pairs_by_kind"] = dict(missed.most_common())
    return s


def run_datasketch(docs: list[dict], threshold: float = 0.5) -> dict[str, str]:
    """datasketch ``MinHashLSH`` over the raw texts' word 3-shingles;
    clusters = connected components of every document's query results."""
    from datasketch import MinHashLSH

    signer = Signer(128, 1)
    lsh = MinHashLSH(threshold=threshold, num_perm=128)
    mh = {}
    for d in docs:
        mh[d["id"]] = signer.to_minhash(signer.sign(fingerprint(d["text"], 3).shingles))
        lsh.insert(d["id"], mh[d["id"]])
    parent = {d["id"]: d["id"] for d in docs}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for d in docs:
        for other in lsh.query(mh[d["id"]]):
            a, b = find(d["id"]), find(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    return {d["id"]: find(d["id"]) for d in docs}


def run_datatrove(docs: list[dict], work: Path, regex_words: bool = False, matched: bool = False) -> tuple[dict[str, str], dict]:
    """datatrove's three MinHash stages over the raw texts: at its default
    config, or ``matched`` (3-grams, bands x rows for Jaccard 0.5)."""
    base._quiet_datatrove()
    from datatrove.data import Document
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupBuckets, MinhashDedupCluster, MinhashDedupSignature

    if matched:
        bands, rows = lsh_params(0.5, 112)
        cfg = MinhashConfig(n_grams=3, num_buckets=bands, hashes_per_bucket=rows)
    else:
        cfg = MinhashConfig()
    sig = work / "sigs"
    step = MinhashDedupSignature(output_folder=str(sig), config=cfg, **({"language": base.RegexWords()} if regex_words else {}))
    t0 = time.process_time()
    step.run((Document(text=d["text"], id=str(i)) for i, d in enumerate(docs)), rank=0, world_size=1)
    sign_cpu = time.process_time() - t0
    for b in range(cfg.num_buckets):
        MinhashDedupBuckets(input_folder=str(sig), output_folder=str(work / "buckets"), config=cfg).run(None, rank=b, world_size=cfg.num_buckets)
    MinhashDedupCluster(input_folder=str(work / "buckets"), output_folder=str(work / "clusters"), config=cfg,
                        save_cluster_id=True).run(None, 0, 1)
    import struct

    cid = {}
    for f in sorted((work / "clusters").glob("*.clusters")):
        for doc, c in struct.iter_unpack("<2I", f.read_bytes()):
            cid[doc] = c
    label = {d["id"]: (f"dt-{cid[i]}" if i in cid else d["id"]) for i, d in enumerate(docs)}
    return label, {"config": {"n_grams": cfg.n_grams, "buckets": cfg.num_buckets, "hashes_per_bucket": cfg.hashes_per_bucket},
                   "sign_articles_per_cpu_s": round(len(docs) / sign_cpu)}


def seeds_check(work: Path) -> dict:
    seeds = sorted((ROOT.parent / "shared" / "seeds").glob("*.txt"))
    records = [{"id": p.name, "text": p.read_text(encoding="utf-8"), "source": "seeds"} for p in seeds]
    label, _ = base.run_newsclean(records, work)
    return {"seeds": len(seeds), "distinct_clusters": len(set(label.values()))}


def table(res: dict) -> list[str]:
    rows = [("tool (" + res["half"] + f" half: {res['docs']} docs, {res['stories']} stories)", "P", "R", "F1", "ARI",
             "chain R", "hard-neg merges", "false story pairs")]
    for name, s in res["tools"].items():
        rows.append((name, f"{s['precision']:.3f}", f"{s['recall']:.3f}", f"{s['f1']:.3f}", f"{s['ari']:.3f}",
                     f"{s['chain_recall']:.3f}", str(s["hard_negative_merges"]), str(s["false_merged_story_pairs"])))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    rates = res.get("datatrove_sign_rates")
    if rates:
        lines.append(f"datatrove signature stage, articles per CPU second on this input: spaCy tokenizer (default) "
                     f"{rates['spacy']:,}, regex tokenizer {rates['regex']:,}")
    q = res.get("real_copies")
    if q:
        lines.append(f"AEB real copies ({q['articles']} extractions of {q['pages']} pages): F1 newsclean {q['newsclean']['f1']:.3f} "
                     f"(P {q['newsclean']['precision']:.3f}, R {q['newsclean']['recall']:.3f}, ARI {q['newsclean']['ari']:.3f}); "
                     f"datatrove {q['datatrove']['f1']:.3f}")
    sd = res.get("seeds")
    if sd:
        lines.append(f"seeds: {sd['distinct_clusters']} distinct of {sd['seeds']}")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--half", choices=("tune", "report"), default="report")
    ap.add_argument("--config", help="newsclean config (default configs/default.toml)")
    ap.add_argument("--only-newsclean", action="store_true", help="skip the other tools, the real copies and the seeds")
    ap.add_argument("--write", type=Path, help="write the generated input (jsonl with labels) here and stop")
    args = ap.parse_args()
    docs = build(args.half)
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
                 "sites": len({d["source"] for d in docs}), "tools": {}}
    records = [{k: d[k] for k in ("id", "title", "text", "source", "published")} for d in docs]
    with tempfile.TemporaryDirectory(prefix="dedup-dev-", dir=RESULTS) as tmp:
        work = Path(tmp)
        (work / "nc").mkdir()
        nc, info = base.run_newsclean(records, work / "nc", args.config)
        res["tools"]["newsclean"] = {**scores(docs, nc), "seconds": info["seconds"], "dropped": info["dropped"]}
        if not args.only_newsclean:
            rates = {}
            for name, kw in (("datatrove (defaults, spaCy words)", {}), ("datatrove (defaults, regex words)", {"regex_words": True}),
                             ("datatrove (3-grams, threshold 0.5)", {"matched": True})):
                w = work / f"dt{len(rates)}"
                w.mkdir()
                label, dinfo = run_datatrove(docs, w, **kw)
                res["tools"][name] = {**scores(docs, label), **dinfo}
                rates[name] = dinfo["sign_articles_per_cpu_s"]
            res["datatrove_sign_rates"] = {"spacy": rates["datatrove (defaults, spaCy words)"],
                                           "regex": rates["datatrove (defaults, regex words)"]}
            res["tools"]["datasketch MinHashLSH (0.5)"] = scores(docs, run_datasketch(docs, 0.5))
            (work / "aeb").mkdir()
            res["real_copies"] = base.real_copies(work / "aeb")
            (work / "seeds").mkdir()
            res["seeds"] = seeds_check(work / "seeds")
    res["seconds"] = round(time.perf_counter() - t_start, 1)
    lines = table(res)
    res["table"] = lines
    print("\n".join(lines))
    out = RESULTS / ("dedup_dev.json" if args.half == "report" else "dedup_dev_tune.json")
    out.write_text(json.dumps(res, indent=1, default=str))
    print(f"wrote {out} ({res['seconds']} s)")


if __name__ == "__main__":
    main()
