"""What the driver of a ``executor = "dask"`` run keeps, and what the
learned-line statistics cost on their way to the driver's one merge.

- After a step, the driver process (which also hosts the scheduler of the
  LocalCluster the run starts) holds none of the step's task arguments:
  ``distributed`` keeps the last payloads of each stream by default, which
  made the driver's memory follow the number of tasks (docs/cluster.md).
- A step's shared lists reach the tasks as one object each, not a copy per
  task.
- No task of a run carries the configuration: it reaches the workers once.
- Pass 1's statistics travel as one table of distinct counted triples, and
  learn what the full tables learn.
- The report's similarity histograms are the same whether its values are
  binned at once or chunk by chunk.
"""

from __future__ import annotations

import gc
import random
import time

import numpy as np
import pytest

distributed = pytest.importorskip("distributed", reason="the dask tests need the dask extra: pip install -e '.[dask]'")


def _length(paths: list[str], k: int) -> int:
    return len(paths) + k


@pytest.fixture(scope="module")
def executor(tmp_path_factory):
    from pipelines import executors
    from pipelines.config import load_config

    folder = tmp_path_factory.mktemp("dask-driver")
    cfg_path = folder / "dask.toml"
    cfg_path.write_text('[run]\nexecutor = "dask"\nworkers = 1\n', encoding="utf-8")
    ex = executors.DaskExecutor(load_config(str(cfg_path)))
    ex.start()
    try:
        yield ex
    finally:
        ex.stop()


def _payloads_held(ex) -> int:
    """Task payloads alive in this process once the scheduler has forgotten
    the step's tasks (releasing them is asynchronous): graphs the client
    pickled, task specs the scheduler unpickled."""
    from dask._task_spec import Task
    from distributed.protocol.serialize import Serialized

    deadline = time.monotonic() + 30
    while ex.cluster.scheduler.tasks and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) in (Serialized, Task))


def test_the_driver_holds_no_task_arguments_after_a_step(executor):
    paths = [f"/data/run/parts/{k:05d}.docs.jsonl" for k in range(300)]
    before = _payloads_held(executor)
    assert executor.map(_length, [(paths, k) for k in range(60)], "probe") == [300 + k for k in range(60)]
    # The streams' message history is off (the client's, and the scheduler's
    # to its workers: the LocalCluster runs in this process).
    streams = [executor.client.scheduler_comm, *(ws for ws in executor.cluster.scheduler.stream_comms.values())]
    assert streams and all(len(s.recent_message_log) == 0 for s in streams)
    assert executor.cluster.scheduler.transition_log.maxlen == 0
    assert _payloads_held(executor) - before < 5


def test_a_shared_list_reaches_every_task_as_one_object(executor):
    paths = [f"/data/run/parts/{k:05d}.docs.jsonl" for k in range(300)]
    shared = executor.share(paths)
    assert executor.map(_length, [(shared, k) for k in range(20)], "probe") == [300 + k for k in range(20)]
    # No task spec in the scheduler carries the list itself.
    assert not any(isinstance(a, list) and len(a) == 300
                   for ts in executor.cluster.scheduler.tasks.values() if ts.run_spec is not None
                   for a in getattr(ts.run_spec, "args", ()))


def test_no_task_of_a_run_carries_the_configuration(run_flow, tmp_path, monkeypatch):
    """The configuration (about 18 KB pickled, with its rules) reaches the
    workers once: a task per shard that carried it left a copy per task in
    the in-process scheduler until its step ended, which made the driver's
    memory follow the corpus (docs/cluster.md, 1,000,000 articles)."""
    from pipelines import executors
    from pipelines.config import Config
    from conftest import ROOT

    carried = []
    submit = executors.DaskExecutor._submit

    def watched(self, fn, *args):
        if any(isinstance(a, Config) for a in args):
            carried.append(fn.__name__)
        return submit(self, fn, *args)

    monkeypatch.setattr(executors.DaskExecutor, "_submit", watched)
    cfg = tmp_path / "dask.toml"
    cfg.write_text('[run]\nexecutor = "dask"\nworkers = 1\nshard_size = 10\n', encoding="utf-8")
    run_flow(ROOT / "raw", tmp_path / "out", config=cfg)
    assert (tmp_path / "out" / "articles.jsonl").stat().st_size > 0
    assert carried == []


def _stats(rng: random.Random, copies: int):
    from cleaners.boilerplate import SourceLineStats

    stats = SourceLineStats(3, 0.2)
    for row in range(40):
        story = " ".join(rng.choice(["rain", "vote", "match", "court", "fire", "bank", "storm"]) for _ in range(12))
        lines = [f"Follow us on site {'abc'[rng.randrange(3)]}", story, "Share this page"][:rng.randrange(1, 4)]
        for _ in range(copies):
            stats.observe(f"s{rng.randrange(3)}", lines, row)
    return stats


def test_compact_line_statistics_learn_what_the_full_tables_learn():
    from cleaners.boilerplate import SourceLineStats
    from cleaners.boilerplate.learned import line_table
    from pipelines.stages import compact_line_stats

    rng = random.Random(11)
    shards = [_stats(rng, copies=1 + k % 3) for k in range(9)]
    # A probe row (not counted) only indexes an article: it must not count.
    shards[0]._pending.append(line_table("s1", ["Share this page", "a long story line of the probe article"], 3,
                                         ["Follow us on site a"]))
    full, compact = SourceLineStats(3, 0.2), SourceLineStats(3, 0.2)
    for s in shards:
        full.merge(s)
        compact.merge(compact_line_stats(s))
    merged = compact_line_stats(compact)
    assert merged.learned() == full.learned() and full.learned()
    t = merged.table()
    assert len(merged.parts) == 1 and t["counted"].all()
    assert len(t) < len(full.table())
    assert len(np.unique(t[["src", "key", "fp"]])) == len(t)


def test_the_similarity_histograms_do_not_depend_on_the_chunk(monkeypatch):
    import importlib

    figures = importlib.import_module("pipelines.report.figures")  # the package exports a function of that name
    rng = random.Random(2)
    articles = [{"id": f"a{k}", "language": "en", "source": "s", "text": "x" * rng.randrange(1, 90), "raw_chars": 100,
                 "duplicates": [{"similarity": rng.random(), "containment": rng.choice([0.0, 0.05, 0.5, 1.0]),
                                 "exact": rng.random() < 0.2} for _ in range(rng.randrange(0, 4))]}
                for k in range(500)]
    results = []
    for chunk in (1 << 16, 7, 1):
        monkeypatch.setattr(figures, "_HISTOGRAM_CHUNK", chunk)
        kept = figures._Kept()
        for a in articles:
            kept.add(a)
        results.append(figures._duplicates(kept))
    sims = np.array([m["similarity"] for a in articles for m in a["duplicates"]])
    conts = np.array([m["containment"] for a in articles for m in a["duplicates"]])
    hist = results[0].similarity_histogram
    assert hist == results[1].similarity_histogram == results[2].similarity_histogram
    edges = np.round(np.linspace(0, 1, 21), 2)
    assert hist.edges == edges.tolist()
    assert hist.similarity == np.histogram(sims, edges)[0].tolist() and hist.containment == np.histogram(conts, edges)[0].tolist()
    assert results[0].duplicates == len(sims)
