"""The newsclean Prefect flow: a recipe of a few large tasks.

    read ─► learn boilerplate ─► clean (shards in parallel) ─► deduplicate ─► write ─► report

Each task handles whole shards (thousands of articles), because a Prefect
task run costs tens of milliseconds of orchestration. Shard work runs either
in a local process pool inside the task (``executor = "processes"``, the
default: uses every core with no per-shard orchestration) or as one Prefect
task per shard on the configured task runner (``executor = "prefect"``, e.g.
``task_runner = "dask"`` to spread shards over a cluster).
"""

from __future__ import annotations

import atexit
import heapq
import json
import logging
import multiprocessing
import os
import shutil
import signal
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from prefect import flow, get_run_logger, task
from prefect.context import FlowRunContext
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import ExternalSignal
from prefect.utilities.annotations import quote

from cleaners.boilerplate import SourceLineStats
from cleaners.dedup import SIGNATURE_VERSION, cluster, rank_key

from . import report as report_mod
from . import runtime
from .errors import is_disk_error, report_once
from .config import Config, load_config
from .readers import Rejected, content_hash, quarantine_ids, read_documents_at, scan
from .stages import ShardStats, check_model, clean_shard, learn_shard, position, warm_up
from .formats.writers import WRITERS, output_path, write_corpus
from .store import (RUN_RECORD, OutputLock, write_error, Segment, State, StateError, clear_stale, commit_generation,
                    current_generation, dumps, index_line,
                    new_generation, prune_generations, read_jsonl, write_json, write_jsonl)


# --------------------------------------------------------------------------
# Running shard functions on the configured executor


def _workers(cfg: Config) -> int:
    return cfg.run.workers or os.cpu_count() or 1


# One process pool serves every shard step of a run (learning, then
# cleaning): workers start once, load the language models once, and can be
# started early so that this overlaps the read step in the main process.
_POOL: ProcessPoolExecutor | None = None
# Bytes of input per shard below which starting workers early is not worth it
# (a run of one shard is cleaned in the main process).
_EARLY_START_BYTES_PER_SHARD = 1000


def _noop() -> None:
    return None


# A run is orchestrated by Prefect (a flow run on an API server, its steps
# task runs) or local: the same steps called as plain functions, logging to
# stderr, no server (see run_newsclean).
def _orchestrated() -> bool:
    return FlowRunContext.get() is not None


def _logger() -> logging.Logger | logging.LoggerAdapter:
    return get_run_logger() if _orchestrated() else logging.getLogger("newsclean")


def _step(step, *args):
    """Call a flow step: as a Prefect task run inside a flow run; in a local
    run, its function with the arguments ``quote()`` wrapped unwrapped."""
    if _orchestrated():
        return step(*args)
    return step.fn(*(a.unwrap() if isinstance(a, quote) else a for a in args))


def start_workers(cfg: Config, input_path: str | None = None) -> None:
    """Start the worker processes now if the run will use them: when the
    input (``input_path``) holds more than one shard's worth of bytes, or
    unconditionally when ``input_path`` is None. Each worker warms up (see
    :func:`pipelines.stages.warm_up`) while the caller goes on. Cheap once
    the pool runs: the input is only measured when there is none."""
    global _POOL
    workers = _workers(cfg)
    if _POOL is not None or cfg.run.executor != "processes" or workers <= 1:
        return
    if input_path is not None and _input_bytes(input_path) < cfg.run.shard_size * _EARLY_START_BYTES_PER_SHARD:
        return
    # forkserver: the parent runs Prefect's threads, which fork() would copy
    # in an undefined state.
    ctx = multiprocessing.get_context("forkserver")
    # The fork server loads the models once and every worker inherits them
    # (pipelines/preload.py); it reads the configuration from the
    # environment it starts with.
    os.environ["NEWSCLEAN_PRELOAD_CONFIG"] = cfg.path
    # Whom the fork server is tied to, known before it starts: a run killed
    # before the server runs its preload must still end it (its parent is by
    # then another process).
    os.environ["NEWSCLEAN_RUN_PID"] = str(os.getpid())
    ctx.set_forkserver_preload(["pipelines.preload"])
    _POOL = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init, initargs=(cfg,))
    for _ in range(workers):  # the pool spawns its processes on first use
        _POOL.submit(_noop)


def _input_bytes(path: str) -> int:
    try:
        p = Path(path)
        return p.stat().st_size if p.is_file() else sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
    except OSError:
        return 0


def _worker_init(cfg: Config) -> None:
    # Ctrl-C reaches the whole process group; the run, not each worker,
    # decides what it means (and a worker must not die printing a traceback).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    runtime.tie_to_parent(run=int(os.environ.get("NEWSCLEAN_RUN_PID") or 0) or None)
    warm_up(cfg)


def stop_workers(kill: bool = False) -> None:
    """Shut the pool down: let running shards finish, or with ``kill`` end
    the workers at once (an interrupted run)."""
    global _POOL
    pool, _POOL = _POOL, None
    if pool is None:
        return
    if not kill:
        pool.shutdown(wait=True, cancel_futures=True)
        return
    procs = list((getattr(pool, "_processes", None) or {}).values())
    for p in procs:
        p.terminate()
    runtime.end_fork_server()
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        p.join(timeout=2)
        if p.is_alive():
            p.kill()


# What the current run has made durable so far, for the line an interrupted
# run prints: the segment of its input, then the generation of its outputs.
COMMITTED: dict[str, Any] = {}


atexit.register(lambda: stop_workers())


def task_runner(cfg: Config):
    """The Prefect task runner named by ``[run] task_runner``, sized by
    ``workers``; used for shard tasks when ``executor = "prefect"``."""
    from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

    kind, workers = cfg.run.task_runner, _workers(cfg)
    if kind == "thread":
        return ThreadPoolTaskRunner(max_workers=workers)
    if kind == "process":
        return ProcessPoolTaskRunner(max_workers=workers)
    if kind == "dask":
        try:
            from prefect_dask import DaskTaskRunner
        except ImportError as exc:
            raise RuntimeError("task_runner = \"dask\" needs the dask extra: pip install 'newsclean[dask]'") from exc
        if cfg.run.dask_address:
            return DaskTaskRunner(address=cfg.run.dask_address)
        # Processes, one thread each: the cleaners hold the GIL.
        return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True})
    raise ValueError(f"[run] task_runner must be \"thread\", \"process\" or \"dask\", not {kind!r}")


# Shard functions as Prefect tasks, for ``executor = "prefect"``. Defined
# here at module level so that process and Dask task runners can pickle them
# by reference.
@task(name="learn shard", persist_result=False, cache_policy=NO_CACHE)
def learn_shard_task(*args):
    return learn_shard(*args)


@task(name="clean shard", persist_result=False, cache_policy=NO_CACHE)
def clean_shard_task(*args):
    return clean_shard(*args)


_SHARD_TASKS = {learn_shard: learn_shard_task, clean_shard: clean_shard_task}
# Progress callback of a run whose shard tasks go to a Prefect task runner:
# Prefect serialises the parameters of the enclosing flow and task for every
# submitted task, and a progress bar (locks, a terminal) does not pickle.
_PROGRESS_HOOK: Callable[[str, int, int], None] | None = None


def _map(fn: Callable, argsets: Sequence[tuple], cfg: Config, label: str, progress: Callable[[str, int, int], None] | None) -> list:
    """Run ``fn(*args)`` for every argument tuple, results in input order."""
    progress = progress or _PROGRESS_HOOK
    total = len(argsets)
    if progress:
        progress(label, 0, total)
    if cfg.run.executor == "prefect":
        futures = [_SHARD_TASKS[fn].submit(*args) for args in argsets]
    elif total > 1 and _workers(cfg) > 1:
        start_workers(cfg)
        futures = [_POOL.submit(fn, *args) for args in argsets]
    else:
        futures = None
    results = []
    for i, args in enumerate(argsets, 1):
        results.append(futures[i - 1].result() if futures else fn(*args))
        if progress:
            progress(label, i, total)
    return results


# --------------------------------------------------------------------------
# Tasks


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
    log = _logger()
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
        # Only on a pool the run already started (so never for the "prefect"
        # executor or one worker): a one-shard run is cleaned in the main
        # process, and starting workers for it costs more.
        if _POOL is not None:
            self.started[index] = _POOL.submit(learn_shard, path, self.cfg, self.repaired(index))

    def results(self, shards: list[str], progress=None) -> list[tuple[SourceLineStats, Counter]]:
        """What pass 1 found in each shard, in shard order."""
        missing = [i for i in range(len(shards)) if i not in self.started]
        done = dict(zip(missing, _map(learn_shard, [(shards[i], self.cfg, self.repaired(i)) for i in missing], self.cfg, "learn",
                                      progress)))
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
    log = _logger()
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
    log = _logger()
    argsets = [(s, str(Path(staging) / f"{i:05d}"), cfg, learned, cfg.report.examples) for i, s in enumerate(shards)]
    argsets += [(s, str(Path(staging) / f"r{i:05d}"), cfg, learned, 0, False) for i, s in enumerate(reclean.shards)]
    total, again = ShardStats(), ShardStats()
    for k, part in enumerate(_map(clean_shard, argsets, cfg, "clean", progress)):
        (total if k < len(shards) else again).merge(part, max_examples=cfg.report.examples)
    log.info(
        "cleaned %d articles: %d passed the gates, dropped %s; %d lines removed (%s); %d earlier articles cleaned again",
        total.articles, total.candidates, dict(total.dropped) or "none",
        sum(v for k, v in total.edits.items() if k not in ("mojibake", "markdown")),
        ", ".join(f"{k} {v}" for k, v in [kv for kv in total.edits.most_common() if kv[0] not in ("mojibake", "markdown")][:6]),
        again.articles,
    )
    return total, again


@dataclass
class DedupResult:
    # id -> (canonical id, similarity, containment, exact, relation) for every
    # active candidate (relation: one of cleaners.dedup.RELATIONS)
    assignment: dict[str, tuple[str, float, float, bool, str]] = field(default_factory=dict)
    # id -> (segment index, kind) of the latest version of every document
    latest: dict[str, tuple[int, str]] = field(default_factory=dict)
    clusters: int = 0
    candidate_pairs: int = 0
    verified_pairs: int = 0


def _latest_versions(segments: list[Segment]) -> dict[str, tuple[int, str]]:
    latest: dict[str, tuple[int, str]] = {}
    for i, seg in enumerate(segments):
        for doc_id, _chash, kind in seg.read_index():
            latest[doc_id] = (i, kind)
    return latest


@task(name="deduplicate", persist_result=False, cache_policy=NO_CACHE)
def deduplicate(segments: list[Segment], cfg: Config, enabled: bool) -> DedupResult:
    """Cluster every active candidate of every run so far: the clusters are
    those a single run over all input would give."""
    log = _logger()
    latest = _latest_versions(segments)
    ids: list[str] = []
    ranks: list[tuple] = []
    exact: list[str] = []
    shingles: list[int] = []
    sigs: list[np.ndarray] = []
    ents: list[bytes] = []
    n_ents: list[int] = []
    places: list[tuple] = []
    for si, seg in enumerate(segments):
        for shard in seg.shards():
            rows = list(read_jsonl(seg.candidates(shard)))
            if not rows:
                continue
            keep = [k for k, r in enumerate(rows) if latest.get(r["id"]) == (si, "candidate")]
            if not keep:
                continue
            sig = seg.load_signatures(shard, len(rows), cfg.dedup.num_perm)
            sigs.append(sig[keep])
            for k in keep:
                r = rows[k]
                d = r["_dedup"]
                ids.append(r["id"])
                places.append(position(r.get("_pos"), r["id"]))
                ranks.append(rank_key(d["words"], r.get("published"), r["id"]))
                exact.append(d["exact"])
                shingles.append(d["shingles"])
                ents.append(bytes.fromhex(d["entities"]))
                n_ents.append(d["n_entities"])
    result = DedupResult(latest=latest)
    if not enabled or not ids:
        result.assignment = {i: (i, 1.0, 1.0, False, "canonical") for i in ids}
        result.clusters = len(ids)
        return result
    # In output order, so that clustering sees the same input however the
    # articles arrived (runs, shards, articles cleaned again).
    order = sorted(range(len(ids)), key=places.__getitem__)
    ids, ranks, exact = [ids[k] for k in order], [ranks[k] for k in order], [exact[k] for k in order]
    shingles, n_ents = [shingles[k] for k in order], [n_ents[k] for k in order]
    signatures = np.concatenate(sigs)[order]
    entities = np.frombuffer(b"".join(ents), dtype=np.uint32).reshape(len(ids), -1)[order]
    c = cluster(signatures, np.array(shingles), exact, ranks, cfg.dedup.params(), entities, np.array(n_ents))
    result.assignment = {
        ids[k]: (ids[int(c.canonical[k])], round(float(c.similarity[k]), 4), round(float(c.containment[k]), 4), bool(c.exact[k]),
                 c.relation_name(k))
        for k in range(len(ids))
    }
    result.clusters = int(len(set(c.canonical.tolist())))
    result.candidate_pairs, result.verified_pairs = c.candidate_pairs, c.verified_pairs
    dups = len(ids) - result.clusters
    log.info(
        "deduplicated %d articles into %d clusters: %d duplicates (%d exact); %d LSH candidate pairs, %d verified",
        len(ids), result.clusters, dups, int(c.exact.sum()), c.candidate_pairs, c.verified_pairs,
    )
    return result


OUTPUT_FIELDS = ("id", "title", "text", "language", "language_prob", "url", "source", "published", "author", "sitename",
                 "duplicates", "edits", "flags", "raw_chars")


@task(name="write outputs", persist_result=False, cache_policy=NO_CACHE)
def write_outputs(segments: list[Segment], dedup: DedupResult, output: str, generation: str,
                  formats: Sequence[str] = ("jsonl",)) -> dict[str, Any]:
    """Write the articles and dropped entries of the whole corpus in every
    output format (``articles.jsonl``, ``dropped.jsonl``, ``.parquet`` ...,
    see :mod:`pipelines.formats.writers`) into the new generation folder
    (made current once the report is in it too)."""
    log = _logger()
    out = Path(output)
    gen = Path(generation)
    members: dict[str, list[dict]] = {}
    for doc_id, (canon, sim, cont, ex, rel) in dedup.assignment.items():
        if canon != doc_id:
            members.setdefault(canon, []).append({"id": doc_id, "similarity": sim, "containment": cont, "exact": ex,
                                                  "relation": rel})
    for lst in members.values():
        lst.sort(key=lambda m: (-m["similarity"], m["id"]))

    # What the previous run kept lives under state/ (the outputs are views
    # a user may delete or convert); folders from before it fall back on
    # the JSONL output.
    kept_path = out / "state" / "kept.json"
    if kept_path.exists():
        previously_kept = set(json.loads(kept_path.read_text(encoding="utf-8")))
    else:
        previously_kept = {r["id"] for r in read_jsonl(out / "articles.jsonl")}

    def articles():
        def shard_rows(si: int, seg: Segment, shard: str):
            for row in read_jsonl(seg.candidates(shard)):
                a = dedup.assignment.get(row["id"])
                if dedup.latest.get(row["id"]) != (si, "candidate") or a is None or a[0] != row["id"]:
                    continue
                row["duplicates"] = members.get(row["id"], [])
                yield position(row.get("_pos"), row["id"]), {k: row.get(k) for k in OUTPUT_FIELDS}

        # Every shard file is in output order: merged, they are too.
        streams = [shard_rows(si, seg, shard) for si, seg in enumerate(segments) for shard in seg.shards()]
        for _, row in heapq.merge(*streams, key=lambda item: item[0]):
            yield row

    def shard_dropped(si: int, seg: Segment, shard: str) -> list[tuple[tuple, dict]]:
        filtered = {r["id"]: r for r in read_jsonl(seg.filtered(shard))}
        places = {r["id"]: position(r.get("_pos"), r["id"]) for r in read_jsonl(seg.candidates(shard))
                  if dedup.assignment.get(r["id"], (r["id"],))[0] != r["id"]}
        out = []
        for doc_id, _h, kind in seg.shard_index(shard):
            if dedup.latest.get(doc_id) != (si, kind):
                continue
            if kind == "filtered":
                if doc_id not in filtered:
                    raise StateError(f"{seg.filtered(shard)}: no line for {doc_id!r}, which its index lists")
                row = filtered[doc_id]
                out.append((position(row.pop("_pos", None), doc_id), row))
            elif kind == "candidate":
                canon, sim, cont, ex, rel = dedup.assignment[doc_id]
                if canon != doc_id:
                    how = "exact copy" if ex else f"{rel.replace('_', ' ')}, similarity {sim:.2f}, containment {cont:.2f}"
                    out.append((places[doc_id], {"id": doc_id, "reason": "duplicate", "detail": f"duplicate of {canon} ({how})",
                                                 "canonical": canon, "similarity": sim, "containment": cont, "relation": rel}))
        return sorted(out, key=lambda item: item[0])

    def dropped():
        streams = []
        for si, seg in enumerate(segments):
            rejected = [(position(row.pop("_pos", None), row["id"]), row) for row in read_jsonl(seg.rejected)
                        if dedup.latest.get(row["id"], (si,))[0] == si]
            streams.append(sorted(rejected, key=lambda item: item[0]))
            streams += [shard_dropped(si, seg, shard) for shard in seg.shards()]
        for _, row in heapq.merge(*streams, key=lambda item: item[0]):
            yield row

    counts = write_corpus(gen, formats, {"articles": articles, "dropped": dropped})
    n_kept, n_dropped = counts["articles"], counts["dropped"]
    kept_now = {doc_id for doc_id, a in dedup.assignment.items() if a[0] == doc_id}
    if segments:
        write_json(kept_path, sorted(kept_now))
    # Articles kept before that a more complete copy has now replaced.
    replaced = sorted(
        (old, dedup.assignment[old][0])
        for old in previously_kept
        if old in dedup.assignment and dedup.assignment[old][0] != old
    )
    log.info("wrote %d articles and %d dropped entries to %s (%s)", n_kept, n_dropped, out, ", ".join(formats))
    dup_of = {doc_id: a[0] for doc_id, a in dedup.assignment.items() if a[0] != doc_id}
    return {"kept": n_kept, "dropped": n_dropped, "kept_ids": kept_now, "dup_of": dup_of,
            "replaced": [{"old": o, "new": n} for o, n in replaced]}


# --------------------------------------------------------------------------
# The flow


@flow(name="newsclean", log_prints=False, persist_result=False)
def newsclean_flow(
    input_path: str = "raw",
    output: str = "clean",
    config_path: str | None = None,
    dedup: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Clean a folder (or file) of scraped news into a canonical corpus."""
    # The whole run holds the output folder (see pipelines.store.OutputLock).
    with OutputLock(output):
        try:
            return _run(input_path, output, config_path, dedup, progress)
        except OSError as exc:  # a full disk, a read-only folder: the file and what to do, in one line
            if is_disk_error(exc):
                raise write_error(exc, exc.filename or output) from exc
            raise


def _run(input_path: str, output: str, config_path: str | None, dedup: bool,
         progress: Callable[[str, int, int], None] | None) -> dict[str, Any]:
    log = _logger()
    from prefect.runtime import flow_run

    COMMITTED["flow_run_id"] = flow_run.id
    started = datetime.now(timezone.utc)
    run_id = started.strftime("%Y%m%dT%H%M%S%fZ")
    t_start = time.perf_counter()
    cfg = load_config(config_path)
    check_model(cfg)  # before any input is read
    dedup = dedup and cfg.dedup.enabled
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    state = State.open(out)
    removed = clear_stale(out, state.manifest.get("segments", []))
    if removed:
        log.info("removed %d file(s) left by an interrupted run: %s", len(removed), ", ".join(removed[:5]))
    dedup_params = {"num_perm": cfg.dedup.num_perm, "shingle_size": cfg.dedup.shingle_size, "scheme": "affine32", "seed": 1,
                    "signature_version": SIGNATURE_VERSION}
    state.check_params(dedup_params)

    seg_name = state.next_segment_name()
    # A name of this run's own: no other run's staging is ever touched.
    staging = state.root / f".staging-{run_id}"
    staging.mkdir(parents=True)
    timings: dict[str, float] = {}

    start_workers(cfg, str(input_path))
    t = time.perf_counter()
    # quote(): Prefect walks every element of a task's arguments (twice) to
    # find upstream futures; over a 20,000-article run's dicts that walk cost
    # more than deduplicating. These arguments never hold futures.
    learner = Learner(cfg, staging)
    read = _step(read_input, str(input_path), str(staging), cfg, quote(state.seen()), quote(learner.shard_ready))
    timings["read"] = time.perf_counter() - t

    t = time.perf_counter()
    learned, reclean, learn_repair = _step(learn_boilerplate, read.shards, str(staging), cfg, quote(state), quote(learner),
                                           progress)
    timings["learn"] = time.perf_counter() - t

    t = time.perf_counter()
    repaired = [learner.repaired(i) for i in range(len(read.shards))]
    stats, again = _step(clean, repaired, str(staging), cfg, quote(learned), quote(reclean), progress)
    timings["clean"] = time.perf_counter() - t
    stats.timings.update(learn_repair)
    stop_workers()
    for raw in read.shards + reclean.shards:
        os.unlink(raw)

    new_data = read.new + read.updated + read.rejected > 0
    if new_data:
        state.commit_segment(staging, seg_name, dedup_params)
        COMMITTED["segment"] = seg_name
    else:
        shutil.rmtree(staging)

    t = time.perf_counter()
    result = _step(deduplicate, quote(state.segments), cfg, dedup)
    timings["dedup"] = time.perf_counter() - t

    t = time.perf_counter()
    standing = None if new_data else _standing_outputs(out, cfg, dedup, len(state.segments))
    if standing is not None:
        # Nothing to write: the current outputs and report stand (this run
        # would write the same bytes); the record below lists the run.
        gen = current_generation(out)
        written = {"kept": standing["counts"]["corpus_kept"], "dropped": standing["counts"]["corpus_dropped"],
                   "kept_ids": set(), "dup_of": {}, "replaced": []}
        log.info("nothing new since run %s with the same configuration: its outputs and report stand", standing["run_id"])
    else:
        gen = new_generation(out, run_id)
        written = _step(write_outputs, quote(state.segments), quote(result), str(out), str(gen), cfg.output.formats)
    timings["write"] = time.perf_counter() - t

    seg_idx = len(state.segments) - 1 if new_data else None

    def added(doc_id: str) -> bool:  # read by this run (not one of the articles it cleaned again)
        return seg_idx is not None and result.latest.get(doc_id, (None,))[0] == seg_idx and doc_id not in reclean.ids

    added_kept = sorted(i for i in written["kept_ids"] if added(i))
    record = {
        "run_id": run_id,
        "started": started.isoformat(),
        "finished": datetime.now(timezone.utc).isoformat(),
        "input": str(input_path),
        "output": str(out),
        "config": cfg.path,
        "config_hash": cfg.digest(),
        "dedup": dedup,
        "segment": seg_name if new_data else None,
        # What the outputs this run leaves current were written from.
        "generation": gen.name,
        "state_segments": len(state.segments),
        "files": read.files,
        "skipped_files": read.skipped_files,
        "not_articles": read.not_articles,
        "counts": {
            "documents": read.documents,
            "new": read.new,
            "updated": read.updated,
            "unchanged": read.unchanged,
            "quarantined": read.rejected,
            "cleaned": stats.articles,
            "passed_gates": stats.candidates,
            "dropped": dict(sorted(stats.dropped.items())),
            "corpus_kept": written["kept"],
            "corpus_dropped": written["dropped"],
            "clusters": result.clusters,
            "lsh_candidate_pairs": result.candidate_pairs,
            "lsh_verified_pairs": result.verified_pairs,
            "duplicates": len(result.assignment) - result.clusters,
        },
        "edits": dict(stats.edits.most_common()),
        "edits_by_source": {s: dict(c.most_common()) for s, c in sorted(stats.edits_by_source.items())},
        "words_before": dict(sorted(stats.words_before.items())),
        "words_removed": dict(sorted(stats.words_removed.items())),
        "removed_lines": [
            {"source": s, "reason": r, "line": line, "count": n}
            for (s, r, line), n in sorted(stats.removed_lines.items(), key=lambda kv: (-kv[1], kv[0]))[: cfg.report.top_removed_lines * 5]
        ],
        "languages": dict(stats.languages.most_common()),
        "replaced_canonicals": written["replaced"],
        "id_conflicts": read.id_conflicts,
        "examples": stats.examples,
        "added": {"kept": added_kept, "duplicates": [
            {"id": i, "canonical": c} for i, c in sorted(written["dup_of"].items()) if added(i)]},
        "recleaned": {**reclean.record(), "passed_gates": again.candidates, "dropped": dict(sorted(again.dropped.items()))},
        "timings": {"wall": round(time.perf_counter() - t_start, 3), **{k: round(v, 3) for k, v in timings.items()}},
        "stage_seconds": {k: round(v, 3) for k, v in sorted(stats.timings.items())},
        "prefect": _prefect_context() if _orchestrated() else None,
    }
    t = time.perf_counter()
    # The record is committed with the outputs it describes (in their
    # generation), and copied to runs/ once they are current.
    if standing is None:
        report_mod.build(out, gen, run=record)
        record["timings"]["report"] = round(time.perf_counter() - t, 3)
        write_json(gen / RUN_RECORD, record)
        commit_generation(out, gen)
        COMMITTED["generation"] = gen.name
        prune_generations(out)
    else:
        record["timings"]["report"] = round(time.perf_counter() - t, 3)
    rep = {"json": str(out / "report.json"), "html": str(out / "report.html")}
    write_json(out / "runs" / f"{run_id}.json", record)
    if _orchestrated():
        _publish_artifacts(record)
    log.info(
        "run %s done in %.1f s: %d kept, %d dropped in the corpus; report at %s",
        run_id, record["timings"]["wall"], written["kept"], written["dropped"], out / "report.html",
    )
    return {"run_id": run_id, "record": str(out / "runs" / f"{run_id}.json"), "kept": written["kept"],
            "dropped": written["dropped"], "report": rep}


def _standing_outputs(out: Path, cfg: Config, dedup: bool, segments: int) -> dict | None:
    """The record of the run that wrote the current outputs, when a run with
    nothing new to read would write them again byte for byte: its outputs
    are current, made from the same state and configuration, in every
    format asked for and no other. None otherwise (and for a folder of a
    version before these checks)."""
    runs = sorted((out / "runs").glob("*.json"))
    try:
        last = json.loads(runs[-1].read_text(encoding="utf-8")) if runs else None
    except (OSError, ValueError):
        return None
    gen = current_generation(out)
    if (not isinstance(last, dict) or last.get("generation") != gen.name or gen == out or last.get("state_segments") != segments
            or last.get("dedup") != dedup or last.get("config_hash") != cfg.digest()):
        return None
    for name in ("articles", "dropped"):
        for fmt in WRITERS:
            if output_path(gen, name, fmt).exists() != (fmt in cfg.output.formats):
                return None
    if not all((gen / f).exists() for f in ("report.html", "report.json")):
        return None
    return last


def run_newsclean(
    input_path: str = "raw",
    output: str = "clean",
    config_path: str | None = None,
    dedup: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
    api_ready: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Run the flow (what the CLI and the tests call).

    Orchestrated by Prefect when there is a Prefect API to report to
    (``PREFECT_API_URL``, a profile, a test harness) or when shard work goes
    to a Prefect task runner (``executor = "prefect"``); otherwise a local
    run: the same steps as plain functions, no server to start (about 10 s
    of a small run's start-up). With ``executor = "processes"`` shard work
    goes to the flow's own process pool and the task runner only sees the
    few large steps, so the default thread runner is kept.

    ``api_ready``: blocks until an API server started by the caller answers
    (see :func:`pipelines.runtime.start_api_server`)."""
    from prefect.settings import PREFECT_API_URL

    cfg = load_config(config_path)
    check_model(cfg)  # before the workers load it, each with a traceback of its own
    orchestrated = cfg.run.executor == "prefect" or bool(PREFECT_API_URL.value())
    runnable = newsclean_flow if orchestrated else newsclean_flow.fn
    if cfg.run.executor == "prefect":
        runnable = newsclean_flow.with_options(task_runner=task_runner(cfg))
    elif cfg.run.executor != "processes":
        raise ValueError(f"[run] executor must be \"processes\" or \"prefect\", not {cfg.run.executor!r}")
    global _PROGRESS_HOOK
    if cfg.run.executor == "prefect":
        _PROGRESS_HOOK, progress = progress, None
    # Refused at once if another run holds the folder, before anything starts.
    lock = OutputLock(output)
    lock.acquire()
    COMMITTED.clear()
    try:
        # Two slow starts overlap instead of following each other: the
        # workers load their models (about 3 s) while Prefect's temporary
        # server, when there is no PREFECT_API_URL, comes up (about 5 s).
        # get_client starts that server exactly as the flow would, and the
        # flow then reuses it.
        start_workers(cfg, str(input_path))
        if orchestrated:
            if api_ready is not None:
                api_ready()
            from prefect.client.orchestration import get_client

            get_client(sync_client=True)
            runtime.quiet_shutdown()
        report_once()
        return runnable(str(input_path), str(output), config_path, dedup, progress)
    except (KeyboardInterrupt, ExternalSignal) as exc:  # SIGINT, SIGTERM (Prefect's own bridge raises the latter)
        stop_workers(kill=True)
        _mark_cancelled(f"stopped by {exc}")
        raise
    finally:
        _PROGRESS_HOOK = None
        stop_workers()
        lock.release()


def _mark_cancelled(message: str) -> None:
    """Record an interrupted flow run as Cancelled (Prefect marks it Crashed,
    or leaves it Running); best effort, the run is ending either way."""
    run_id = COMMITTED.get("flow_run_id")
    if not run_id:
        return
    try:
        from prefect.client.orchestration import get_client
        from prefect.states import Cancelled

        with get_client(sync_client=True) as client:
            client.set_flow_run_state(run_id, Cancelled(message=message), force=True)
    except Exception:  # noqa: BLE001 - no server left to tell
        pass


def interrupted_summary(output: str) -> str:
    """What an interrupted run leaves, in one sentence."""
    if COMMITTED.get("generation"):
        return f"its outputs in {output} were committed before it stopped"
    if COMMITTED.get("segment"):
        return (f"the documents it read are committed (state segment {COMMITTED['segment']}), but articles.jsonl and "
                f"dropped.jsonl in {output} were not rewritten yet: run the same command again to finish")
    return f"nothing of this run was committed; {output} is as the last complete run left it"


def _prefect_context() -> dict[str, Any]:
    """Which Prefect run wrote the record, to find it in the UI (deployment
    and scheduled time are None for a run started by hand)."""
    from prefect.runtime import deployment, flow_run

    scheduled = flow_run.scheduled_start_time
    return {
        "flow_run_id": flow_run.id,
        "flow_run_name": flow_run.name,
        "deployment": deployment.name,
        "scheduled_start": scheduled.isoformat() if scheduled and deployment.name else None,
    }


def _publish_artifacts(record: dict) -> None:
    """Show the run's numbers in the Prefect UI next to the run: a table of
    counts per stage and reason, and a markdown summary that names what needs
    a look (quarantined input, sources whose boilerplate share jumped)."""
    c = record["counts"]
    added = record.get("added") or {}
    rows = [{"stage": "read", "reason": k, "count": c[k]} for k in ("documents", "new", "updated", "unchanged", "quarantined")]
    rows.append({"stage": "clean", "reason": "cleaned", "count": c["cleaned"]})
    rows += [{"stage": "gates", "reason": r, "count": n} for r, n in c["dropped"].items()]
    rows.append({"stage": "gates", "reason": "passed", "count": c["passed_gates"]})
    rows += [{"stage": "boilerplate", "reason": r, "count": n} for r, n in record["edits"].items()]
    rows += [{"stage": "dedup", "reason": "duplicates added", "count": len(added.get("duplicates", []))},
             {"stage": "dedup", "reason": "clusters in corpus", "count": c["clusters"]},
             {"stage": "corpus", "reason": "kept", "count": c["corpus_kept"]},
             {"stage": "corpus", "reason": "kept, added by this run", "count": len(added.get("kept", []))},
             {"stage": "corpus", "reason": "dropped", "count": c["corpus_dropped"]}]
    before, removed = sum(record["words_before"].values()), sum(record["words_removed"].values())
    shares = sorted(((n / record["words_before"][s], s) for s, n in record["words_removed"].items()
                     if record["words_before"].get(s)), reverse=True)
    try:
        jumps = json.loads((Path(record["output"]) / "report.json").read_text())["trends"]["jumps"]
    except (OSError, ValueError, KeyError):
        jumps = []
    md = [
        f"# newsclean run {record['run_id']}",
        "",
        f"* input `{record['input']}` → output `{record['output']}` (config `{record['config_hash']}`)",
        f"* documents read: **{c['documents']}**: {c['new']} new, {c['updated']} updated, "
        f"{c['unchanged']} already processed, {c['quarantined']} quarantined",
        f"* passed the language and length gates: **{c['passed_gates']}** of {c['cleaned']} cleaned; "
        f"dropped: {', '.join(f'{r} {n}' for r, n in c['dropped'].items()) or 'none'}",
        f"* boilerplate: {removed} of {before} words removed ({removed / before:.1%})" if before else "* boilerplate: nothing new to clean",
        f"* corpus now: **{c['corpus_kept']}** articles ({len(added.get('kept', []))} added by this run), "
        f"{c['corpus_dropped']} dropped, {c['duplicates']} duplicates in {c['clusters']} clusters",
        f"* wall time: {record['timings']['wall']} s; report: `{Path(record['output']) / 'report.html'}`",
    ]
    if shares:
        md += ["", "| source | boilerplate share |", "|---|---|"] + [f"| {s} | {v:.1%} |" for v, s in shares[:10]]
    if jumps or c["quarantined"]:
        md += ["", "## Needs a look", ""]
        md += [f"* **{j['source']}**: boilerplate share {j['share']:.1%}, up {j['change_points']} points on earlier runs" for j in jumps]
        if c["quarantined"]:
            md.append(f"* {c['quarantined']} input document(s) quarantined (see `dropped.jsonl`, reason `quarantined`)")
    try:
        create_table_artifact(table=rows, key="newsclean-counts", description="Counts per stage and reason")
        create_markdown_artifact(markdown="\n".join(md) + "\n", key="newsclean-summary", description="newsclean run summary")
    except Exception as exc:  # artifacts are a view; a run never fails on them
        _logger().warning("could not publish Prefect artifacts: %s", exc)
