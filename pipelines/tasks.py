"""The flow's steps over new input: read, learn boilerplate, clean.

Each is a Prefect task in an orchestrated run and a plain function call in
a local one (:func:`step`); the shard work inside them goes to the run's
executor (:mod:`pipelines.executors`).
"""

from __future__ import annotations

import json
import logging
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

from . import executors
from .config import Config
from .readers import Rejected, content_hash, quarantine_ids, read_documents_at, scan
from .stages import ShardStats, clean_shard, learn_shard, position
from .store import Segment, State, dumps, index_line, write_jsonl

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
    if orchestrated():
        return step(*args)
    return step.fn(*(a.unwrap() if isinstance(a, quote) else a for a in args))


# Progress callback of a run whose shard tasks go to a Prefect task runner
# (set by the flow):
# Prefect serialises the parameters of the enclosing flow and task for every
# submitted task, and a progress bar (locks, a terminal) does not pickle.
PROGRESS_HOOK: Callable[[str, int, int], None] | None = None


def _map(fn: Callable, argsets: list[tuple], label: str, progress) -> list:
    return executors.current().map(fn, argsets, label, progress or PROGRESS_HOOK)



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
def read_input(input_path: str, staging: str, cfg: Config, seen: dict[str, tuple[str, str]],
               on_shard: Callable[[int, str], None] | None = None) -> ReadResult:
    """Stream every document of the input into shard files; quarantine what
    cannot be read; skip documents earlier runs already processed.
    ``on_shard(index, path)`` is called as each shard is complete.

    One rule of identity holds within a run and across runs (``seen``: id ->
    (content hash, kind) of what earlier runs read): an id belongs to the
    first valid record that claims it. A later record with that id and the
    same content is the same document (skipped as already processed); with
    other content it is quarantined as a duplicate id, in this run exactly as
    if both had come in one run, and listed in the run record. A quarantined
    record never takes an id a valid record holds (in this run or the
    corpus): it is renamed ``<id> (quarantined at <path>:<line>)``. A valid
    record may take over the id of a record quarantined earlier (the repaired
    version of a broken line)."""
    log = logger()
    found = scan(input_path)
    for rel in found.outputs:
        log.warning("skipped %s/: a newsclean output folder, never read as input", rel)
    for rel in found.skipped:
        log.warning("skipped %s: unsupported file type (newsclean reads .txt, .jsonl(.gz), .html/.htm(.gz), .warc(.gz))", rel)
    staging_dir = Path(staging)
    shards: list[str] = []
    buf: list[str] = []
    rejected_docs: list[Rejected] = []
    rejected_pos: list[list] = []
    valid_ids: set[str] = set()
    conflicts: list[dict] = []
    counts = Counter()
    pages = 0  # HTML pages in buf: extraction makes them costly, so shards of them are smaller

    def flush() -> None:
        nonlocal pages
        pages = 0
        if buf:
            path = staging_dir / f"raw-{len(shards):05d}.jsonl"
            with open(path, "w", encoding="utf-8") as fh:
                fh.write("\n".join(buf) + "\n")
            shards.append(str(path))
            buf.clear()
            if on_shard is not None:
                on_shard(len(shards) - 1, str(path))

    place = ["", 0]
    for doc, path, line in read_documents_at(found, cfg.input.max_file_bytes):
        counts["documents"] += 1
        # The order of the outputs (pipelines.stages.position): the file, then
        # the document's place in it, whichever run reads it.
        place = [path, place[1] + 1 if place[0] == path else 0]
        if isinstance(doc, Rejected):
            rejected_docs.append(doc)  # named once every valid id is known
            rejected_pos.append(place)
            continue
        chash = content_hash(doc.text if doc.html is None else doc.html + "\x00" + doc.text, doc.title)
        previous = seen.get(doc.id)
        valid_ids.add(doc.id)
        if previous is not None and previous[0] == chash:
            counts["unchanged"] += 1
            continue
        if previous is not None and previous[1] != "rejected":
            where = f"{path}:{line}" if line is not None else path
            rejected_docs.append(Rejected(where, f"duplicate id {doc.id!r}: an earlier run already holds a different document "
                                                 "under this id (the first record of an id keeps it)", path, line))
            rejected_pos.append(place)
            conflicts.append({"id": doc.id, "quarantined_as": where})
            continue
        counts["updated" if previous else "new"] += 1
        buf.append(dumps({"article": doc.to_dict(), "hash": chash, "pos": place}))
        pages += doc.html is not None
        if len(buf) >= cfg.run.shard_size or pages >= cfg.extract.shard_pages:
            flush()
    flush()
    rejected_rows: list[dict] = []
    index_rej: list[str] = []
    quarantine_ids(rejected_docs, valid_ids, lambda i: seen.get(i, ("", "rejected"))[1] != "rejected")
    for doc, pos in zip(rejected_docs, rejected_pos):
        chash = content_hash(doc.detail + doc.raw, doc.path)
        if seen.get(doc.id, ("",))[0] == chash:
            counts["unchanged"] += 1
            continue
        log.warning("quarantined %s: %s", doc.id, doc.detail)
        rejected_rows.append({**doc.to_dict(), "_pos": pos})
        index_rej.append(index_line(doc.id, chash, "rejected"))
        counts["rejected"] += 1
    write_jsonl(staging_dir / "rejected.jsonl", rejected_rows)
    with open(staging_dir / "rejected.index.tsv", "w", encoding="utf-8") as fh:
        fh.write("".join(line + "\n" for line in index_rej))
    log.info(
        "read %d documents from %d files: %d new, %d updated, %d already processed, %d quarantined, %d files skipped",
        counts["documents"], len(found.files), counts["new"], counts["updated"], counts["unchanged"], counts["rejected"], len(found.skipped),
    )
    if found.not_articles:
        log.info("records that are no articles, counted and left out: %s", dict(sorted(found.not_articles.items())))
    return ReadResult(shards, counts["rejected"], counts["documents"], counts["new"], counts["updated"], counts["unchanged"],
                      found.skipped, len(found.files), conflicts, dict(sorted(found.not_articles.items())))


class Learner:
    """Pass 1 (extract, repair, count lines) on shards while the read step is
    still writing them, on the worker pool (which is otherwise idle while the
    main process reads). Every shard is learned from: the statistics are
    exact, so that runs in slices learn what one run over everything learns.
    The repaired articles land in the segment's staging folder
    (``NNNNN.repaired.jsonl``): pass 2 reads them, and later runs clean them
    again from there."""

    def __init__(self, cfg: Config, staging: Path):
        self.cfg = cfg
        self.staging = staging
        self.started: dict[int, Any] = {}  # shard index -> future

    def repaired(self, index: int) -> str:
        return str(self.staging / f"{index:05d}.repaired.jsonl")

    def shard_ready(self, index: int, path: str) -> None:
        # Only where the executor already runs workers (never for the
        # "prefect" executor or one worker: see Executor.submit).
        future = executors.current().submit(learn_shard, path, self.cfg, self.repaired(index))
        if future is not None:
            self.started[index] = future

    def results(self, shards: list[str], progress=None) -> list[tuple[SourceLineStats, Counter]]:
        """What pass 1 found in each shard, in shard order."""
        missing = [i for i in range(len(shards)) if i not in self.started]
        done = dict(zip(missing, _map(learn_shard, [(shards[i], self.cfg, self.repaired(i)) for i in missing], "learn", progress)))
        for i, future in sorted(self.started.items()):
            done[i] = future.result()
        return [done[i] for i in range(len(shards))]


@dataclass
class Reclean:
    """Articles of earlier runs cleaned again because this run changed the
    learned status of a line they hold (see :func:`plan_reclean`)."""

    shards: list[str] = field(default_factory=list)  # input files of pass 2, in staging
    ids: set[str] = field(default_factory=set)
    because: Counter = field(default_factory=Counter)  # line_learned / line_unlearned -> articles
    lines: Counter = field(default_factory=Counter)  # learned / unlearned -> (source, line) pairs
    sources: Counter = field(default_factory=Counter)  # source -> articles

    def record(self) -> dict[str, Any]:
        return {"articles": len(self.ids), "because": dict(sorted(self.because.items())),
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
                    plan.ids.add(art["article"]["id"])
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
def learn_boilerplate(shards: list[str], staging: str, cfg: Config, state: State, learner: Learner,
                      progress=None) -> tuple[dict[int, frozenset[str]], Reclean, Counter]:
    """Pass 1 over every new shard, then the exact statistics of every run
    so far: the lines learned per source (what pass 2 removes), the earlier
    articles to clean again because this run changed what is learned, and
    the seconds spent extracting and repairing (pass 2 does not again)."""
    log = logger()
    b = cfg.boilerplate
    repair = Counter()  # seconds per stage (extract, repair)
    new = SourceLineStats(b.learn_min_articles, b.learn_min_share)
    for part, seconds in learner.results(shards, progress):
        new.merge(part)
        repair.update(seconds)
    if not b.learn or not shards:
        return {}, Reclean(), repair
    stats = SourceLineStats(b.learn_min_articles, b.learn_min_share)
    # Shards without a table: articles cleaned again (theirs is where they
    # were first read), or segments written before line tables.
    tables = [(si, shard, seg.load_lines(shard)) for si, seg in enumerate(state.segments) for shard in seg.shards()
              if seg.lines(shard).exists()]
    for _, _, table in tables:
        stats.add(table)
    before = stats.learned_pairs()
    stats.merge(new)
    learned = stats.learned()
    after = {(src, int(k, 16)) for src, keys in learned.items() for k in keys}
    plan = plan_reclean(state.segments, tables, before, after, Path(staging), cfg.run.shard_size)
    log.info("learned %d boilerplate lines over %d sources (%d newly learned, %d no longer); %d earlier articles to clean again",
             len(after), len(learned), plan.lines["learned"], plan.lines["unlearned"], len(plan.ids))
    return learned, plan, repair


@task(name="clean", persist_result=False, cache_policy=NO_CACHE)
def clean(shards: list[str], staging: str, cfg: Config, learned: dict[int, frozenset[str]], reclean: Reclean,
          progress=None) -> tuple[ShardStats, ShardStats]:
    """Pass 2 over the new shards (``NNNNN``) and the articles cleaned again
    (``rNNNNN``, no line table: theirs stays where they were first read);
    the statistics of each."""
    log = logger()
    # Sent to every worker once, not with each shard.
    shared = executors.current().share(learned)
    argsets = [(s, str(Path(staging) / f"{i:05d}"), cfg, shared, cfg.report.examples) for i, s in enumerate(shards)]
    argsets += [(s, str(Path(staging) / f"r{i:05d}"), cfg, shared, 0, False) for i, s in enumerate(reclean.shards)]
    total, again = ShardStats(), ShardStats()
    for k, part in enumerate(_map(clean_shard, argsets, "clean", progress)):
        (total if k < len(shards) else again).merge(part, max_examples=cfg.report.examples)
    log.info(
        "cleaned %d articles: %d passed the gates, dropped %s; %d lines removed (%s); %d earlier articles cleaned again",
        total.articles, total.candidates, dict(total.dropped) or "none",
        sum(v for k, v in total.edits.items() if k not in ("mojibake", "markdown")),
        ", ".join(f"{k} {v}" for k, v in [kv for kv in total.edits.most_common() if kv[0] not in ("mojibake", "markdown")][:6]),
        again.articles,
    )
    return total, again
