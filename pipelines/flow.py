"""The newsclean Prefect flow: a recipe of a few large steps.

    read ─► learn boilerplate ─► clean (shards in parallel) ─► deduplicate ─► write ─► report

The steps are in :mod:`pipelines.tasks` (new input) and
:mod:`pipelines.corpus` (the whole corpus); each handles whole shards
(thousands of articles), because a Prefect task run costs tens of
milliseconds of orchestration. Where the shard work runs is the executor's
business (:mod:`pipelines.executors`): a local process pool, one Prefect
task per shard, or a Dask cluster.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.exceptions import ExternalSignal
from prefect.utilities.annotations import quote

from cleaners.dedup import SIGNATURE_VERSION

from . import executors, report as report_mod, runtime, tasks
from .config import Config, load_config
from .corpus import DedupCounts, deduplicate, write_outputs
from .errors import is_disk_error, report_once
from .formats.writers import WRITERS, output_path
from .record import prefect_context, publish_artifacts
from .stages import check_model
from .store import (CHANGES_SUFFIX, RUN_RECORD, OutputLock, write_error, State, clear_stale, commit_generation,
                    current_generation, new_generation, prune_generations, write_json, write_jsonl)
from .tasks import clean, learn_boilerplate, logger, orchestrated, read_input, repaired_path, step

# What the current run has made durable so far, for the line an interrupted
# run prints: the segment of its input, then the generation of its outputs.
COMMITTED: dict[str, Any] = {}


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
        finally:
            # A served flow runs again in this process, maybe on another configuration.
            executors.close_executor()


def _run(input_path: str, output: str, config_path: str | None, dedup: bool,
         progress: Callable[[str, int, int], None] | None) -> dict[str, Any]:
    log = logger()
    from prefect.runtime import flow_run

    COMMITTED["flow_run_id"] = flow_run.id
    started = datetime.now(timezone.utc)
    run_id = started.strftime("%Y%m%dT%H%M%S%fZ")
    t_start = time.perf_counter()
    cfg = load_config(config_path)
    check_model(cfg)  # before any input is read
    dedup = dedup and cfg.dedup.enabled
    # Absolute before any path leaves this process: a cluster's workers run
    # in working directories of their own.
    out = Path(output).absolute()
    out.mkdir(parents=True, exist_ok=True)
    state = State.open(out)
    removed = clear_stale(out, state.manifest.get("segments", []))
    if removed:
        log.info("removed %d file(s) left by an interrupted run: %s", len(removed), ", ".join(removed[:5]))
    dedup_params = {"num_perm": cfg.dedup.num_perm, "shingle_size": cfg.dedup.shingle_size, "scheme": "affine32", "seed": 1,
                    "signature_version": SIGNATURE_VERSION}
    state.check_params(dedup_params)
    cleaning = cfg.cleaning_digest()
    state.check_cleaning(cleaning)

    seg_name = state.next_segment_name()
    # A name of this run's own: no other run's staging is ever touched.
    staging = state.root / f".staging-{run_id}"
    staging.mkdir(parents=True)
    timings: dict[str, float] = {}

    executor = executors.open_executor(cfg)
    executor.start(str(input_path))
    executor.check_storage(staging)
    t = time.perf_counter()
    # quote(): Prefect walks every element of a task's arguments (twice) to
    # find upstream futures; over a 20,000-article run's dicts that walk cost
    # more than deduplicating. These arguments never hold futures.
    read = step(read_input, str(input_path), str(staging), cfg, quote(state.segments), progress)
    timings["read"] = time.perf_counter() - t

    t = time.perf_counter()
    learned, reclean, learn_repair = step(learn_boilerplate, read.shards, str(staging), cfg, quote(state.segments), progress)
    timings["learn"] = time.perf_counter() - t

    t = time.perf_counter()
    repaired = [repaired_path(staging, i) for i in range(len(read.shards))]
    stats, again = step(clean, repaired, str(staging), cfg, quote(learned), quote(reclean), progress)
    timings["clean"] = time.perf_counter() - t
    stats.timings.update(learn_repair)
    executor.release()
    for raw in read.shards + reclean.shards:
        os.unlink(raw)

    new_data = read.new + read.updated + read.rejected > 0
    if new_data:
        state.commit_segment(staging, seg_name, dedup_params, cleaning)
        COMMITTED["segment"] = seg_name
    else:
        shutil.rmtree(staging)

    t = time.perf_counter()
    seg_idx = len(state.segments) - 1 if new_data else None
    standing = None if new_data else _standing_outputs(out, cfg, dedup, len(state.segments))
    changes = out / "runs" / f"{run_id}{CHANGES_SUFFIX}"
    if standing is not None:
        # Nothing to write: the current outputs and report stand (this run
        # would write the same bytes), and so do the clusters their run
        # counted (same segments, same configuration); the record below
        # lists the run, which changed nothing.
        gen = current_generation(out)
        c = standing["counts"]
        result = DedupCounts(clusters=c.get("clusters", 0), duplicates=c.get("duplicates", 0),
                             candidate_pairs=c.get("lsh_candidate_pairs", 0), verified_pairs=c.get("lsh_verified_pairs", 0))
        written = {"kept": c["corpus_kept"], "dropped": c["corpus_dropped"]}
        write_jsonl(changes, [])
        timings["dedup"] = time.perf_counter() - t
        log.info("nothing new since run %s with the same configuration: its outputs and report stand", standing["run_id"])
    else:
        gen = new_generation(out, run_id)
        # What dedup decides per shard, and the write's parts: files, so
        # that the driver never holds an object per article.
        work = gen / ".parts"
        result = step(deduplicate, quote(state.segments), cfg, dedup, str(out), str(work), seg_idx)
        timings["dedup"] = time.perf_counter() - t
        t = time.perf_counter()
        written = step(write_outputs, quote(state.segments), str(out), str(work), str(gen), run_id, cfg.output.formats)
    timings["write"] = time.perf_counter() - t

    record = {
        "run_id": run_id,
        "started": started.isoformat(),
        "finished": datetime.now(timezone.utc).isoformat(),
        "input": str(input_path),
        "output": str(output),
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
            "lsh_partitions": result.partitions,
            "lsh_shuffled_bytes": result.shuffled_bytes,
            "duplicates": result.duplicates,
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
        # Counts only: the ids are in the run's changes file (`changes`).
        "replaced_canonicals": result.replaced,
        "id_conflicts": read.id_conflicts,
        "examples": stats.examples,
        "added": {"kept": result.added_kept, "duplicates": result.added_duplicates},
        "changes": os.path.relpath(changes, out),
        "recleaned": {**reclean.record(), "passed_gates": again.candidates, "dropped": dict(sorted(again.dropped.items()))},
        "timings": {"wall": round(time.perf_counter() - t_start, 3), **{k: round(v, 3) for k, v in timings.items()}},
        "stage_seconds": {k: round(v, 3) for k, v in sorted(stats.timings.items())},
        "prefect": prefect_context() if orchestrated() else None,
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
    if orchestrated():
        publish_artifacts(record)
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
        runnable = newsclean_flow.with_options(task_runner=executors.task_runner(cfg))
        tasks.PROGRESS_HOOK, progress = progress, None
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
        executors.open_executor(cfg).start(str(input_path))
        if orchestrated:
            if api_ready is not None:
                api_ready()
            from prefect.client.orchestration import get_client

            get_client(sync_client=True)
            runtime.quiet_shutdown()
        report_once()
        return runnable(str(input_path), str(output), config_path, dedup, progress)
    except (KeyboardInterrupt, ExternalSignal) as exc:  # SIGINT, SIGTERM (Prefect's own bridge raises the latter)
        executors.close_executor(kill=True)
        _mark_cancelled(f"stopped by {exc}")
        raise
    finally:
        tasks.PROGRESS_HOOK = None
        executors.close_executor()
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
