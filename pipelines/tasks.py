"""The flow's steps over new input: read, learn boilerplate, clean.

Each is a Prefect task in an orchestrated run and a plain function call in
a local one (:func:`step`); the shard work inside them goes to the run's
executor (:mod:`pipelines.executors`).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.utilities.annotations import quote

from cleaners.boilerplate import SourceLineStats

from . import executors, intake, runtime
from .config import Config
from .readers import scan
from .stages import ShardStats, clean_shard, compact_line_stats, learn_shard, position
from .store import Segment

# A run is orchestrated by Prefect (a flow run on an API server, its steps
# task runs) or local: the same steps called as plain functions, logging to
# stderr, no server (see run_newsclean).
def orchestrated() -> bool:
    return FlowRunContext.get() is not None


def logger() -> logging.Logger | logging.LoggerAdapter:
    return get_run_logger() if orchestrated() else logging.getLogger("newsclean")


def step(step, *args):
    """Call a flow step: as a Prefect task run inside a flow run; in a local
    run, its function with the arguments ``quote()`` wrapped unwrapped."""
    runtime.check_interrupted()
    if orchestrated():
        return step(*args)
    return step.fn(*(a.unwrap() if isinstance(a, quote) else a for a in args))


# Progress callback of a run whose shard tasks go to a Prefect task runner
# (set by the flow):
# Prefect serialises the parameters of the enclosing flow and task for every
# submitted task, and a progress bar (locks, a terminal) does not pickle.
PROGRESS_HOOK: Callable[[str, int, int], None] | None = None


def _map(fn: Callable, argsets: list[tuple], label: str, progress, gather: bool = True) -> list:
    return executors.current().map(fn, argsets, label, progress or PROGRESS_HOOK, gather=gather)


# Results merged by one call of a tree reduce (see tree_reduce).
TREE_FAN_IN = 8


def tree_reduce(merge: Callable, parts: list, label: str, *args) -> list:
    """Merge ``parts`` level by level on the executor, ``merge(group,
    *args)`` over consecutive groups of :data:`TREE_FAN_IN`, until at most
    that many are left (for the caller's last call). Each level's results
    stay where they were computed (a cluster's workers) and the groups keep
    shard order, so for a merge that is associative the result is that of
    one flat merge, while no process merges more than a group at a time."""
    ex = executors.current()
    while len(parts) > TREE_FAN_IN:
        parts = ex.map(merge, [(parts[k:k + TREE_FAN_IN], *args) for k in range(0, len(parts), TREE_FAN_IN)],
                       label, None, gather=False)
    return parts



@dataclass
class ReadResult:
    shards: list[str]
    rejected: int
    documents: int
    new: int
    updated: int
    unchanged: int
    skipped_files: list[str]
    files: int
    id_conflicts: list[dict] = field(default_factory=list)  # [{id, quarantined_as}] across runs
    # Records that are no articles (WARC revisits, images ...): kind -> count.
    not_articles: dict[str, int] = field(default_factory=dict)


@task(name="read input", persist_result=False, cache_policy=NO_CACHE)
def read_input(input_path: str, staging: str, cfg: Config, segments: list[Segment], progress=None) -> ReadResult:
    """Read every document of the input into shard files; quarantine what
    cannot be read; skip documents earlier runs (``segments``) already
    processed. The work is :mod:`pipelines.intake`'s: parts read on the
    executor, ids resolved per hash partition of the id, kept lines cut into shards;
    this process only lists the files."""
    log = logger()
    found = scan(input_path)
    for rel in found.outputs:
        log.warning("skipped %s/: a newsclean output folder, never read as input", rel)
    for rel in found.skipped:
        log.warning("skipped %s: unsupported file type (newsclean reads .txt, .jsonl(.gz), .html/.htm(.gz), .warc(.gz))", rel)
    ex = executors.current()
    if found.files:
        ex.check_readable(Path(found.files[0]).absolute())
    parts_dir = Path(staging) / "parts"
    parts_dir.mkdir()
    parts = intake.plan_parts(found, cfg.run.shard_size)
    prefixes = [str(parts_dir / f"{p:05d}") for p in range(len(parts))]
    root = str(Path(found.root).absolute())
    skipped_records = _map(intake.read_part, [(files, root, prefix, cfg.input.max_file_bytes) for files, prefix in zip(parts, prefixes)],
                "read", progress)
    res = intake.resolve_steps(prefixes, segments, staging)
    cut = _map(intake.cut_part, [(prefix, str(parts_dir / f"raw-{p:05d}"), cfg.run.shard_size, cfg.extract.shard_pages)
                                 for p, prefix in enumerate(prefixes)], "shard", progress)
    # Shards numbered in input order (NNNNN, as pass 2 writes them), out of
    # the parts folder, which goes.
    shards = []
    for path in (p for part in cut for p in part):
        shards.append(str(Path(staging) / f"raw-{len(shards):05d}.jsonl"))
        os.replace(path, shards[-1])
    shutil.rmtree(parts_dir)
    not_articles = sum(skipped_records, Counter())
    for line in res.warnings:
        log.warning("%s", line)
    if res.counts["rejected"] > len(res.warnings):
        log.warning("... and %d more quarantined (dropped.jsonl lists every one)", res.counts["rejected"] - len(res.warnings))
    c = res.counts
    log.info(
        "read %d documents from %d files: %d new, %d updated, %d already processed, %d quarantined, %d files skipped",
        c["documents"], len(found.files), c["new"], c["updated"], c["unchanged"], c["rejected"], len(found.skipped),
    )
    if not_articles:
        log.info("records that are no articles, counted and left out: %s", dict(sorted(not_articles.items())))
    return ReadResult(shards, c["rejected"], c["documents"], c["new"], c["updated"], c["unchanged"],
                      found.skipped, len(found.files), res.conflicts, dict(sorted(not_articles.items())))


def repaired_path(staging: str | Path, index: int) -> str:
    """Where pass 1 writes shard ``index``'s repaired articles: pass 2 reads
    them, and later runs clean them again from there."""
    return str(Path(staging) / f"{index:05d}.repaired.jsonl")


@dataclass
class Reclean:
    """Articles of earlier runs cleaned again because this run changed the
    learned status of a line they hold (see :func:`plan_reclean`)."""

    shards: list[str] = field(default_factory=list)  # input files of pass 2, in staging
    articles: int = 0  # how many (their ids stay in the shards: the driver holds no per-article list)
    because: Counter = field(default_factory=Counter)  # line_learned / line_unlearned -> articles
    lines: Counter = field(default_factory=Counter)  # learned / unlearned -> (source, line) pairs
    sources: Counter = field(default_factory=Counter)  # source -> articles

    def record(self) -> dict[str, Any]:
        return {"articles": self.articles, "because": dict(sorted(self.because.items())),
                "lines": dict(sorted(self.lines.items())), "sources": dict(sorted(self.sources.items()))}


def plan_reclean(segments: list[Segment], tables: list[tuple[int, str, np.ndarray]], before: set, after: set, staging: Path,
                  shard_size: int) -> Reclean:
    """Find, through the line tables of earlier segments (``tables``:
    segment index, shard, table), the articles that
    hold a (source, line) whose learned status differs between ``before``
    and ``after``, and write their repaired text (from the segment that
    first read them) as pass-2 input files in ``staging``, in output order.
    Everything else was cleaned with the same learned lines it would get
    now, so only these can change."""
    gained, lost = after - before, before - after
    plan = Reclean(lines=Counter(learned=len(gained), unlearned=len(lost)))
    if not gained and not lost:
        return plan
    keys = np.array(sorted({k for _, k in gained | lost}), dtype=np.uint64)
    picks: dict[tuple[int, str], dict[int, set[str]]] = {}
    for si, shard, t in tables:
        hit = t[np.isin(t["key"], keys)]
        for src, key, row in zip(hit["src"].tolist(), hit["key"].tolist(), hit["row"].tolist()):
            why = "line_learned" if (src, key) in gained else "line_unlearned" if (src, key) in lost else None
            if why:
                picks.setdefault((si, shard), {}).setdefault(row, set()).add(why)
    rows: list[tuple[tuple, str]] = []
    for (si, shard), picked in sorted(picks.items()):
        with open(segments[si].repaired(shard), encoding="utf-8") as fh:
            for k, line in enumerate(fh):
                if k in picked:
                    art = json.loads(line)
                    rows.append((position(art.get("pos"), art["article"]["id"]), line))
                    plan.articles += 1
                    plan.because.update(picked[k])
                    plan.sources[art["article"].get("source") or "(none)"] += 1
    rows.sort()
    for n in range(0, len(rows), shard_size):
        path = staging / f"reclean-{n // shard_size:05d}.jsonl"
        with open(path, "w", encoding="utf-8") as fh:
            fh.writelines(line for _, line in rows[n:n + shard_size])
        plan.shards.append(str(path))
    return plan


@task(name="learn boilerplate", persist_result=False, cache_policy=NO_CACHE)
def learn_boilerplate(shards: list[str], staging: str, cfg: Config, segments: list[Segment],
                      progress=None) -> tuple[dict[int, frozenset[str]], Reclean, Counter]:
    """Pass 1 over every new shard (extract, repair, count lines; every shard
    is learned from, so runs in slices learn what one run over everything
    learns), then the exact statistics of every run so far (see
    :func:`learn_corpus`). The shards' statistics go from the workers to
    the one call that merges them, not through this process."""
    log = logger()
    ex = executors.current()
    # The configuration goes to every worker once, not with each task: with
    # its rules it pickles to about 18 KB, and an in-process scheduler kept
    # each task's copy until the step ended (docs/cluster.md).
    shared_cfg = ex.share(cfg)
    parts = _map(learn_shard, [(s, shared_cfg, repaired_path(staging, i)) for i, s in enumerate(shards)], "learn",
                 progress, gather=False)
    parts = tree_reduce(merge_line_stats, parts, "merge line statistics", shared_cfg)
    learned, plan, repair = ex.call(learn_corpus, parts, segments, staging, shared_cfg)
    if plan.lines or learned:
        log.info("learned %d boilerplate lines over %d sources (%d newly learned, %d no longer); %d earlier articles to clean again",
                 sum(len(v) for v in learned.values()), len(learned), plan.lines["learned"], plan.lines["unlearned"],
                 plan.articles)
    return learned, plan, repair


def merge_line_stats(parts: list[tuple[SourceLineStats, Counter]], cfg: Config,
                     compact: bool = True) -> tuple[SourceLineStats, Counter]:
    """Pass 1's findings of several shards (line statistics, seconds per
    stage) as one, in the order given; with ``compact``, as one table of
    distinct rows (:func:`compact_line_stats`) for the next level of the
    tree reduce."""
    b = cfg.boilerplate
    stats, seconds = SourceLineStats(b.learn_min_articles, b.learn_min_share), Counter()
    for part, secs in parts:
        stats.merge(part)
        seconds.update(secs)
    return (compact_line_stats(stats) if compact else stats), seconds


def learn_corpus(parts: list[tuple[SourceLineStats, Counter]], segments: list[Segment], staging: str,
                 cfg: Config) -> tuple[dict[int, frozenset[str]], Reclean, Counter]:
    """The lines learned per source over every run so far (what pass 2
    removes), the earlier articles to clean again because this run changed
    what is learned, and the seconds pass 1 spent extracting and repairing
    (pass 2 does not again). ``parts``: what pass 1 found in the new shards,
    in shard order (per shard, or merged by :func:`tree_reduce`)."""
    b = cfg.boilerplate
    # Not compacted: learned() below sorts every row once anyway.
    new, repair = merge_line_stats(parts, cfg, compact=False)  # repair: seconds per stage (extract, repair)
    if not b.learn or not parts:
        return {}, Reclean(), repair
    stats = SourceLineStats(b.learn_min_articles, b.learn_min_share)
    # Shards without a table: articles cleaned again (theirs is where they
    # were first read), or segments written before line tables.
    tables = [(si, shard, seg.load_lines(shard)) for si, seg in enumerate(segments) for shard in seg.shards()
              if seg.lines(shard).exists()]
    for _, _, table in tables:
        stats.add(table)
    before = stats.learned_pairs()
    stats.merge(new)
    learned = stats.learned()
    after = {(src, int(k, 16)) for src, keys in learned.items() for k in keys}
    plan = plan_reclean(segments, tables, before, after, Path(staging), cfg.run.shard_size)
    return learned, plan, repair


@task(name="clean", persist_result=False, cache_policy=NO_CACHE)
def clean(shards: list[str], staging: str, cfg: Config, learned: dict[int, frozenset[str]], reclean: Reclean,
          progress=None) -> tuple[ShardStats, ShardStats]:
    """Pass 2 over the new shards (``NNNNN``) and the articles cleaned again
    (``rNNNNN``, no line table: theirs stays where they were first read);
    the statistics of each."""
    log = logger()
    # Sent to every worker once, not with each shard (the configuration too,
    # as in learn_boilerplate).
    ex = executors.current()
    shared, shared_cfg = ex.share(learned), ex.share(cfg)
    argsets = [(s, str(Path(staging) / f"{i:05d}"), shared_cfg, shared, cfg.report.examples) for i, s in enumerate(shards)]
    argsets += [(s, str(Path(staging) / f"r{i:05d}"), shared_cfg, shared, 0, False) for i, s in enumerate(reclean.shards)]
    parts = _map(clean_shard, argsets, "clean", progress, gather=False)
    # The new shards' statistics and those of the articles cleaned again,
    # each reduced in shard order; the last merge keeps the top lines only.
    new = tree_reduce(merge_shard_stats, parts[:len(shards)], "merge statistics", cfg.report.examples)
    old = tree_reduce(merge_shard_stats, parts[len(shards):], "merge statistics", cfg.report.examples)
    total, again = ex.call(merge_stats, new + old, len(new), cfg.report.examples,
                           cfg.report.top_removed_lines * 5)
    log.info(
        "cleaned %d articles: %d passed the gates, dropped %s; %d lines removed (%s); %d earlier articles cleaned again",
        total.articles, total.candidates, dict(total.dropped) or "none",
        sum(v for k, v in total.edits.items() if k not in ("mojibake", "markdown")),
        ", ".join(f"{k} {v}" for k, v in [kv for kv in total.edits.most_common() if kv[0] not in ("mojibake", "markdown")][:6]),
        again.articles,
    )
    return total, again


def merge_shard_stats(parts: list[ShardStats], examples: int) -> ShardStats:
    """Several shards' statistics as one, in the order given (ShardStats.merge:
    counters add up, the ``examples`` first examples in its order stay)."""
    total = ShardStats()
    for part in parts:
        total.merge(part, max_examples=examples)
    return total


def merge_stats(parts: list[ShardStats], new: int, examples: int, top_lines: int) -> tuple[ShardStats, ShardStats]:
    """The statistics of the new shards (the first ``new`` of ``parts``) and
    of the articles cleaned again, merged where the shards' statistics are;
    only the ``top_lines`` most removed lines travel on (all the run record
    keeps of them), not one entry per distinct line of the corpus."""
    total, again = ShardStats(), ShardStats()
    for k, part in enumerate(parts):
        (total if k < new else again).merge(part, max_examples=examples)
    for stats in (total, again):
        stats.removed_lines = Counter(dict(sorted(stats.removed_lines.items(), key=lambda kv: (-kv[1], kv[0]))[:top_lines]))
    return total, again
