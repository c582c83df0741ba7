"""Shard-level work: plain functions that worker processes (or Prefect tasks
on a cluster) run over one shard file each.

They compose the cleaners and own the shard's I/O; they hold no cleaning
logic. Everything they return is small (counters, learned statistics); the
articles themselves go to files, so memory stays flat however large the
corpus.
"""

from __future__ import annotations

import heapq
import json
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from cleaners.boilerplate import SourceLineStats
from cleaners.boilerplate.learned import LINE_ROW, line_table, source_key, trimmed_lines
from cleaners.chain import Chain
from cleaners.dedup import Signer, fingerprints
from cleaners.gates import furniture_share, prose_sentences, word_count
from cleaners.reasons import CHANGE_REASONS
from cleaners.record import Article

from .config import Config, ConfigError
from .store import SIDECAR_FIELDS, atomic_open, dumps, index_line, save_npy, save_sidecar

STAGES = ("read", "extract", "repair", "boilerplate", "language", "signature", "dedup", "write")


@dataclass
class ShardStats:
    """What one shard (or, merged, a whole run) did. Plain data: it crosses
    process boundaries and lands in the run record."""

    articles: int = 0
    candidates: int = 0
    dropped: Counter = field(default_factory=Counter)  # reason -> count
    edits: Counter = field(default_factory=Counter)  # reason -> count
    edits_by_source: dict = field(default_factory=dict)  # source -> reason -> count
    words_before: Counter = field(default_factory=Counter)  # source -> words
    words_removed: Counter = field(default_factory=Counter)  # source -> words
    removed_lines: Counter = field(default_factory=Counter)  # (source, reason, line) -> count
    languages: Counter = field(default_factory=Counter)
    timings: Counter = field(default_factory=Counter)  # stage -> seconds
    examples: list = field(default_factory=list)

    def merge(self, other: "ShardStats", max_examples: int = 50) -> None:
        self.articles += other.articles
        self.candidates += other.candidates
        for name in ("dropped", "edits", "words_before", "words_removed", "removed_lines", "languages", "timings"):
            getattr(self, name).update(getattr(other, name))
        for src, reasons in other.edits_by_source.items():
            self.edits_by_source.setdefault(src, Counter()).update(reasons)
        self.examples = sorted(self.examples + other.examples, key=lambda e: (-e["removed_words"], e["id"]))[:max_examples]


_CHAINS: dict[str, Chain] = {}


def _chain(cfg: Config) -> Chain:
    """One compiled chain per configuration per process (rules compile once)."""
    key = cfg.digest()
    if key not in _CHAINS:
        _CHAINS[key] = _build_chain(cfg)
    return _CHAINS[key]


def _build_chain(cfg: Config) -> Chain:
    b, q = cfg.boilerplate, cfg.quality
    return Chain(
        rules=cfg.ruleset(),
        max_title_words=cfg.input.max_title_words,
        steps=tuple(b.steps),
        classifier=_classifier(cfg) if "classifier" in b.steps else None,
        offtopic_model=_offtopic_model(cfg),
        offtopic_max_shared=None if b.offtopic_max_shared is False else float(b.offtopic_max_shared),
        prefix_chars=cfg.language.prefix_chars,
        fast_prefix_chars=cfg.language.fast_prefix_chars,
        fast_language_prob=None if cfg.language.fast_min_prob is False else float(cfg.language.fast_min_prob),
        keep_languages=tuple(cfg.language.keep),
        min_words=q.min_words,
        max_furniture_share=None if q.max_furniture_share is False else float(q.max_furniture_share),
        min_sentences=q.min_sentences,
    )


def _classifier(cfg: Config):
    from cleaners.boilerplate.classifier import BlockModel, ClassifierStep

    model = BlockModel.load(cfg.model_path())
    return ClassifierStep(model, cfg.ruleset().patterns, classifier_threshold(cfg, model))


def _offtopic_model(cfg: Config):
    from cleaners.boilerplate.offtopic import TopicModel

    path = cfg.offtopic_model_path()
    return None if path is None else TopicModel.load(path)


def classifier_threshold(cfg: Config, model) -> float:
    """The run's own ``[boilerplate] classifier_threshold``, else the one the
    model was trained with (its file's ``threshold``)."""
    if cfg.boilerplate.classifier_threshold is not None:
        return float(cfg.boilerplate.classifier_threshold)
    if not isinstance(model.meta.get("threshold"), (int, float)):
        raise ConfigError(f"{cfg.model_path()}: the model file has no threshold; "
                          "set [boilerplate] classifier_threshold in the configuration")
    return float(model.meta["threshold"])


def check_model(cfg: Config) -> None:
    """Load the models the run uses (the block classifier's, [boilerplate]
    model, checked against the rules' patterns; the off-topic decision's,
    [boilerplate] offtopic_model): a missing, empty or damaged file is
    refused by name before any input is read, not in the first shard."""
    if "classifier" in cfg.boilerplate.steps:
        _check_model_file(cfg, "model", cfg.model_path(), lambda: _classifier(cfg),
                          "point [boilerplate] model at a trained model (newsclean ships configs/boilerplate-model.json), "
                          "retrain it (make train-boilerplate), or take \"classifier\" out of [boilerplate] steps")
    path = cfg.offtopic_model_path()
    if path is not None:
        _check_model_file(cfg, "offtopic_model", path, lambda: _offtopic_model(cfg),
                          "point [boilerplate] offtopic_model at a trained model (newsclean ships "
                          "configs/offtopic-model.json), retrain it (make train-offtopic), or set it to false "
                          "(the [offtopic] rules then decide every paragraph)")


def _check_model_file(cfg: Config, key: str, path: Path, load, fix: str) -> None:
    try:
        load()
        return
    except ConfigError:
        raise  # already says what to do
    except FileNotFoundError:
        problem = "no such file" + (f" (a relative path is looked for beside {cfg.path}, then among newsclean's configs)"
                                    if not Path(getattr(cfg.boilerplate, key)).is_absolute() else "")
    except json.JSONDecodeError as exc:
        problem = "the file is empty" if not exc.doc.strip() else f"not a model file (broken JSON at line {exc.lineno}, column {exc.colno})"
    except Exception as exc:  # noqa: BLE001 - whatever breaks loading it, the file is the problem
        problem = f"not a usable model ({type(exc).__name__}: {exc})"[:300]
    raise ConfigError(f"{path}: [boilerplate] {key}: {problem}; {fix}")


def warm_up(cfg: Config) -> None:
    """Compile the chain and load its models (word frequencies, language
    profiles) in this process, so a worker is ready before its first shard
    arrives."""
    _chain(cfg).warm_up()


@lru_cache(maxsize=4)
def _signer(num_perm: int, seed: int) -> Signer:
    return Signer(num_perm, seed)


def read_shard(path: str | Path) -> list[tuple[Article, str, bool, list]]:
    """(article, content hash, already prepared, position in the input) for
    every row of a shard, in the order of their positions (see
    :func:`position`)."""
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            out.append((Article.from_dict(row["article"]), row["hash"], row.get("prepared", False), row.get("pos")))
    return sorted(out, key=lambda d: position(d[3], d[0].id))


def position(pos: list | None, doc_id: str) -> tuple[str, int]:
    """The one order of the outputs: the input file's path relative to the
    input folder, then the document's place in that file (``pos``, set when
    it was read); an article of a folder written before positions were
    recorded sorts by its id."""
    return (pos[0], pos[1]) if pos else (doc_id, -1)


@lru_cache(maxsize=4)
def _extractor(settings):
    return settings.extractor()


def _prepare(chain: Chain, docs: list[tuple[Article, str, bool, list]], cfg: Config) -> tuple[float, float]:
    """HTML extraction, then stage 1, on every article of a shard not
    already prepared; (extraction seconds, repair seconds). An article whose
    extraction failed keeps its ``error`` and is not repaired."""
    extract = _extractor(cfg.extract)
    clock = time.perf_counter
    t0 = clock()
    for art, _, prepared, _ in docs:
        if not prepared and art.html is not None:
            extract.extract(art, chain.precheck)
    t1 = clock()
    for art, _, prepared, _ in docs:
        if not prepared and art.error is None:
            chain.prepare(art)
    return t1 - t0, clock() - t1


def learn_shard(path: str, cfg: Config, repaired: str | None = None) -> tuple[SourceLineStats, Counter]:
    """Pass 1: extract and repair every article of the shard and count its
    lines per source (the shard's line table, rows numbered as in the
    repaired file).

    The repaired articles are written to ``repaired`` (default: over the
    shard itself), so that pass 2 does not repair them again and a later run
    can clean them again without the input (``NNNNN.repaired.jsonl`` of a
    segment); HTML is extracted once and the page itself not kept. Returns
    the statistics and the seconds spent per stage (``extract``, ``repair``).
    """
    chain = _chain(cfg)
    stats = SourceLineStats(cfg.boilerplate.learn_min_articles, cfg.boilerplate.learn_min_share)
    docs = read_shard(path)
    extract, repair = _prepare(chain, docs, cfg)
    for row, (art, _, _, _) in enumerate(docs):
        art.html = None
        if art.error is None:
            stats.observe(art.source, art.text.split("\n"), row)
    _write_lines(repaired or path, [dumps({"article": art.to_dict(), "hash": chash, "pos": pos, "prepared": True})
                                    for art, chash, _, pos in docs])
    return compact_line_stats(stats), Counter(extract=extract, repair=repair)


def compact_line_stats(stats: SourceLineStats) -> SourceLineStats:
    """``stats`` as one table of the distinct ``(source, line, article)``
    triples that count, all that :meth:`SourceLineStats.learned` reads of
    pass 1's statistics (rows and probe rows matter to a shard's line table
    only, which pass 2 writes). One array, not one per article: a shard's
    statistics used to cross the cluster as some 2,000 small arrays, and
    every level of the merge pickled and concatenated each of them again;
    copies of a story in one source (one fingerprint) are one row."""
    t = stats.table()
    t = t[t["counted"]]
    if len(t):
        t = t[np.lexsort((t["fp"], t["key"], t["src"]))]
        new = np.ones(len(t), bool)
        new[1:] = (t["src"][1:] != t["src"][:-1]) | (t["key"][1:] != t["key"][:-1]) | (t["fp"][1:] != t["fp"][:-1])
        t = t[new]
        t["row"] = 0
    out = SourceLineStats(stats.min_articles, stats.min_share)
    out.add(t)
    return out


def clean_shard(path: str, out_prefix: str, cfg: Config, learned: Mapping[int, frozenset[str]], examples: int = 5,
                index: bool = True) -> ShardStats:
    """Pass 2: clean, detect language, gate, and sign one shard.

    ``learned``: line keys learned per source key (what
    :meth:`SourceLineStats.learned` gives). Writes
    ``<out_prefix>.candidates.jsonl`` / ``.signatures.npy`` /
    ``.dedup.arrow`` / ``.filtered.jsonl`` / ``.index.tsv`` and, with ``index``, the shard's
    line table ``.lines.npy`` (see :class:`pipelines.store.Segment`); a
    shard of articles cleaned again has its table where they were first
    read.
    """
    chain = _chain(cfg)
    d = cfg.dedup
    signer = _signer(d.num_perm, 1)
    stats = ShardStats()
    t = stats.timings
    clock = time.perf_counter
    t0 = clock()
    docs = read_shard(path)
    t["read"] += clock() - t0
    cand_lines: list[str] = []
    filt_lines: list[str] = []
    index_lines: list[str] = []
    # What dedup needs of each candidate, in a file of its own: it then
    # never parses article JSON (pipelines.corpus).
    sidecar: dict[str, list] = {name: [] for name in SIDECAR_FIELDS}
    # Each stage runs over the whole shard before the next: a stage's tables
    # (rules, word frequencies, the 40 MB language model) stay in the CPU
    # cache from one article to the next instead of evicting each other.
    extract, repair = _prepare(chain, docs, cfg)
    t["extract"] += extract
    t["repair"] += repair
    befores = [art.text for art, _, _, _ in docs]
    t1 = clock()
    # Cheap gates first. Too short already: boilerplate removal can only
    # shorten it, so it is not cleaned at all.
    # A page whose extraction failed is quarantined and never cleaned.
    short = [art.error is None and chain.short_already(art) for art, _, _, _ in docs]
    none: frozenset[str] = frozenset()
    by_name = {a.source: learned.get(source_key(a.source), none) for a, _, _, _ in docs if a.source and learned}
    chain.strip_many([art for (art, _, _, _), s in zip(docs, short) if not s and art.error is None], by_name)
    t2 = clock()
    # Then the gates that need no language: it is detected only for what they keep.
    reasons = ["quarantined" if art.error else "too_short" if s else chain.precheck(art)
               for (art, _, _, _), s in zip(docs, short)]
    for (art, _, _, _), reason in zip(docs, reasons):
        if not reason:
            chain.identify(art)
    t3 = clock()
    t["boilerplate"] += t2 - t1
    t["language"] += t3 - t2
    reasons = [reason or chain.decide(art) for (art, _, _, _), reason in zip(docs, reasons)]
    t0 = clock()
    prints = fingerprints([art.text for (art, _, _, _), reason in zip(docs, reasons) if not reason], d.shingle_size)
    signatures = signer.sign_many([fp.shingles for fp in prints])
    t1 = clock()
    t["signature"] += t1 - t0
    next_print = iter(prints).__next__
    tables = []
    edited: list[tuple[int, str, Article, str]] = []
    for row, ((art, chash, _, pos), before, reason) in enumerate(zip(docs, befores, reasons)):
        stats.articles += 1
        _account(stats, art, before)
        if index and art.error is None:
            tables.append(line_table(art.source, before.split("\n"), row, trimmed_lines(before, art.edits)))
        if reason:
            stats.dropped[reason] += 1
            filt_lines.append(dumps({"id": art.id, "reason": reason, "detail": _detail(art, reason, cfg), "source": art.source,
                                     "language": art.language, "_pos": pos}))
            index_lines.append(index_line(art.id, chash, "filtered"))
            continue
        fp = next_print()
        row_out = art.to_dict()
        row_out["_pos"] = pos
        cand_lines.append(dumps(row_out))
        for name, value in zip(SIDECAR_FIELDS, (art.id, pos[0] if pos else None, pos[1] if pos else None, word_count(art.text),
                                                int(fp.shingles.size), fp.exact, art.published, fp.entities.tobytes(),
                                                fp.n_entities)):
            sidecar[name].append(value)
        index_lines.append(index_line(art.id, chash, "candidate"))
        stats.candidates += 1
        if art.edits:
            removed = sum(len(e.text.split()) for e in art.edits if e.reason not in CHANGE_REASONS)
            edited.append((-removed, art.id, art, before))
    # The shard's own best examples by the merge's order (most words
    # removed, then id): merged, they are the run's best, however the
    # articles were cut into shards or runs.
    stats.examples = [{"id": art.id, "source": art.source, "before": before, "after": art.text,
                       "edits": [e.to_dict() for e in art.edits], "removed_words": -neg}
                      for neg, _, art, before in heapq.nsmallest(examples, edited, key=lambda e: (e[0], e[1]))]
    t["write"] += clock() - t1  # records serialised above
    t0 = clock()
    _write_lines(f"{out_prefix}.candidates.jsonl", cand_lines)
    _write_lines(f"{out_prefix}.filtered.jsonl", filt_lines)
    _write_lines(f"{out_prefix}.index.tsv", index_lines)
    save_npy(f"{out_prefix}.signatures.npy", signatures)
    save_sidecar(f"{out_prefix}.dedup.arrow", sidecar)
    if index:
        save_npy(f"{out_prefix}.lines.npy", np.concatenate(tables) if tables else np.empty(0, LINE_ROW))
    t["write"] += clock() - t0
    return stats


def _detail(art: Article, reason: str, cfg: Config) -> str:
    if reason == "quarantined":
        return art.error or ""
    if reason == "language":
        return f"{art.language} (p={art.language_prob}); keeping {', '.join(cfg.language.keep)}"
    if reason == "too_short":
        return f"{word_count(art.text)} words after cleaning < {cfg.quality.min_words}"
    if reason == "no_article":
        return (f"cleaning removed {furniture_share(art):.0%} of its words and left {prose_sentences(art.text)} "
                f"sentence(s) of prose (< {cfg.quality.min_sentences}): page furniture, not an article")
    if reason == "empty":
        if "extract:no-text" in art.flags and not art.raw_chars:
            return "HTML extraction found no article text in the page"
        return "no text left after cleaning" if art.raw_chars else "record has empty text"
    return ""


def _account(stats: ShardStats, art: Article, before: str) -> None:
    src = art.source or "(none)"
    stats.words_before[src] += len(before.split())
    per_src = stats.edits_by_source.setdefault(src, Counter())
    for e in art.edits:
        stats.edits[e.reason] += 1
        per_src[e.reason] += 1
        if e.reason not in CHANGE_REASONS and e.text:
            stats.words_removed[src] += len(e.text.split())
            stats.removed_lines[(src, e.reason, e.text[:200])] += 1
    if art.language:
        stats.languages[art.language] += 1


def _write_lines(path: str, lines: list[str]) -> None:
    with atomic_open(path) as fh:
        for line in lines:
            fh.write(line)
            fh.write("\n")
