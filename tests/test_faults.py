"""The output folder under misuse and faults: one run at a time, state
verified before it is read, outputs switched as one generation, leftovers of
killed runs removed."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT
from pipelines.store import LOCK_NAME, STATE_FORMAT, OutputLock, OutputLocked, StateError


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture()
def done(sample_run, tmp_path):
    """A copy of a finished output folder of the sample (symlinks kept)."""
    out = tmp_path / "out"
    shutil.copytree(sample_run[0], out, symlinks=True)
    return out


def _cli(*args: str, **kw) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["NEWSCLEAN_HOME"] = kw.pop("home")
    return subprocess.Popen([sys.executable, "-m", "pipelines.cli", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_two_concurrent_runs_one_is_refused_at_once_the_other_is_whole(tmp_path):
    out = tmp_path / "out"
    home = str(tmp_path / "home")
    first = _cli("run", "--input", str(ROOT / "raw"), "--output", str(out), home=home)
    lock = out / LOCK_NAME
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (lock.exists() and str(first.pid) in lock.read_text()):
        assert first.poll() is None, first.communicate()
        time.sleep(0.05)
    second = _cli("run", "--input", str(ROOT / "raw"), "--output", str(out), home=home)
    _, err2 = second.communicate(timeout=120)
    first_still_running = first.poll() is None
    _, err1 = first.communicate(timeout=300)
    assert first.returncode == 0, err1
    assert second.returncode == 2, err2
    assert f"pid {first.pid} on host {socket.gethostname()}" in err2 and "Traceback" not in err2
    # Refused at once: before it started anything, while the first still runs.
    assert first_still_running
    assert "Prefect" not in err2
    kept, dropped = _jsonl(out / "articles.jsonl"), _jsonl(out / "dropped.jsonl")
    from pipelines.readers import read_documents, scan

    assert sorted(d["id"] for d in kept + dropped) == sorted(d.id for d in read_documents(scan(ROOT / "raw")))
    assert len(list((out / "runs").glob("*.json"))) == 1


def test_the_lock_names_its_holder_and_a_dead_holders_lock_is_taken_over(tmp_path, run_flow):
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from pipelines.store import OutputLock; "
                               "OutputLock(sys.argv[1]).acquire(); print('held', flush=True); time.sleep(60)", str(out)],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(OutputLocked) as err:
            OutputLock(out).acquire()
        assert f"pid {holder.pid} on host {socket.gethostname()}" in str(err.value)
    finally:
        holder.kill()
        holder.wait()
    # The dead holder's file is still there, naming it; its lock died with it.
    assert str(holder.pid) in (out / LOCK_NAME).read_text()
    result = run_flow(ROOT / "raw", out)
    assert result["kept"] > 0
    assert json.loads((out / LOCK_NAME).read_text())["pid"] == os.getpid()


def _first(out: Path, pattern: str) -> Path:
    return sorted((out / "state" / "segments").rglob(pattern))[0]


@pytest.mark.parametrize("damage", ["delete candidates", "truncate candidates", "edit signatures", "delete segment",
                                    "delete index", "break manifest"])
def test_damaged_state_is_refused_naming_the_file_before_any_output_changes(done, run_flow, damage):
    before = {n: (done / n).read_bytes() for n in ("articles.jsonl", "dropped.jsonl")}
    if damage == "delete candidates":
        target = _first(done, "*.candidates.jsonl")
        target.unlink()
    elif damage == "truncate candidates":
        target = _first(done, "*.candidates.jsonl")
        data = target.read_bytes()
        target.write_bytes(data[: len(data) // 2])
    elif damage == "edit signatures":
        target = _first(done, "*.signatures.npy")
        data = bytearray(target.read_bytes())
        data[-1] ^= 0xFF
        target.write_bytes(bytes(data))
    elif damage == "delete segment":
        target = _first(done, "00001")
        shutil.rmtree(target)
    elif damage == "delete index":
        target = _first(done, "*.index.tsv")
        target.unlink()
    else:
        target = done / "state" / "manifest.json"
        target.write_text("{not json")
    with pytest.raises(StateError) as err:
        run_flow(ROOT / "raw", done)
    msg = str(err.value)
    assert target.name in msg and "newsclean run --input" in msg and str(done) in msg
    assert {n: (done / n).read_bytes() for n in before} == before


def test_leftovers_of_a_killed_run_are_removed_and_outputs_switch_as_one_generation(done, run_flow):
    (done / ".articles.jsonl.ab12cd_9").write_text("half")  # an old-style temporary file
    (done / ".dropped.jsonl.newsclean-tmp-xyz").write_text("half")
    (done / "state" / ".staging-20260101T000000000000Z").mkdir()
    (done / "state" / ".staging-20260101T000000000000Z" / "raw-00000.jsonl").write_text("{}")
    (done / "state" / "segments" / "00099").mkdir()
    half = done / "generations" / "29991231T000000000000Z"  # a generation written but never switched to
    half.mkdir()
    (half / "articles.jsonl").write_text("{}\n")
    before = (done / "articles.jsonl").read_bytes()
    # No run record (neither in runs/ nor in the generation, as a folder
    # written before records were committed with their outputs): the run
    # cannot tell that the outputs stand (nothing new since they were
    # written), so it writes them again, as a new generation.
    shutil.rmtree(done / "runs")
    (done / "current" / "run.json").unlink()
    run_flow(ROOT / "raw", done)
    assert not list(done.glob(".articles.jsonl.*")) and not list(done.glob(".dropped.jsonl.*"))
    assert not list((done / "state").glob(".staging-*"))
    assert not (done / "state" / "segments" / "00099").exists() and not half.exists()
    assert (done / "articles.jsonl").read_bytes() == before
    for name in ("articles.jsonl", "dropped.jsonl", "report.json", "report.html"):
        assert os.readlink(done / name) == f"current/{name}"
    current = (done / "current").resolve()
    assert current.parent == done / "generations"
    # The current generation and the previous one (for readers still in it) are all that is kept.
    assert len(list((done / "generations").iterdir())) == 2


def test_a_legacy_folder_with_plain_output_files_is_upgraded(done, run_flow):
    """A folder written before generations (plain files, format 1 state)."""
    for name in ("articles.jsonl", "dropped.jsonl", "report.json", "report.html"):
        data = (done / name).read_bytes()
        (done / name).unlink()
        (done / name).write_bytes(data)
    shutil.rmtree(done / "generations")
    (done / "current").unlink()
    manifest = json.loads((done / "state" / "manifest.json").read_text())
    seg = done / "state" / "segments" / manifest["segments"][-1]
    if (seg / "boilerplate.json").exists():
        os.replace(seg / "boilerplate.json", done / "state" / "boilerplate.json")
    (done / "state" / "manifest.json").write_text(json.dumps({"format": 1, "dedup": manifest["dedup"], "segments": manifest["segments"]}))
    before = (done / "articles.jsonl").read_bytes()
    result = run_flow(ROOT / "raw", done)
    assert json.loads(Path(result["record"]).read_text())["counts"]["unchanged"] > 0
    assert (done / "articles.jsonl").is_symlink() and (done / "articles.jsonl").read_bytes() == before
    assert json.loads((done / "state" / "manifest.json").read_text())["format"] == STATE_FORMAT


# --------------------------------------------------------------------------
# Signals: a run stopped mid-way says what it committed, leaves no process
# behind, and the next run heals the folder.


N_MANY = 4000


def _shuffled_articles(path: Path, n: int, seed: int) -> None:
    """``n`` distinct articles of 12 sentences drawn from the sample's stories."""
    import random

    stories = [p.read_bytes().decode("utf-8", "ignore") for p in sorted((ROOT / "raw").rglob("*.txt"))]
    sents = [s for t in stories for s in t.replace("\n", " ").split(". ") if len(s.split()) > 5]
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps({"id": f"doc-{i}", "text": ". ".join(rng.sample(sents, 12)) + "."}) + "\n")


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    """4,000 distinct articles made of the sample's sentences, and a config
    of small shards, so that a run is still cleaning when the signal comes."""
    d = tmp_path_factory.mktemp("many")
    _shuffled_articles(d / "in.jsonl", N_MANY, seed=7)
    (d / "run.toml").write_text(f'[run]\nshard_size = 300\n[boilerplate]\nrules = "{ROOT / "configs" / "rules.toml"}"\n')
    return d


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                ppid = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(p.name))
    out, todo = [], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        out += kids
        todo += kids
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
def test_ctrl_c_mid_run_stops_it_cleanly_and_leaves_nothing_running(many, tmp_path):
    import signal

    out = tmp_path / "out"
    home = str(tmp_path / "home")
    run = _cli("run", "--input", str(many / "in.jsonl"), "--output", str(out), "--config", str(many / "run.toml"),
               home=home, start_new_session=True)
    deadline = time.monotonic() + 300
    # Mid-clean: the first shards are written, the run is not done.
    while not list((out / "state").glob(".staging-*/0000*.index.tsv")):
        assert run.poll() is None, run.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    procs = _descendants(run.pid)
    assert len(procs) >= 3  # the fork server, its resource tracker, workers
    t = time.monotonic()
    os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C does
    _, err = run.communicate(timeout=60)
    took = time.monotonic() - t
    assert took < 10 and run.returncode == 130
    assert "Traceback" not in err
    assert _said(err) == [f"newsclean run: stopped by SIGINT: nothing of this run was committed; "
                          f"{out} is as the last complete run left it"], err
    assert not _still_alive(procs, run.pid), f"still running {took:.1f} s after the signal"
    # The next run heals the folder: every document, once.
    again = _cli("run", "--input", str(many / "in.jsonl"), "--output", str(out), "--config", str(many / "run.toml"), home=home)
    _, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    ids = [json.loads(line)["id"] for name in ("articles.jsonl", "dropped.jsonl")
           for line in (out / name).read_text(encoding="utf-8").splitlines()]
    assert sorted(ids) == sorted(f"doc-{i}" for i in range(N_MANY))


def _said(err: str) -> list[str]:
    """What a run printed on stderr besides its log lines."""
    return [line for line in err.splitlines() if not any(f"| {lvl}" in line for lvl in ("INFO", "WARNING"))]


def _run_processes(pid: int) -> list[int]:
    """Every process a run started: its descendants, and whatever carries
    its pid in the environment (the fork server, its resource tracker and
    workers, found even once the run is gone and they were adopted)."""
    tagged = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if f"NEWSCLEAN_RUN_PID={pid}\0".encode() in (p / "environ").read_bytes():
                    tagged.append(int(p.name))
            except OSError:
                continue
    return sorted(set(_descendants(pid)) | set(tagged))


def _still_alive(procs: list[int], pid: int, wait: float = 5.0) -> list[int]:
    """The run's processes still alive ``wait`` seconds from now."""
    end = time.monotonic() + wait
    left = procs
    while time.monotonic() < end:
        left = [p for p in set(left) | set(_run_processes(pid)) if _alive(p)]
        if not left:
            return []
        time.sleep(0.1)
    return left


N_SWEEP = 300


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """300 articles in shards of 100 (so the run starts its workers), and
    the outputs and wall time of an uninterrupted run over them."""
    d = tmp_path_factory.mktemp("sweep")
    _shuffled_articles(d / "in.jsonl", N_SWEEP, seed=11)
    (d / "run.toml").write_text("[run]\nshard_size = 100\n")
    t = time.monotonic()
    ref = _cli("run", "--input", str(d / "in.jsonl"), "--output", str(d / "ref"), "--config", str(d / "run.toml"),
               home=str(d / "home"))
    _, err = ref.communicate(timeout=600)
    assert ref.returncode == 0, err
    return d, time.monotonic() - t


SWEEP_POINTS = 10


@pytest.mark.slow
@pytest.mark.parametrize("point", range(SWEEP_POINTS))
def test_kill_sweep_nothing_outlives_the_run_and_the_rerun_heals(sweep, tmp_path, point):
    """SIGTERM and SIGKILL (alternately) at ten points from 0.2 s to the end
    of a run: SIGTERM ends it with 143 in one line within 10 s; after either,
    no process of the run is alive 5 s later, and the next run writes the
    same bytes as a run never interrupted."""
    import signal

    d, wall = sweep
    how = signal.SIGTERM if point % 2 == 0 else signal.SIGKILL
    at = 0.2 + (wall - 0.2) * point / (SWEEP_POINTS - 1) * 0.95
    out, home = tmp_path / "out", str(tmp_path / "home")
    args = ("run", "--input", str(d / "in.jsonl"), "--output", str(out), "--config", str(d / "run.toml"))
    run = _cli(*args, home=home)
    time.sleep(at)
    procs = _run_processes(run.pid)
    run.send_signal(how)
    t = time.monotonic()
    _, err = run.communicate(timeout=60)
    took = time.monotonic() - t
    if how == signal.SIGKILL:
        assert run.returncode == -9 or run.returncode == 0, err  # 0: it finished first
    elif run.returncode == -signal.SIGTERM:
        # Before the interpreter ran newsclean's first line (a busy machine
        # can take that long to start Python): the signal's default action,
        # which a shell reports as 143 too. Nothing was started or created.
        assert err == "" and not out.exists(), err
    elif run.returncode != 0:
        assert run.returncode == 143 and took < 10, (run.returncode, took, err)
        assert "Traceback" not in err
        said = _said(err)
        assert len(said) == 1 and "stopped by SIGTERM" in said[0], err
    assert not _still_alive(procs, run.pid), f"{how.name} at {at:.1f} s left processes running"
    again = _cli(*args, home=home)
    _, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    for name in ("articles.jsonl", "dropped.jsonl"):
        assert (out / name).read_bytes() == (d / "ref" / name).read_bytes(), f"{name} after {how.name} at {at:.1f} s"


def test_a_signal_swallowed_where_it_landed_is_raised_again_at_the_next_step():
    """SIGTERM whose exception lands in a callback Python cannot raise from
    (here a weakref callback, as in the import machinery at start-up) prints
    no traceback, and the run stops at its next step instead of going on
    (kill sweep point 0 once ran the whole run after such a signal)."""
    code = (
        "import gc, os, signal, weakref\n"
        "from pipelines import runtime\n"
        "runtime.raise_on_signals()\n"
        "class Holder: pass\n"
        "h = Holder()\n"
        "r = weakref.ref(h, lambda _ref: os.kill(os.getpid(), signal.SIGTERM))\n"
        "del h; gc.collect()\n"
        "print('went on', flush=True)\n"
        "try:\n"
        "    runtime.check_interrupted()\n"
        "except runtime.Interrupted as exc:\n"
        "    print('stopped at the next step:', exc, flush=True)\n"
        "    runtime.say_stopped('stopped'); os._exit(0)\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == ["went on", "stopped at the next step: SIGTERM"]
    assert "Traceback" not in p.stderr and "Exception ignored" not in p.stderr, p.stderr
