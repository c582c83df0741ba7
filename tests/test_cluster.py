"""``executor = "dask"`` on a real cluster: a ``dask scheduler`` and
``dask worker`` processes on loopback, one worker in a working directory of
its own (a relative path that leaked out of the driver would name another
folder there), runs given a relative ``--output``.

Whatever the cluster, the corpus is the one the process pool gives, byte
for byte: the sample; adversarial input (exact copies in different shards,
a truncated copy, rank ties, a duplicate id with other text, a broken JSON
line) at 1, 7 and 64 articles per shard on 1, 2 and 3 workers; three
nightly runs against one; a worker killed while shards are cleaned. A
cluster the run cannot use (no scheduler, a worker that does not see the
output folder) is refused in one line with exit code 2."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT

distributed = pytest.importorskip("distributed", reason="the cluster tests need the dask extra: pip install -e '.[dask]'")

# Functions of this module that tests send to workers (client.run) travel
# by value: the workers cannot import the tests.
import cloudpickle  # noqa: E402

cloudpickle.register_pickle_by_value(sys.modules[__name__])

DASK = Path(sys.executable).with_name("dask")
OUTPUTS = ("articles.jsonl", "dropped.jsonl")


def _env(tmp: Path) -> dict[str, str]:
    """A newcomer's environment (no Prefect settings: a local run), with this
    checkout importable by every process, also where it is not installed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    env["NEWSCLEAN_HOME"] = str(tmp / "home")
    return env


class Cluster:
    """A scheduler and worker processes, each in a process group of its own."""

    def __init__(self, base: Path):
        self.base = base
        self.procs: list[subprocess.Popen] = []
        self.env = _env(base)
        self.logs = base / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.address = ""

    def _spawn(self, name: str, cmd: list[str], cwd: Path) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "w")
        p = subprocess.Popen(cmd, cwd=cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(p)
        return p

    def start_scheduler(self) -> str:
        sched_file = self.base / "scheduler.json"
        p = self._spawn("scheduler", [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0",
                                      "--scheduler-file", str(sched_file), "--no-dashboard"], self.base)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if sched_file.exists():
                try:
                    self.address = json.loads(sched_file.read_text())["address"]
                    return self.address
                except (ValueError, KeyError):
                    pass  # being written
            if p.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError(f"dask scheduler did not start: {(self.logs / 'scheduler.log').read_text()[-2000:]}")

    def add_worker(self, name: str, cwd: Path, wrap: list[str] = ()) -> subprocess.Popen:
        cwd.mkdir(parents=True, exist_ok=True)
        scratch = self.base / f"scratch-{name}"
        return self._spawn(name, [*wrap, str(DASK), "worker", self.address, "--nworkers", "1", "--nthreads", "1",
                                  "--no-dashboard", "--local-directory", str(scratch)], cwd)

    def client(self):
        return distributed.Client(self.address, timeout="30s", set_as_default=False)

    def wait_for(self, n: int, timeout: float = 180) -> None:
        with self.client() as c:
            c.wait_for_workers(n, timeout=timeout)

    def stop(self) -> None:
        for p in reversed(self.procs):
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(timeout=30)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two workers; the second runs in another working
    directory than the driver and the first."""
    base = tmp_path_factory.mktemp("cluster")
    c = Cluster(base)
    try:
        c.start_scheduler()
        c.add_worker("w1", base)
        c.add_worker("w2", base / "elsewhere")
        c.wait_for(2)
        yield c
    finally:
        c.stop()


def _config(path: Path, executor: str, shard_size: int, address: str = "", workers: int = 0) -> Path:
    lines = ["[run]", f'executor = "{executor}"', f"shard_size = {shard_size}"]
    if address:
        lines.append(f'dask_address = "{address}"')
    if workers:
        lines.append(f"workers = {workers}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _same(a: Path, b: Path) -> None:
    for name in OUTPUTS:
        assert (a / name).read_bytes() == (b / name).read_bytes(), f"{name}: {a} differs from {b}"


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _executed(dask_worker) -> int:
    """Tasks this worker has run (client.run passes the worker in)."""
    return dask_worker.state.executed_count


def _cli(args: list[str], cwd: Path, env: dict, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.cli", "run", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture
def in_dir(tmp_path, monkeypatch):
    """The driver runs in a folder of its own: a relative --output is
    relative to it, and to no worker's."""
    here = tmp_path / "driver"
    here.mkdir()
    monkeypatch.chdir(here)
    return here


# --------------------------------------------------------------------------
# Adversarial input, written here: made-up local news from sentence parts,
# three sources, each with a footer line its articles share (learned as
# boilerplate, across shards).

_WHO = ["The town council", "The regional water board", "Harbour officials", "The school district", "A group of residents",
        "The county sheriff's office", "The transit authority", "Local farmers", "The hospital trust", "The library committee",
        "Two shop owners on Main Street", "The fire brigade", "The parks department", "A tenants' association"]
_DID = ["approved", "postponed", "voted against", "quietly revised", "asked auditors to examine", "published details of",
        "announced", "defended", "withdrew", "promised to review"]
_WHAT = ["a plan to repair the old swing bridge", "new opening hours for the reading room", "a rise in parking fees near the pier",
         "the contract for winter road gritting", "a grant for solar panels on the sports hall", "the route of the night bus",
         "a survey of flood defences along the river", "a proposal to close the branch clinic on Fridays",
         "the budget for replacing lead water pipes", "an agreement with the ferry operator", "a pilot scheme for free school meals",
         "the sale of the former post office building", "rules for food stalls at the summer market"]
_WHEN = ["on Tuesday evening", "after a meeting that ran past midnight", "earlier this month", "at short notice",
         "following weeks of complaints", "despite objections from the opposition", "ahead of the spring holidays"]
_SAID = ["a spokesperson said the decision had been difficult", "critics called the move rushed and poorly explained",
         "officials expect a final vote before the end of the year", "residents were invited to comment at the town hall",
         "the figures will be published in a report next week", "several members said they wanted more information first"]
_PLACES = ["Ashford Creek", "Millbrook", "Port Elwin", "Stoneleigh", "Carrow Vale", "Heathmoor", "Lindqvist Bay", "Orrin Falls"]
_FOOTERS = {"valley-ledger": "Valley Ledger | local news every morning",
            "harbour-post": "Harbour Post print edition on Saturdays",
            "north-star": "North Star newsroom: tips welcome"}


def _article(rnd: random.Random, k: int, source: str) -> dict:
    place = rnd.choice(_PLACES)
    paras = []
    for _ in range(9):
        n = rnd.randint(2, 9800)
        paras.append(f"{rnd.choice(_WHO)} in {place} {rnd.choice(_DID)} {rnd.choice(_WHAT)} {rnd.choice(_WHEN)}, "
                     f"and {rnd.choice(_SAID)}; about {n} people are affected.")
    paras.append(_FOOTERS[source])
    return {"id": f"{source}-{k:04d}", "title": f"{place}: {rnd.choice(_WHAT)} ({k})", "text": "\n\n".join(paras),
            "source": source, "published": f"2025-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}"}


def write_adversarial(folder: Path, per_file: int = 10, seed: int = 20) -> dict[str, str]:
    """Four JSONL files (``feed-a`` .. ``feed-d``) of made-up articles plus
    the cases that make distributed dedup and id resolution hard. Returns
    the ids of those cases."""
    rnd = random.Random(seed)
    sources = sorted(_FOOTERS)
    files: dict[str, list[str]] = {f"feed-{x}.jsonl": [] for x in "abcd"}
    arts = []
    for f, name in enumerate(files):
        for k in range(per_file):
            a = _article(rnd, f * per_file + k, sources[(f + k) % 3])
            arts.append(a)
            files[name].append(json.dumps(a, ensure_ascii=False))
    first, second = arts[1], arts[per_file + 3]
    # Exact copies of one article in the other files (other shards at any
    # shard size below a file's length; other runs when the files are
    # nightly slices): same words, same date, so their ranks tie and only
    # the id decides the canonical.
    files["feed-b.jsonl"].insert(5, json.dumps({**first, "id": "copy-of-first-b"}))
    files["feed-c.jsonl"].append(json.dumps({**first, "id": "copy-of-first-c"}))
    files["feed-d.jsonl"].insert(4, json.dumps({**first, "id": "copy-of-first-d"}))
    # A copy cut short after six of its ten paragraphs.
    cut = {**second, "id": "cut-short", "text": "\n\n".join(second["text"].split("\n\n")[:6])}
    files["feed-c.jsonl"].insert(2, json.dumps(cut))
    # The first file's first article id claimed again, later, with other text.
    clash = {**_article(rnd, 999, sources[0]), "id": arts[0]["id"]}
    files["feed-b.jsonl"].insert(1, json.dumps(clash))
    # A line cut off mid-record.
    files["feed-b.jsonl"].insert(8, json.dumps(_article(rnd, 998, sources[1]))[:150])
    folder.mkdir(parents=True, exist_ok=True)
    for name, lines in files.items():
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"copied": first["id"], "copies": "copy-of-first-b copy-of-first-c copy-of-first-d",
            "truncated_of": second["id"], "clash": arts[0]["id"]}


# Nightly slices of the adversarial files, each keeping its file name (so
# ids and the output order are those of one run). "clash_inside": the
# duplicate id comes in the run that reads its first claim; "clash_across":
# in a later run.
SLICINGS = {"clash_inside": [["feed-a.jsonl", "feed-b.jsonl"], ["feed-c.jsonl"], ["feed-d.jsonl"]],
            "clash_across": [["feed-a.jsonl"], ["feed-b.jsonl"], ["feed-c.jsonl", "feed-d.jsonl"]]}


@pytest.fixture(scope="module")
def adversarial(tmp_path_factory):
    base = tmp_path_factory.mktemp("adversarial")
    cases = write_adversarial(base / "all")
    for slicing, parts in SLICINGS.items():
        for k, names in enumerate(parts):
            (base / slicing / str(k)).mkdir(parents=True)
            for name in names:
                shutil.copyfile(base / "all" / name, base / slicing / str(k) / name)
    return base, cases


@pytest.fixture(scope="module")
def reference(run_flow, adversarial, tmp_path_factory):
    """The process pool's outputs of the adversarial input, per shard size."""
    base, _ = adversarial
    made: dict[int, Path] = {}

    def get(shard_size: int) -> Path:
        if shard_size not in made:
            work = tmp_path_factory.mktemp(f"processes-{shard_size}")
            run_flow(base / "all", work / "out", config=_config(work / "run.toml", "processes", shard_size))
            made[shard_size] = work / "out"
        return made[shard_size]

    return get


# --------------------------------------------------------------------------


@pytest.mark.slow
def test_the_sample_on_a_cluster_with_a_relative_output_is_the_process_pools(cluster, run_flow, tmp_path):
    """The command as a user types it, from a folder of its own, relative
    input and output, on the running scheduler (one worker elsewhere)."""
    ref = tmp_path / "processes"
    run_flow(ROOT / "raw", ref, config=_config(tmp_path / "processes.toml", "processes", 10))
    here = tmp_path / "driver"
    here.mkdir()
    cfg = _config(tmp_path / "dask.toml", "dask", 10, address=cluster.address)
    with cluster.client() as client:
        before = client.run(_executed)
        p = _cli(["--input", os.path.relpath(ROOT / "raw", here), "--output", "out", "--config", str(cfg)], here, _env(tmp_path))
        after = client.run(_executed)
        cwd = client.run(os.getcwd)
    assert p.returncode == 0, p.stderr[-3000:]
    _same(here / "out", ref)
    record = json.loads(sorted((here / "out" / "runs").glob("*.json"))[-1].read_text())
    assert record["counts"]["documents"] > 40 and record["counts"]["duplicates"] > 0
    # The shards ran on the cluster, also on the worker in the other folder.
    elsewhere = [w for w, d in cwd.items() if Path(d) == cluster.base / "elsewhere"]
    assert len(elsewhere) == 1 and after[elsewhere[0]] > before[elsewhere[0]]
    assert sum(after.values()) - sum(before.values()) >= 2 * (record["counts"]["documents"] // 10)
    # Nothing landed in the other worker's working directory.
    assert not [p for p in (cluster.base / "elsewhere").rglob("*") if "dask-scratch" not in str(p)]


@pytest.mark.slow
def test_a_relative_config_with_its_own_model_on_the_cluster_is_the_process_pools(cluster, adversarial, reference, tmp_path):
    """``newsclean run --config cluster.toml`` from the configuration's
    folder, its classifier model a file beside it (a copy of the shipped
    one under a name of its own)."""
    base, _ = adversarial
    here = tmp_path / "driver"
    here.mkdir()
    shutil.copyfile(ROOT / "configs" / "boilerplate-model.json", here / "own-model.json")
    (here / "cluster.toml").write_text(f'[run]\nexecutor = "dask"\nshard_size = 7\ndask_address = "{cluster.address}"\n'
                                       '[boilerplate]\nmodel = "own-model.json"\n', encoding="utf-8")
    p = _cli(["--input", str(base / "all"), "--output", "out", "--config", "cluster.toml"], here, _env(tmp_path))
    assert p.returncode == 0, p.stderr[-3000:]
    _same(here / "out", reference(7))


def test_the_adversarial_input_exercises_what_it_claims(adversarial, reference):
    """Guards the input of the tests below: each hard case is in it."""
    _, cases = adversarial
    out = reference(7)
    arts = {a["id"]: a for a in _jsonl(out / "articles.jsonl")}
    dropped = {d["id"]: d for d in _jsonl(out / "dropped.jsonl")}
    canon = min(cases["copies"].split() + [cases["copied"]])
    assert canon in arts, "one of the tied exact copies is kept"
    exact = [d for d in dropped.values() if d["reason"] == "duplicate" and d["canonical"] == canon and "exact copy" in d["detail"]]
    assert len(exact) == 3
    assert dropped["cut-short"]["reason"] == "duplicate" and dropped["cut-short"]["canonical"] == cases["truncated_of"]
    assert cases["clash"] in arts
    quarantined = [d for d in dropped.values() if d["reason"] == "quarantined"]
    details = " ".join(d.get("detail", "") for d in quarantined)
    assert "broken JSON" in details and f"duplicate id {cases['clash']!r}" in details, quarantined
    record = json.loads(sorted((out / "runs").glob("*.json"))[-1].read_text())
    assert record["counts"]["quarantined"] == 2
    # The sources' footer lines are learned (from every shard) and removed.
    assert record["edits"].get("learned", 0) >= 30, record["edits"]
    assert not any(f in a["text"] for a in arts.values() for f in _FOOTERS.values())


@pytest.mark.slow
@pytest.mark.parametrize("shard_size,workers", [(1, 0), (7, 0), (7, 3), (64, 1)],
                         ids=["1-per-shard-2-workers", "7-per-shard-2-workers", "7-per-shard-local-3", "64-per-shard-local-1"])
def test_adversarial_input_on_the_cluster_is_the_process_pools(cluster, adversarial, reference, run_flow, in_dir,
                                                                shard_size, workers):
    """On the running scheduler's two workers, or (``workers``) on a local
    cluster of 1 or 3 workers the run starts itself."""
    base, _ = adversarial
    address = "" if workers else cluster.address
    cfg = _config(in_dir.parent / "dask.toml", "dask", shard_size, address=address, workers=workers)
    run_flow(base / "all", "out", config=cfg)
    _same(in_dir / "out", reference(shard_size))


def _nightly(run_flow, base: Path, slicing: str, here: Path, cfg: Path) -> None:
    for k in range(len(SLICINGS[slicing])):
        run_flow(base / slicing / str(k), slicing, config=cfg)
    records = [json.loads(p.read_text()) for p in sorted((here / slicing / "runs").glob("*.json"))]
    assert len(records) == 3 and all(r["counts"]["new"] > 0 for r in records)


@pytest.mark.slow
def test_three_nightly_runs_on_the_cluster_give_one_runs_corpus(cluster, adversarial, reference, run_flow, in_dir):
    """The exact copies of an article come in three runs; a run over
    everything on the cluster, and the process pool, give the same bytes."""
    base, _ = adversarial
    cfg = _config(in_dir.parent / "dask.toml", "dask", 7, address=cluster.address)
    _nightly(run_flow, base, "clash_inside", in_dir, cfg)
    run_flow(base / "all", "whole", config=cfg)
    _same(in_dir / "clash_inside", in_dir / "whole")
    _same(in_dir / "clash_inside", reference(7))


@pytest.mark.slow
def test_a_duplicate_id_in_a_later_nightly_run_gives_one_runs_dropped_bytes(cluster, adversarial, reference, run_flow, in_dir):
    base, _ = adversarial
    cfg = _config(in_dir.parent / "dask.toml", "dask", 7, address=cluster.address)
    _nightly(run_flow, base, "clash_across", in_dir, cfg)
    assert (in_dir / "clash_across" / "articles.jsonl").read_bytes() == (reference(7) / "articles.jsonl").read_bytes()
    assert (in_dir / "clash_across" / "dropped.jsonl").read_bytes() == (reference(7) / "dropped.jsonl").read_bytes()


def test_no_scheduler_at_the_address_is_one_line(tmp_path):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = _config(tmp_path / "dask.toml", "dask", 10, address=f"tcp://127.0.0.1:{port}")
    p = _cli(["--input", str(ROOT / "raw"), "--output", "out", "--config", str(cfg)], tmp_path, _env(tmp_path), timeout=120)
    assert p.returncode == 2, p.stderr[-3000:]
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr[-3000:]
    assert lines[0].startswith("newsclean run: ") and f"127.0.0.1:{port}" in lines[0] and "scheduler" in lines[0]
    assert not (tmp_path / "out" / "articles.jsonl").exists()


def test_a_malformed_dask_address_is_one_line(tmp_path):
    cfg = _config(tmp_path / "dask.toml", "dask", 10, address="http://127.0.0.1:8786")
    p = _cli(["--input", str(ROOT / "raw"), "--output", "out", "--config", str(cfg)], tmp_path, _env(tmp_path), timeout=120)
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr[-3000:]
    (line,) = p.stderr.strip().splitlines()
    assert line.startswith("newsclean run: ") and "dask_address" in line


def _unshare_works(probe: Path) -> bool:
    """Whether this machine lets a process mount over a folder in a mount
    namespace of its own (unprivileged user namespaces)."""
    probe.mkdir(parents=True, exist_ok=True)
    try:
        p = subprocess.run(["unshare", "-rm", "sh", "-c", 'mount -t tmpfs none "$0"', str(probe)], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return p.returncode == 0


@pytest.mark.slow
def test_a_worker_that_does_not_see_the_output_folder_is_refused_in_one_line(tmp_path):
    """Two workers on one scheduler; the second lives in a mount namespace
    where the test's folder is an empty file system of its own: it sees the
    output folder's path, not its files (what a worker on a machine without
    the shared storage sees). The run refuses before any work is sent."""
    if not _unshare_works(tmp_path / "probe"):
        pytest.skip("no unprivileged mount namespaces here (unshare -rm): a worker cannot be shown another file system")
    hidden = tmp_path / "shared"
    hidden.mkdir()
    c = Cluster(tmp_path / "cluster")
    try:
        c.start_scheduler()
        c.add_worker("sees", tmp_path / "cluster")
        c.add_worker("blind", tmp_path / "cluster",
                     wrap=["unshare", "-rm", "sh", "-c", 'mount -t tmpfs none "$0" && exec "$@"', str(hidden)])
        c.wait_for(2)
        cfg = _config(tmp_path / "dask.toml", "dask", 10, address=c.address)
        p = _cli(["--input", str(ROOT / "raw"), "--output", str(hidden / "out"), "--config", str(cfg)], tmp_path, _env(tmp_path))
    finally:
        c.stop()
    assert p.returncode == 2, p.stderr[-3000:]
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr[-3000:]
    assert re.match(r"newsclean run: Dask worker tcp://127\.0\.0\.1:\d+ cannot read " + re.escape(str(hidden / "out")), lines[0]), lines[0]
    assert "1 of 2 workers" in lines[0] and "shares" in lines[0]
    assert not (hidden / "out" / "articles.jsonl").exists()


def _bigger_input(folder: Path, n: int = 480) -> None:
    rnd = random.Random(5)
    sources = sorted(_FOOTERS)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "feed.jsonl", "w", encoding="utf-8") as fh:
        for k in range(n):
            fh.write(json.dumps(_article(rnd, k, sources[k % 3])) + "\n")


@pytest.mark.slow
def test_a_worker_killed_while_shards_are_cleaned_leaves_the_process_pools_corpus(cluster, run_flow, tmp_path):
    """SIGKILL the worker process that is cleaning a shard (its nanny starts
    another): the scheduler gives the shard to a worker again, and the run
    (or, if it fails, the same command again) ends with the process pool's
    corpus."""
    _bigger_input(tmp_path / "input")
    ref = tmp_path / "processes"
    run_flow(tmp_path / "input", ref, config=_config(tmp_path / "processes.toml", "processes", 30))
    here = tmp_path / "driver"
    here.mkdir()
    cfg = _config(tmp_path / "dask.toml", "dask", 30, address=cluster.address)
    args = ["--input", str(tmp_path / "input"), "--output", "out", "--config", str(cfg)]
    cmd = [sys.executable, "-m", "pipelines.cli", "run", *args]
    run = subprocess.Popen(cmd, cwd=here, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = None
    with cluster.client() as client:
        before = client.run(os.getpid)
        deadline = time.monotonic() + 300
        while killed is None and run.poll() is None and time.monotonic() < deadline:
            busy = {w: keys for w, keys in client.processing().items() if any(str(k).startswith("clean_shard") for k in keys)}
            if busy:
                worker = sorted(busy)[0]
                killed = before[worker]
                os.kill(killed, signal.SIGKILL)
                break
            time.sleep(0.05)
        out, err = run.communicate(timeout=600)
        assert killed is not None, f"no shard was seen being cleaned: {err[-3000:]}"
        # The nanny replaced the process (the kill was real); the cluster is whole again for later tests.
        client.wait_for_workers(2, timeout=180)
        after = client.run(os.getpid)
    assert killed not in after.values()
    if run.returncode != 0:
        lines = err.strip().splitlines()
        assert "Traceback" not in err and lines and lines[-1].startswith("newsclean run: "), err[-3000:]
        p = _cli(args, here, _env(tmp_path))
        assert p.returncode == 0, p.stderr[-3000:]
    _same(here / "out", ref)
