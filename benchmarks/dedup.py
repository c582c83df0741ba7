"""Near-duplicate benchmark: newsclean beside datatrove's MinHash dedup.

One command, four measurements, each taken side by side in the same run with
datatrove's MinHash pipeline stages (``MinhashDedupSignature`` ->
``MinhashDedupBuckets`` -> ``MinhashDedupCluster``, default
``MinhashConfig``: 5-gram shingles, 14 buckets x 8 hashes) on the same input:

1. **Real copies**: ``../shared/data/article-extraction-benchmark``: 181 news
   pages, each extracted by six real extractors. The extractions of one page
   are copies of one article with different leftovers; different pages are
   different articles. The full newsclean pipeline (``newsclean run``) runs
   over all of them (each record's ``source`` is its extractor, the "site"
   whose leftovers it carries). Pairwise precision / recall / F1 and the
   adjusted Rand index of the clusters against that truth; every input counts
   (an article dropped by a gate is a cluster of its own).
2. **Exact copies**: the BBC corpus holds 133 exact-duplicate pairs (same
   ``text``); how many land in one cluster, and which other articles merge.
3. **Detection curve**: BBC stories (one per exact group) and copies made
   here with one controlled edit each (site boilerplate, a changed headline,
   trimmed or added closing paragraphs, a few changed words, mojibake, only
   the first half, or several edits at once). Recall per edit kind and per
   band of true Jaccard similarity (word 3-shingles, computed exactly), and
   false merges between different stories (all on a few news topics).
4. **Speed and memory** at each size (default 100,000 and 1,000,000
   generated articles of ~3 KB; see :func:`synth_block`), at the
   ``cleaners.dedup`` level: shingling + signatures in articles per CPU
   second (one core), and LSH + clustering wall time and peak RSS (each in a
   fresh process). Beside: datatrove's signature stage (its default spaCy
   word tokenizer) and a plain per-article ``datasketch.MinHash.update``
   loop, both timed on a sample; datatrove's bucket + cluster stages on all
   articles (its signatures made by its own signature stage, with a regex
   word tokenizer so that 1M articles sign in minutes rather than hours: the
   bucket and cluster stages only read the signature files).

    .venv/bin/python benchmarks/dedup.py                  # everything
    .venv/bin/python benchmarks/dedup.py --sizes 20000    # quick look
    .venv/bin/python benchmarks/dedup.py --only copies,bbc,curve   # sections 1-3

Prints a table (datatrove beside newsclean on every line) and writes
``benchmarks/results/dedup.json``.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import multiprocessing
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from math import comb
from pathlib import Path

import numpy as np

os.environ.setdefault("TQDM_DISABLE", "1")  # datatrove's progress bars

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cleaners.dedup import Signer, cluster, fingerprint, fingerprints, tokens  # noqa: E402
from pipelines.config import load_config  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
AEB = SHARED / "article-extraction-benchmark"
BBC = SHARED / "bbc-news-2225" / "bbc_news.jsonl"
RESULTS = ROOT / "benchmarks" / "results"
EXTRACTORS = ("trafilatura", "newspaper", "readability", "goose3", "boilerpipe", "justext")
NEWSCLEAN = ROOT / ".venv" / "bin" / "newsclean"


# --------------------------------------------------------------------------
# Scores


def pair_scores(pred: list, truth: list) -> dict:
    """Pairwise precision / recall / F1 and adjusted Rand index of a
    clustering (one label per item) against the truth."""
    n = len(pred)
    both = sum(comb(v, 2) for v in Counter(zip(pred, truth)).values())
    pp = sum(comb(v, 2) for v in Counter(pred).values())
    tt = sum(comb(v, 2) for v in Counter(truth).values())
    p = both / pp if pp else 1.0
    r = both / tt if tt else 1.0
    expected = pp * tt / comb(n, 2) if n > 1 else 0.0
    ari = (both - expected) / ((pp + tt) / 2 - expected) if (pp + tt) / 2 != expected else 1.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r) if p + r else 0.0, 4),
            "ari": round(ari, 4), "pred_pairs": pp, "true_pairs": tt, "found_pairs": both}


# --------------------------------------------------------------------------
# The two tools, run on the same records


def run_newsclean(records: list[dict], work: Path, config: str | None = None) -> tuple[dict[str, str], dict]:
    """The whole pipeline (``newsclean run``) over ``records``; returns
    id -> cluster label (the canonical id) for every input id, and the run's
    duplicate entries (id -> similarity / containment to its canonical)."""
    inp = work / "input.jsonl"
    with open(inp, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    out = work / "newsclean"
    cmd = [str(NEWSCLEAN), "run", "--input", str(inp), "--output", str(out)]
    if config:
        cmd += ["--config", config]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"newsclean run failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    seconds = time.perf_counter() - t0
    label = {r["id"]: r["id"] for r in records}
    dups = {}
    with open(out / "articles.jsonl", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            for d in row["duplicates"]:
                label[d["id"]] = row["id"]
                dups[d["id"]] = d
    dropped = Counter()
    gated = []  # dropped before dedup (too short, language, ...)
    with open(out / "dropped.jsonl", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            dropped[row["reason"]] += 1
            if row["reason"] != "duplicate":
                gated.append(row["id"])
    return label, {"seconds": round(seconds, 1), "dropped": dict(dropped), "duplicates": dups, "gated": gated}


def chain_identity() -> dict:
    """Which cleaning chain a figure was measured through: the commit of
    this tree (and whether it had changes) and hashes of the shipped
    configuration, rules and block model, so a figure taken before the
    cleaner changed is told from one taken after."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:16]
             for p in sorted((ROOT / "configs").glob("*")) if p.is_file()}
    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
            "configs": files}


class RegexWords:
    """A word tokenizer for datatrove's signature stage (``\\w+``), used only
    to make datatrove's signatures for the 1M-article LSH timing."""

    def __new__(cls):
        from datatrove.utils.word_tokenizers import WordTokenizer
        import re

        pattern = re.compile(r"\w+")

        class _Words(WordTokenizer):
            def word_tokenize(self, text):
                return pattern.findall(text)

            def sent_tokenize(self, text):
                return [text]

            def span_tokenize(self, text):
                return [m.span() for m in pattern.finditer(text)]

        return _Words("en")


def _quiet_datatrove() -> None:
    from datatrove.utils.logging import logger

    logger.remove()


def datatrove_signatures(texts, folder: Path, rank: int = 0, fast_words: bool = False) -> float:
    """datatrove's stage 1 over ``texts`` (an iterable); CPU seconds."""
    _quiet_datatrove()
    from datatrove.data import Document
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature

    step = MinhashDedupSignature(output_folder=str(folder), config=MinhashConfig(),
                                 **({"language": RegexWords()} if fast_words else {}))
    t0 = time.process_time()
    step.run((Document(text=t, id=str(i)) for i, t in enumerate(texts)), rank=rank, world_size=1)
    return time.process_time() - t0


def datatrove_cluster(sig_folder: Path, work: Path) -> dict[tuple[int, int], int]:
    """datatrove's stages 2 and 3 (every bucket, then clustering); returns
    (rank, doc index) -> cluster id for every document in a cluster."""
    _quiet_datatrove()
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupBuckets, MinhashDedupCluster

    cfg = MinhashConfig()
    for b in range(cfg.num_buckets):
        MinhashDedupBuckets(input_folder=str(sig_folder), output_folder=str(work / "buckets"), config=cfg).run(
            None, rank=b, world_size=cfg.num_buckets)
    MinhashDedupCluster(input_folder=str(work / "buckets"), output_folder=str(work / "clusters"), config=cfg,
                        save_cluster_id=True).run(None, 0, 1)
    out = {}
    for f in sorted((work / "clusters").glob("*.clusters")):
        rank = int(f.name.split(".")[0])
        for doc, cid in struct.iter_unpack("<2I", f.read_bytes()):
            out[(rank, doc)] = cid
    return out


def run_datatrove(records: list[dict], work: Path) -> tuple[dict[str, str], dict]:
    """datatrove's MinHash dedup (default config, its own stages) over the
    records' text; returns id -> cluster label."""
    sig = work / "datatrove-sigs"
    t0 = time.perf_counter()
    datatrove_signatures([r["text"] for r in records], sig)
    clusters = datatrove_cluster(sig, work / "datatrove")
    label = {}
    for i, r in enumerate(records):
        cid = clusters.get((0, i))
        label[r["id"]] = r["id"] if cid is None else f"dt-cluster-{cid}"
    return label, {"seconds": round(time.perf_counter() - t0, 1)}


# --------------------------------------------------------------------------
# 1. Real copies


def real_copies(work: Path) -> dict:
    records = []
    for name in EXTRACTORS:
        raw = json.loads((AEB / "output" / f"{name}.json").read_text(encoding="utf-8"))
        out = raw["output"] if "version" in raw else raw
        for item, d in sorted(out.items()):
            text = (d or {}).get("articleBody") or ""
            if text.strip():
                records.append({"id": f"{item}:{name}", "text": text, "source": name})
    truth = [r["id"].split(":")[0] for r in records]
    res = {"articles": len(records), "pages": len(set(truth))}
    (work / "nc").mkdir()
    (work / "dt").mkdir()
    nc, nc_info = run_newsclean(records, work / "nc")
    dt, dt_info = run_datatrove(records, work / "dt")
    res["newsclean"] = {**pair_scores([nc[r["id"]] for r in records], truth), "seconds": nc_info["seconds"],
                        "dropped": nc_info["dropped"]}
    res["datatrove"] = {**pair_scores([dt[r["id"]] for r in records], truth), "seconds": dt_info["seconds"]}
    return res


# --------------------------------------------------------------------------
# 2. BBC exact copies


def _bbc() -> list[dict]:
    with open(BBC, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def bbc_exact(work: Path) -> dict:
    rows = _bbc()
    records = [{"id": r["id"], "title": r["title"], "text": r["text"], "source": "bbc"} for r in rows]
    by_text = defaultdict(list)
    for r in rows:
        by_text[hashlib.md5(r["text"].encode("utf-8")).hexdigest()].append(r["id"])
    exact_pairs = {tuple(sorted(p)) for g in by_text.values() for p in _pairs(g)}
    (work / "nc").mkdir()
    (work / "dt").mkdir()
    nc, nc_info = run_newsclean(records, work / "nc")
    dt, dt_info = run_datatrove(records, work / "dt")
    res = {"exact_pairs": len(exact_pairs)}
    for name, label in (("newsclean", nc), ("datatrove", dt)):
        groups = defaultdict(list)
        for doc_id, lab in label.items():
            groups[lab].append(doc_id)
        merged = {tuple(sorted(p)) for g in groups.values() for p in _pairs(g)}
        other = sorted(merged - exact_pairs)
        res[name] = {"found": len(exact_pairs & merged), "other_merged_pairs": len(other), "other": other[:50]}
    # What newsclean merged beyond the exact pairs, with exact similarity, so
    # a reader can judge whether they are versions of one story.
    texts = {r["id"]: r["text"] for r in rows}
    titles = {r["id"]: r["title"] for r in rows}
    res["newsclean"]["other_detail"] = [
        {"pair": list(p), **_exact_similarity(texts[p[0]], texts[p[1]]), "titles": [titles[x] for x in p]}
        for p in res["newsclean"]["other"]
    ]
    for name in ("newsclean", "datatrove"):
        res[name]["other_same_headline"] = sum(_norm_title(titles[a]) == _norm_title(titles[b]) for a, b in res[name]["other"])
    res["newsclean"]["seconds"] = nc_info["seconds"]
    res["datatrove"]["seconds"] = dt_info["seconds"]
    return res


def _norm_title(title: str) -> str:
    return " ".join(tokens(title))


def _pairs(group):
    g = sorted(group)
    return [(g[i], g[j]) for i in range(len(g)) for j in range(i + 1, len(g))]


def _shingles(text: str) -> set[int]:
    return set(fingerprint(text, 3).shingles.tolist())


def _exact_similarity(a: str, b: str) -> dict:
    sa, sb = _shingles(a), _shingles(b)
    inter = len(sa & sb)
    return {"jaccard": round(inter / max(1, len(sa | sb)), 3), "containment": round(inter / max(1, min(len(sa), len(sb))), 3)}


# --------------------------------------------------------------------------
# 3. Detection curve

# Site furniture written for this benchmark (not taken from any site).
SITES = {
    "riverside-herald": (["RIVERSIDE HERALD | News", "Menu  Search  Subscribe"],
                         ["Share this story: Facebook  Twitter  Email", "© 2025 Riverside Herald Media. All rights reserved.",
                          "Sign up for our morning briefing"]),
    "capital-wire": (["Capital Wire - Breaking news"],
                     ["Read more: Top stories from Capital Wire", "Copyright 2025 Capital Wire Ltd.",
                      "Comments are closed on this article."]),
    "northgate-times": (["Advertisement"],
                        ["Related: More business news", "Related: Markets today",
                         "© Northgate Times 2025 | Privacy | Terms"]),
    "daily-summit": (["The Daily Summit", "Home > News > World"],
                     ["Like this story? Share it with a friend.", "Follow us on social media @dailysummit",
                      "Daily Summit Publishing © 2025"]),
}
EDIT_KINDS = ("boilerplate", "headline", "trim_end", "add_end", "words", "mojibake", "first_half", "mixed")


def _paragraphs(text: str) -> list[str]:
    return [p for p in text.split("\n\n") if p.strip()]


def _with_site(body: str, site: str) -> str:
    head, foot = SITES[site]
    return "\n".join(head) + "\n\n" + body + "\n\n" + "\n".join(foot)


def _change_words(text: str, rng: np.random.Generator, vocab: list[str], share: float) -> str:
    words = text.split(" ")
    k = max(3, int(len(words) * share))
    for i in rng.choice(len(words), size=min(k, len(words)), replace=False):
        words[i] = vocab[int(rng.integers(len(vocab)))]
    return " ".join(words)


def _mojibake(text: str) -> str:
    curly = text.replace("'", "\u2019").replace(' "', " \u201c").replace('" ', "\u201d ")
    return curly.encode("utf-8").decode("cp1252", errors="replace")


def _trim_end(paras: list[str], share: float) -> list[str]:
    """Drop closing paragraphs, at most ``share`` of the words; if the last
    paragraph alone is longer than that, cut it at a sentence end instead."""
    total = sum(len(p.split()) for p in paras)
    kept = list(paras)
    while len(kept) > 1 and total - sum(len(p.split()) for p in kept[:-1]) <= share * total:
        kept.pop()
    if len(kept) == len(paras):
        words = kept[-1].split(" ")
        cut = " ".join(words[: max(1, len(words) - int(share * total))])
        kept[-1] = cut[: cut.rfind(". ") + 1] if ". " in cut else cut
    return kept


def make_copy(kind: str, title: str, body: str, other_body: str, rng: np.random.Generator, vocab: list[str]) -> str:
    """One syndicated copy of a story (headline as the first line, as
    scrapers store it) with one controlled edit."""
    paras = _paragraphs(body)
    site = sorted(SITES)[int(rng.integers(len(SITES)))]
    if kind == "boilerplate":
        return _with_site(title + "\n\n" + body, site)
    if kind == "headline":
        return _change_words(title, rng, vocab, 0.5) + " - update\n\n" + body
    if kind == "trim_end":  # up to 30% of the words
        return title + "\n\n" + "\n\n".join(_trim_end(paras, 0.3))
    if kind == "add_end":
        # Background from inside another story of the topic, at most 30% of
        # this story's length and a quarter of the other's: added
        # paragraphs, not a second story.
        budget = int(min(0.3 * len(body.split()), 0.25 * len(other_body.split())))
        added = " ".join(" ".join(_paragraphs(other_body)[2:]).split(" ")[:budget])
        added = added[: added.rfind(". ") + 1] if ". " in added else added
        return title + "\n\n" + body + "\n\n" + added
    if kind == "words":
        return title + "\n\n" + _change_words(body, rng, vocab, 0.03)
    if kind == "mojibake":
        return _mojibake(title + "\n\n" + body)
    if kind == "first_half":
        words = body.split(" ")
        return title + "\n\n" + " ".join(words[: len(words) // 2])
    if kind == "mixed":
        text = _change_words(title, rng, vocab, 0.5) + "\n\n" + "\n\n".join(_trim_end(paras, 0.15))
        return _with_site(_change_words(text, rng, vocab, 0.02), site)
    raise ValueError(kind)


def _later_versions(rows: list[dict], share: float = 0.3) -> set[str]:
    """Ids of BBC articles that repeat an earlier one (exact copies and the
    corpus's own updated versions: at least ``share`` of the smaller one's
    shingles shared, counted exactly over shingles rarer than 20 articles),
    so that the curve's "different stories" really are different."""
    shingles = [fingerprint(r["text"], 3).shingles for r in rows]
    postings = defaultdict(list)
    for k, sh in enumerate(shingles):
        for h in sh.tolist():
            postings[h].append(k)
    shared = Counter()
    for docs in postings.values():
        if 1 < len(docs) <= 20:
            for i in range(len(docs)):
                for j in range(i + 1, len(docs)):
                    shared[docs[i], docs[j]] += 1
    later = set()
    for (i, j), n in shared.items():
        if n >= share * min(len(shingles[i]), len(shingles[j])):
            later.add(rows[j]["id"])
    return later


BANDS = ((0.9, 1.01), (0.8, 0.9), (0.7, 0.8), (0.6, 0.7), (0.5, 0.6), (0.4, 0.5), (0.0, 0.4))


def detection_curve(work: Path, stories: int) -> dict:
    rows = _bbc()
    versions = _later_versions(rows)
    originals = [r for r in rows if r["id"] not in versions]
    rng = np.random.default_rng(4)
    pick = sorted(rng.choice(len(originals), size=min(stories, len(originals)), replace=False).tolist())
    originals = [originals[i] for i in pick]
    vocab = sorted({w for r in rows[:300] for w in r["text"].split() if w.isalpha() and len(w) > 3})
    by_cat = defaultdict(list)
    for r in originals:
        by_cat[r["category"]].append(r)
    long_by_cat = defaultdict(list)  # where added background paragraphs come from
    for r in rows:
        if len(_paragraphs(r["text"])) >= 8:
            long_by_cat[r["category"]].append(r)
    records, story_of, kind_of, sim_of = [], {}, {}, {}
    for k, r in enumerate(originals):
        story = r["id"]
        rid = f"orig/{story}"
        records.append({"id": rid, "text": r["title"] + "\n\n" + r["text"], "source": "bbc"})
        story_of[rid], kind_of[rid] = story, "original"
        pool = long_by_cat[r["category"]]
        other = pool[(pool.index(r) + 1 if r in pool else k) % len(pool)]
        for kind in EDIT_KINDS:
            text = make_copy(kind, r["title"], r["text"], other["text"], rng, vocab)
            cid = f"copy/{kind}/{story}"
            site = sorted(SITES)[int(hashlib.md5(cid.encode()).hexdigest(), 16) % len(SITES)]
            records.append({"id": cid, "text": text, "source": site})
            story_of[cid], kind_of[cid] = story, kind
            sim_of[cid] = _exact_similarity(text, r["title"] + "\n\n" + r["text"])
    (work / "nc").mkdir()
    (work / "dt").mkdir()
    nc, nc_info = run_newsclean(records, work / "nc")
    dt, dt_info = run_datatrove(records, work / "dt")
    res = {"stories": len(originals), "copies": len(records) - len(originals), "topics": len(by_cat)}
    for name, label in (("newsclean", nc), ("datatrove", dt)):
        per_kind = defaultdict(lambda: [0, 0])
        per_band = defaultdict(lambda: [0, 0])
        missed = []
        for rid, kind in kind_of.items():
            if kind == "original":
                continue
            hit = label[rid] == label[f"orig/{story_of[rid]}"]
            per_kind[kind][0] += hit
            per_kind[kind][1] += 1
            if not hit:
                missed.append({"id": rid, "with": label[rid], **sim_of[rid]})
            j = sim_of[rid]["jaccard"]
            band = next(f"{lo:.1f}-{min(hi, 1.0):.1f}" for lo, hi in BANDS if lo <= j < hi)
            per_band[band][0] += hit
            per_band[band][1] += 1
        # False merges: two different stories (always on one topic here) in
        # one cluster, counted once per story pair.
        stories_in = defaultdict(set)
        for rid, lab in label.items():
            stories_in[lab].add(story_of[rid])
        merged = {p for s in stories_in.values() if len(s) > 1 for p in _pairs(s)}
        res[name] = {
            "recall": round(sum(v[0] for v in per_kind.values()) / sum(v[1] for v in per_kind.values()), 4),
            "per_kind": {k: {"found": v[0], "of": v[1], "recall": round(v[0] / v[1], 4)} for k, v in sorted(per_kind.items())},
            "per_band": {k: {"found": v[0], "of": v[1], "recall": round(v[0] / v[1], 4)} for k, v in sorted(per_band.items(), reverse=True)},
            "false_merged_story_pairs": len(merged),
            "false_merged": sorted(merged)[:30],
            "missed": missed[:60],
        }
    res["newsclean"]["seconds"] = nc_info["seconds"]
    res["datatrove"]["seconds"] = dt_info["seconds"]
    return res


# --------------------------------------------------------------------------
# 4. Speed and memory on generated articles

BLOCK = 1000
_GEN: dict = {}


def _generator_state() -> dict:
    """BBC bodies as word lists and the corpus vocabulary with frequencies
    (built once per process)."""
    if not _GEN:
        rows = _bbc()
        bodies = [r["text"].replace("\n\n", " \n\n").split(" ") for r in rows]
        counts = Counter(w for b in bodies for w in b)
        words = sorted(counts)
        freq = np.array([counts[w] for w in words], dtype=np.float64)
        _GEN.update(bodies=bodies, vocab=np.array(words, dtype=object), cum=np.cumsum(freq / freq.sum()))
    return _GEN


def synth_block(b: int, seed: int = 7) -> list[str]:
    """Articles ``b*1000 .. b*1000+999``, deterministic.

    Each article joins two random BBC bodies, cut to ~3 KB, and replaces a
    quarter of its words with words drawn by corpus frequency: different
    articles share vocabulary and style (and one base article now and then,
    as follow-up stories do) but are not copies. Then 10% of each block are
    near copies of an earlier article (3% of words changed, or the last 15%
    cut) and 2% exact copies, so clustering has real work.
    """
    g = _generator_state()
    bodies, vocab, cum = g["bodies"], g["vocab"], g["cum"]
    rng = np.random.default_rng((seed, b))
    out: list[str] = []
    for k in range(BLOCK):
        roll = rng.random()
        if k > 10 and roll < 0.02:
            out.append(out[int(rng.integers(k))])
            continue
        if k > 10 and roll < 0.12:
            words = out[int(rng.integers(k))].split(" ")
            if rng.random() < 0.5:
                idx = rng.choice(len(words), size=max(1, len(words) * 3 // 100), replace=False)
                for i, w in zip(idx, vocab[np.searchsorted(cum, rng.random(len(idx)))]):
                    words[i] = w
            else:
                words = words[: len(words) * 85 // 100]
            out.append(" ".join(words))
            continue
        i, j = rng.integers(len(bodies), size=2)
        words = (bodies[i] + bodies[j])[:540]
        arr = np.array(words, dtype=object)
        swap = rng.random(len(arr)) < 0.25
        arr[swap] = vocab[np.minimum(np.searchsorted(cum, rng.random(int(swap.sum()))), len(vocab) - 1)]
        out.append(" ".join(arr.tolist()).replace(" \n\n", "\n\n"))
    return out


def _sign_blocks(blocks: list[int], num_perm: int, shingle_size: int) -> dict:
    """newsclean's shingling + signatures over some blocks (one worker)."""
    signer = Signer(num_perm, 1)
    sigs, nsh, words, keys, ents, nents = [], [], [], [], [], []
    cpu = gen = 0.0
    for b in blocks:
        t0 = time.process_time()
        texts = synth_block(b)
        t1 = time.process_time()
        prints = fingerprints(texts, shingle_size)
        sigs.append(signer.sign_many([fp.shingles for fp in prints]))
        for fp in prints:
            nsh.append(fp.shingles.size)
            words.append(fp.tokens)
            keys.append(fp.exact)
            ents.append(fp.entities)
            nents.append(fp.n_entities)
        cpu += time.process_time() - t1
        gen += t1 - t0
    return {"sigs": np.concatenate(sigs), "n": np.array(nsh, dtype=np.int32), "words": np.array(words, dtype=np.int32),
            "keys": keys, "ents": np.stack(ents), "nents": np.array(nents, dtype=np.int32), "cpu": cpu, "gen": gen}


def _datasketch_rate(texts: list[str], num_perm: int, k: int) -> float:
    """A plain per-article loop: datasketch MinHash, one update per shingle."""
    from datasketch import MinHash

    t0 = time.process_time()
    for text in texts:
        m = MinHash(num_perm=num_perm)
        toks = tokens(text)
        for i in range(max(1, len(toks) - k + 1)):
            m.update(" ".join(toks[i : i + k]).encode("utf-8"))
        m.digest()
    return len(texts) / (time.process_time() - t0)


def _peak_rss_mb() -> int:
    """This process's own peak RSS. Not ru_maxrss: Linux carries that over
    exec from the forked parent, so a spawned child would report at least
    its parent's size."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _cluster_child(folder: str, conn) -> None:
    """LSH + clustering in a fresh process, so its peak RSS is its own."""
    d = Path(folder)
    t0 = time.perf_counter()
    sigs = np.load(d / "sigs.npy")
    n = np.load(d / "n.npy")
    order = np.load(d / "order.npy")
    keys = (d / "keys.txt").read_text().split("\n")
    ents = np.load(d / "ents.npy")
    nents = np.load(d / "nents.npy")
    t1 = time.perf_counter()
    c = cluster(sigs, n, keys, order, load_config().dedup.params(), ents, nents)
    t2 = time.perf_counter()
    conn.send({"load_seconds": round(t1 - t0, 2), "seconds": round(t2 - t1, 2),
               "peak_rss_mb": _peak_rss_mb(),
               "clusters": int(len(np.unique(c.canonical))), "exact": int(c.exact.sum()),
               "candidate_pairs": c.candidate_pairs, "verified_pairs": c.verified_pairs})


def _datatrove_sig_child(blocks: list[int], folder: str, rank: int) -> float:
    texts = (t for b in blocks for t in synth_block(b))
    return datatrove_signatures(texts, Path(folder), rank=rank, fast_words=True)


def _datatrove_cluster_child(sig_folder: str, work: str, conn) -> None:
    t0 = time.perf_counter()
    clusters = datatrove_cluster(Path(sig_folder), Path(work))
    conn.send({"seconds": round(time.perf_counter() - t0, 2),
               "peak_rss_mb": _peak_rss_mb(),
               "clustered_docs": len(clusters), "clusters": len(set(clusters.values()))})


def _in_child(target, *args):
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    p = ctx.Process(target=target, args=(*args, child))
    p.start()
    out = parent.recv()
    p.join()
    return out


def speed(size: int, work: Path, workers: int, datatrove: bool) -> dict:
    cfg = load_config().dedup
    blocks = list(range(-(-size // BLOCK)))
    res: dict = {"articles": len(blocks) * BLOCK}
    sample = synth_block(0) + synth_block(1)
    res["mean_chars"] = round(float(np.mean([len(t) for t in sample])))

    # newsclean: shingling + signatures, all articles, one block list per worker.
    ctx = multiprocessing.get_context("spawn")
    t0 = time.perf_counter()
    with ctx.Pool(workers) as pool:
        parts = pool.starmap(_sign_blocks, [(blocks[w::workers], cfg.num_perm, cfg.shingle_size) for w in range(workers)])
    wall = time.perf_counter() - t0
    cpu = sum(p["cpu"] for p in parts)
    res["newsclean_sign"] = {"per_core": round(res["articles"] / cpu), "cpu_seconds": round(cpu, 1),
                             "wall_seconds_incl_generation": round(wall, 1), "workers": workers}
    # Reassemble in article order (worker w holds blocks w, w+workers, ...).
    per_block = {}
    for w, p in enumerate(parts):
        for k, b in enumerate(blocks[w::workers]):
            sl = slice(k * BLOCK, (k + 1) * BLOCK)
            per_block[b] = (p["sigs"][sl], p["n"][sl], p["words"][sl], p["keys"][sl], p["ents"][sl], p["nents"][sl])
    del parts
    d = work / f"nc-{size}"
    d.mkdir()
    np.save(d / "sigs.npy", np.concatenate([per_block[b][0] for b in blocks]))
    np.save(d / "n.npy", np.concatenate([per_block[b][1] for b in blocks]))
    np.save(d / "ents.npy", np.concatenate([per_block[b][4] for b in blocks]))
    np.save(d / "nents.npy", np.concatenate([per_block[b][5] for b in blocks]))
    words = np.concatenate([per_block[b][2] for b in blocks])
    # rank_key order (most words, then id); ids are article numbers.
    np.save(d / "order.npy", np.lexsort((np.arange(len(words)), -words.astype(np.int64))))
    (d / "keys.txt").write_text("\n".join(k for b in blocks for k in per_block[b][3]))
    del per_block, words
    gc.collect()
    res["newsclean_lsh"] = _in_child(_cluster_child, str(d))
    shutil.rmtree(d)

    # Baselines for signing, on a sample (their rate is flat in corpus size).
    res["datasketch_sign"] = {"per_core": round(_datasketch_rate(sample[:500], cfg.num_perm, cfg.shingle_size)),
                              "sample": 500}
    if datatrove:
        with tempfile.TemporaryDirectory(dir=work) as tmp:
            cpu = datatrove_signatures(sample[:1000], Path(tmp))
        res["datatrove_sign"] = {"per_core": round(1000 / cpu), "sample": 1000, "tokenizer": "spaCy (default)"}
        sig_dir = work / f"dt-sigs-{size}"
        t0 = time.perf_counter()
        with ctx.Pool(workers) as pool:
            cpus = pool.starmap(_datatrove_sig_child, [(blocks[w::workers], str(sig_dir), w) for w in range(workers)])
        res["datatrove_sign_regex"] = {"per_core": round(res["articles"] / sum(cpus)), "wall_seconds": round(time.perf_counter() - t0, 1)}
        res["datatrove_lsh"] = _in_child(_datatrove_cluster_child, str(sig_dir), str(work / f"dt-{size}"))
        shutil.rmtree(sig_dir)
        shutil.rmtree(work / f"dt-{size}", ignore_errors=True)
    return res


# --------------------------------------------------------------------------
# Table


def _f(x, spec=".3f"):
    return "n/a" if x is None else format(x, spec)


def table(results: dict) -> list[str]:
    rows = [("measure", "newsclean", "datatrove", "target / note")]
    q = results.get("real_copies")
    if q:
        for m in ("precision", "recall", "f1", "ari"):
            rows.append((f"real copies ({q['articles']} extractions): {m}", _f(q["newsclean"][m]), _f(q["datatrove"][m]),
                         ">= 0.95, > datatrove" if m in ("f1", "ari") else ""))
    b = results.get("bbc")
    if b:
        rows.append(("BBC exact pairs found", f"{b['newsclean']['found']}/{b['exact_pairs']}",
                     f"{b['datatrove']['found']}/{b['exact_pairs']}", "all"))
        rows.append(("BBC other merged pairs (same headline)",
                     f"{b['newsclean']['other_merged_pairs']} ({b['newsclean']['other_same_headline']})",
                     f"{b['datatrove']['other_merged_pairs']} ({b['datatrove']['other_same_headline']})",
                     "0 false merges: each pair is in the JSON"))
    c = results.get("curve")
    if c:
        rows.append((f"synthetic copies ({c['copies']}): recall", _f(c["newsclean"]["recall"]), _f(c["datatrove"]["recall"]), ""))
        for kind in EDIT_KINDS:
            nk, dk = c["newsclean"]["per_kind"][kind], c["datatrove"]["per_kind"][kind]
            rows.append((f"  edit {kind} (n={nk['of']})", _f(nk["recall"]), _f(dk["recall"]),
                         "found (containment)" if kind == "first_half" else ""))
        for band, nb in c["newsclean"]["per_band"].items():
            db = c["datatrove"]["per_band"].get(band, {"recall": None})
            rows.append((f"  true Jaccard {band} (n={nb['of']})", _f(nb["recall"]), _f(db["recall"]), ""))
        rows.append((f"  false merges: story pairs ({c['stories']} stories, {c['topics']} topics)",
                     str(c["newsclean"]["false_merged_story_pairs"]), str(c["datatrove"]["false_merged_story_pairs"]), "0"))
    for size, s in results.get("speed", {}).items():
        n = f"{int(size):,}"
        dts = s.get("datatrove_sign", {}).get("per_core")
        rows.append((f"{n}: shingling+signatures, articles/s/core (~{s['mean_chars']} chars)",
                     f"{s['newsclean_sign']['per_core']:,}", f"{dts:,}" if dts else "n/a",
                     f">= 3,000; datasketch update loop {s['datasketch_sign']['per_core']:,}"
                     + (f"; datatrove w/ regex words {s['datatrove_sign_regex']['per_core']:,}" if "datatrove_sign_regex" in s else "")))
        dl = s.get("datatrove_lsh", {})
        if not dl:
            rate = next((x["datatrove_sign_regex"]["per_core"] for x in results["speed"].values() if "datatrove_sign_regex" in x), None)
            if rate:
                rows.append((f"{n}: datatrove not run at this size", "", "n/a",
                             f"its signature stage alone: ~{s['articles'] / rate / 60:.0f} CPU-min (regex words), "
                             f"~{s['articles'] / max(1, next(x['datatrove_sign']['per_core'] for x in results['speed'].values() if 'datatrove_sign' in x)) / 3600:.1f} CPU-h (spaCy)"))
        rows.append((f"{n}: LSH + clustering, seconds", _f(s["newsclean_lsh"]["seconds"], ".1f"), _f(dl.get("seconds"), ".1f"),
                     "< 300 s at 1M"))
        rows.append((f"{n}: LSH + clustering, peak RSS MB", f"{s['newsclean_lsh']['peak_rss_mb']:,}",
                     f"{dl['peak_rss_mb']:,}" if dl else "n/a", "< 4,000 MB at 1M"))
        dt_clusters = s["articles"] - dl["clustered_docs"] + dl["clusters"] if dl else None
        rows.append((f"{n}: clusters", f"{s['newsclean_lsh']['clusters']:,}", f"{dt_clusters:,}" if dl else "n/a",
                     f"{s['newsclean_lsh']['candidate_pairs']:,} candidate pairs, {s['newsclean_lsh']['verified_pairs']:,} verified"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help="comma-separated sections to run: copies, bbc, curve, speed (default: all)")
    ap.add_argument("--sizes", default="100000,1000000", help="comma-separated corpus sizes for section 4")
    ap.add_argument("--stories", type=int, default=400, help="BBC stories in the detection curve")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--datatrove-sizes", default=None,
                    help="sizes at which section 4 also runs datatrove's stages (default: every size; its signature "
                         "stage needs ~25 CPU-minutes per 1M articles)")
    ap.add_argument("--out", type=Path, default=RESULTS / "dedup.json")
    args = ap.parse_args()
    if not BBC.exists() or not AEB.exists():
        sys.exit(f"{SHARED} is not present: the benchmark reads ../shared in place")
    RESULTS.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    results: dict = {"config": "configs/default.toml", "params": load_config().dedup.params().__dict__,
                     "bands_rows": load_config().dedup.params().bands()}
    with tempfile.TemporaryDirectory(prefix="dedup-bench-", dir=RESULTS) as tmp:
        work = Path(tmp)
        only = set(args.only.split(",")) if args.only else {"copies", "bbc", "curve", "speed"}
        for key, name, fn in (("copies", "real_copies", lambda w: real_copies(w)), ("bbc", "bbc", lambda w: bbc_exact(w)),
                              ("curve", "curve", lambda w: detection_curve(w, args.stories))):
            if key in only:
                (work / name).mkdir()
                t0 = time.perf_counter()
                results[name] = fn(work / name)
                print(f"[{name}: {time.perf_counter() - t0:.0f} s]", flush=True)
                args.out.write_text(json.dumps(results, indent=1, default=str))  # partial results survive
        if "speed" in only:
            results["speed"] = {}
            for size in (int(s) for s in args.sizes.split(",") if s):
                t0 = time.perf_counter()
                dt = args.datatrove_sizes is None or str(size) in args.datatrove_sizes.split(",")
                results["speed"][str(size)] = speed(size, work, args.workers, dt)
                print(f"[speed {size}: {time.perf_counter() - t0:.0f} s]", flush=True)
                args.out.write_text(json.dumps(results, indent=1, default=str))
    results["seconds"] = round(time.perf_counter() - t_start, 1)
    lines = table(results)
    results["table"] = lines
    print("\n".join(lines))
    args.out.write_text(json.dumps(results, indent=1, default=str))
    print(f"wrote {args.out} ({results['seconds']} s)")


if __name__ == "__main__":
    main()
