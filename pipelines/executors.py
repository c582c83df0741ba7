"""Where shard work runs: one interface, three executors.

Every stage of a run is a plain function over shard files
(:mod:`pipelines.stages`); an executor only decides which process calls
it. The stage functions and the files they read and write are the same for
all three, so their outputs are the same bytes whichever runs them:

- ``processes`` (the default): a local process pool, started once per run
  (forkserver, models preloaded) and shared by every shard step;
- ``prefect``: one Prefect task per shard on the configured task runner;
- ``dask``: a ``distributed`` cluster (``[run] dask_address``, or a
  ``LocalCluster`` on this machine): shard steps *and* the corpus-wide steps
  (deduplication, writing) run on its workers, so the driver holds
  per-shard metadata only.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import signal
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from . import runtime
from .config import Config
from .errors import UserError
from .stages import warm_up

Progress = Callable[[str, int, int], None]

# Bytes of input per shard below which starting workers early is not worth it
# (a run of one shard is cleaned in the main process).
_EARLY_START_BYTES_PER_SHARD = 1000


class ClusterError(UserError, RuntimeError):
    """A cluster the run cannot use: no scheduler at the address, workers
    that do not see the run's storage, the dask extra not installed."""


def workers(cfg: Config) -> int:
    return cfg.run.workers or os.cpu_count() or 1


class Executor:
    """Runs stage functions: ``map`` one per argument tuple, ``call`` one
    corpus-wide step where the executor puts such steps; ``share`` hands a
    large read-only argument to every worker once."""

    def start(self, input_path: str | None = None) -> None:
        return None

    def map(self, fn: Callable, argsets: Sequence[tuple], label: str, progress: Progress | None = None,
            gather: bool = True) -> list:
        """``fn(*args)`` for every argument tuple, results in input order.
        With ``gather`` False, an executor whose results live elsewhere (a
        cluster's workers) may return handles to them instead, which its
        ``call`` and ``map`` accept as arguments."""
        total = len(argsets)
        if progress:
            progress(label, 0, total)
        futures = self._submit_all(fn, argsets)
        if futures and not gather and self._left_where_computed(futures, label, progress):
            return futures
        results = []
        for i, args in enumerate(argsets, 1):
            runtime.check_interrupted()
            if futures:
                results.append(futures[i - 1].result())
                futures[i - 1] = None  # a result read releases its task (the scheduler keeps none it need not)
            else:
                results.append(fn(*args))
            if progress:
                progress(label, i, total)
        return results

    def _submit_all(self, fn: Callable, argsets: Sequence[tuple]) -> list | None:
        return None

    def _left_where_computed(self, futures: list, label: str, progress: Progress | None) -> bool:
        """Whether these results can stay where they were computed (then
        waited for here, not fetched)."""
        return False

    def call(self, fn: Callable, *args):
        return fn(*args)

    def share(self, obj: Any) -> Any:
        return obj

    def check_storage(self, folder: Path) -> None:
        """Refuse (one line) if a worker cannot read what this process
        writes under ``folder``."""
        return None

    def check_readable(self, path: Path) -> None:
        """Refuse (one line) if a worker cannot read the input file ``path``."""
        return None

    def release(self) -> None:
        """The shard steps are done: free what only they need."""
        return None

    def stop(self, kill: bool = False) -> None:
        return None


# ---------------------------------------------------------------- processes


def _noop() -> None:
    return None


def _worker_init(cfg: Config) -> None:
    # Ctrl-C reaches the whole process group; the run, not each worker,
    # decides what it means (and a worker must not die printing a traceback).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    runtime.tie_to_parent(run=int(os.environ.get("NEWSCLEAN_RUN_PID") or 0) or None)
    warm_up(cfg)


def _input_bytes(path: str) -> int:
    try:
        p = Path(path)
        return p.stat().st_size if p.is_file() else sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
    except OSError:
        return 0


class ProcessExecutor(Executor):
    """A local process pool that serves every shard step of a run (learning,
    then cleaning): workers start once, load the language models once, and
    can be started early so that this overlaps the read step in the main
    process. Corpus-wide steps run in the main process."""

    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.pool: ProcessPoolExecutor | None = None
        # After release(), what is left (writing) runs in this process:
        # restarting workers would cost more than it saves.
        self.released = False

    def start(self, input_path: str | None = None) -> None:
        """Start the worker processes now if the run will use them: when the
        input holds more than one shard's worth of bytes, or unconditionally
        when ``input_path`` is None. Each worker warms up while the caller
        goes on."""
        cfg, n = self.cfg, workers(self.cfg)
        if self.pool is not None or n <= 1:
            return
        if input_path is not None and _input_bytes(input_path) < cfg.run.shard_size * _EARLY_START_BYTES_PER_SHARD:
            return
        # forkserver: the parent runs Prefect's threads, which fork() would
        # copy in an undefined state.
        ctx = multiprocessing.get_context("forkserver")
        # The fork server loads the models once and every worker inherits
        # them (pipelines/preload.py); it reads the configuration from the
        # environment it starts with.
        os.environ["NEWSCLEAN_PRELOAD_CONFIG"] = cfg.path
        # Whom the fork server is tied to, known before it starts: a run
        # killed before the server runs its preload must still end it (its
        # parent is by then another process).
        os.environ["NEWSCLEAN_RUN_PID"] = str(os.getpid())
        ctx.set_forkserver_preload(["pipelines.preload"])
        self.pool = ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_worker_init, initargs=(cfg,))
        for _ in range(n):  # the pool spawns its processes on first use
            self.pool.submit(_noop)

    def _submit_all(self, fn, argsets):
        if len(argsets) > 1 and workers(self.cfg) > 1 and not self.released:
            self.start()
            return [self.pool.submit(fn, *args) for args in argsets]
        return None

    def release(self) -> None:
        # The corpus-wide steps run in this process: the workers' memory
        # (language models, learned lines) is better given back now.
        self.released = True
        self.stop()

    def stop(self, kill: bool = False) -> None:
        """Shut the pool down: let running shards finish, or with ``kill``
        end the workers at once (an interrupted run)."""
        pool, self.pool = self.pool, None
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


# ---------------------------------------------------------------- prefect


def task_runner(cfg: Config):
    """The Prefect task runner named by ``[run] task_runner``, sized by
    ``workers``; used for shard tasks when ``executor = "prefect"``."""
    from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

    kind, n = cfg.run.task_runner, workers(cfg)
    if kind == "thread":
        return ThreadPoolTaskRunner(max_workers=n)
    if kind == "process":
        return ProcessPoolTaskRunner(max_workers=n)
    if kind == "dask":
        try:
            from prefect_dask import DaskTaskRunner
        except ImportError as exc:
            raise ClusterError("task_runner = \"dask\" needs the dask extra: pip install 'newsclean[dask]'") from exc
        if cfg.run.dask_address:
            return DaskTaskRunner(address=cfg.run.dask_address)
        # Processes, one thread each: the cleaners hold the GIL.
        return DaskTaskRunner(cluster_kwargs={"n_workers": n, "threads_per_worker": 1, "processes": True})
    raise ValueError(f"[run] task_runner must be \"thread\", \"process\" or \"dask\", not {kind!r}")


# Stage functions as Prefect tasks, made once per function (Prefect's
# process and Dask task runners pickle them with cloudpickle).
_TASKS: dict[Callable, Any] = {}


def _as_task(fn: Callable):
    if fn not in _TASKS:
        _TASKS[fn] = task(fn, name=fn.__name__.replace("_", " "), persist_result=False, cache_policy=NO_CACHE)
    return _TASKS[fn]


class PrefectExecutor(Executor):
    """One Prefect task per shard on the flow's task runner."""

    def _submit_all(self, fn, argsets):
        return [_as_task(fn).submit(*args) for args in argsets]


# ---------------------------------------------------------------- dask


def _probe(path: str) -> str | None:
    """Run on each worker: None when it sees ``path``, else what it sees."""
    try:
        with open(path, "rb") as fh:
            fh.read(1)
        return None
    except OSError as exc:
        return f"{type(exc).__name__}: {exc.strerror or exc}"


def _warm_up_plugin(cfg: Config):
    """A worker plugin: compile the chain and load the models once per
    worker, when it joins (not in its first shard). Made here: distributed
    is imported only by runs that use it."""
    from distributed import WorkerPlugin

    class WarmUp(WorkerPlugin):
        def setup(self, worker) -> None:
            try:
                warm_up(cfg)
            except Exception:  # noqa: BLE001 - the first shard then loads what it needs, and reports it
                pass

    return WarmUp()


# distributed keeps, per batched stream, the last payloads it sent (a
# debugging aid, ``recent_message_log``), and the last transitions and events
# of its scheduler and workers, all sized by this one setting (default 1,000).
# In the driver that is the client's stream to the scheduler, holding every
# task's pickled arguments, and, when the run hosts its LocalCluster, the
# scheduler's streams to each worker, holding every task's arguments again:
# up to 1,000 batches each, so the driver's memory followed the number of
# tasks, i.e. the corpus (measured: 15 MB kept for 200 tasks of 500 paths;
# docs/cluster.md). A run keeps none; the workers inherit the setting.
_MESSAGE_HISTORY = {"distributed.admin.low-level-log-length": 0}


def _keep_no_message_history() -> None:
    import dask

    # Set for the process, not around the start only: a stream (re)opened
    # later reads the setting when it is made.
    dask.config.set(_MESSAGE_HISTORY)


class DaskExecutor(Executor):
    """Stage functions as ``distributed`` futures: one per shard, in the
    order the run asks for their results. The workers are processes with
    one thread each (the cleaners hold the GIL). Every path a stage
    function receives is absolute (the flow resolves them first), and the
    workers are checked to see the run's storage before any work is sent."""

    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.client = None
        self.cluster = None
        self.token = uuid.uuid4().hex[:8]

    def start(self, input_path: str | None = None) -> None:
        if self.client is not None:
            return
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise ClusterError("executor = \"dask\" needs the dask extra: pip install 'newsclean[dask]'") from exc
        address = self.cfg.run.dask_address
        _keep_no_message_history()
        # The cluster's own INFO lines (nannies, comms) are not the run's news.
        for name in ("distributed", "dask"):
            logging.getLogger(name).setLevel(logging.WARNING)
        try:
            if address:
                self.client = Client(address, timeout="10s", set_as_default=False)
            else:
                self.cluster = LocalCluster(n_workers=workers(self.cfg), threads_per_worker=1, processes=True,
                                            dashboard_address=None, silence_logs=logging.ERROR)
                self.client = Client(self.cluster, set_as_default=False)
        except (OSError, ValueError) as exc:  # ValueError: an address distributed cannot parse
            raise ClusterError(f"[run] dask_address = {address!r}: no Dask scheduler answered ({exc}); start one "
                               "(dask scheduler; dask worker ADDRESS), or leave dask_address empty for a local cluster") from exc
        self.client.register_plugin(_warm_up_plugin(self.cfg), name=f"newsclean-warm-up-{self.cfg.digest()}")

    def check_storage(self, folder: Path) -> None:
        """Every worker must read what the driver writes under ``folder``."""
        self.start()
        probe = folder / f".probe-{self.token}"
        probe.write_text("newsclean\n", encoding="utf-8")
        try:
            self._check(probe, folder, "the output folder")
        finally:
            probe.unlink(missing_ok=True)

    def check_readable(self, path: Path) -> None:
        """Every worker must read the input file ``path`` (the workers read
        the input: one it cannot open would be quarantined as unreadable)."""
        self._check(path, path, "the input")

    def _check(self, path: Path, shown: Path, what: str) -> None:
        answers = self.client.run(_probe, str(path))
        if not answers:
            raise ClusterError(f"the Dask scheduler at {self.cfg.run.dask_address or 'the local cluster'} has no workers")
        blind = sorted((w, a) for w, a in answers.items() if a is not None)
        if blind:
            w, a = blind[0]
            raise ClusterError(f"Dask worker {w} cannot read {shown} ({a}; {len(blind)} of {len(answers)} workers): "
                               f"a cluster run needs {what} on storage every worker shares")

    def _submit(self, fn: Callable, *args):
        # pure=False and a key of its own: every call is new work (dask would
        # otherwise hash the arguments to find an equal earlier one).
        self.start()
        return self.client.submit(fn, *args, pure=False, key=f"{fn.__name__}-{uuid.uuid4().hex}")

    def _submit_all(self, fn, argsets):
        return [self._submit(fn, *args) for args in argsets]

    def _left_where_computed(self, futures, label, progress):
        from distributed import as_completed

        for i, _ in enumerate(as_completed(futures, loop=self.client.loop), 1):
            if progress:
                progress(label, i, len(futures))
        return True

    def call(self, fn: Callable, *args):
        return self._submit(fn, *args).result()

    def share(self, obj: Any) -> Any:
        self.start()
        # In a list: a dict given alone would be scattered value by value.
        return self.client.scatter([obj], broadcast=True, hash=False)[0]

    def stop(self, kill: bool = False) -> None:
        client, cluster, self.client, self.cluster = self.client, self.cluster, None, None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()


_EXECUTORS = {"processes": ProcessExecutor, "prefect": lambda cfg: PrefectExecutor(), "dask": DaskExecutor}
# The executor of the run in progress (one per process: a run holds its
# output folder's lock and runs alone).
_CURRENT: Executor | None = None


def open_executor(cfg: Config) -> Executor:
    """The run's executor, made on first use."""
    global _CURRENT
    if _CURRENT is None:
        _CURRENT = _EXECUTORS[cfg.run.executor](cfg)
    return _CURRENT


def current() -> Executor:
    return _CURRENT if _CURRENT is not None else Executor()


def close_executor(kill: bool = False) -> None:
    global _CURRENT
    ex, _CURRENT = _CURRENT, None
    if ex is not None:
        ex.stop(kill=kill)


atexit.register(close_executor)
