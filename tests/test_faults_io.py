"""Faults of files and disks end in one line: a missing, empty or damaged
model file is refused before any input is read; a full disk or a read-only
output folder during the writes names the file, leaves the previous
generation whole and nothing half-written; newsclean never reads its own
output; a run whose outputs switched has its record in runs/."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import ROOT
from pipelines.config import ConfigError
from pipelines.readers import InputError
from pipelines.store import TMP_MARK, OutputError, atomic_open, clear_stale, write_jsonl


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _story(n: int) -> str:
    return (f"Story {n}: the harbour board met on Tuesday\n\nThe board voted to dredge berth {n} before the autumn "
            "storms, after pilots reported that the channel had silted up since the spring. The work will take three "
            "weeks and the ferry keeps its timetable throughout, the chairman said. Fishermen asked for the spoil to "
            "be taken offshore rather than to the beach, and the board agreed to publish its plan next month.\n")


@pytest.fixture()
def done(sample_run, tmp_path):
    """A copy of a finished output folder of the sample (symlinks kept)."""
    out = tmp_path / "out"
    shutil.copytree(sample_run[0], out, symlinks=True)
    return out


def _leftovers(folder: Path) -> list[str]:
    return [str(p) for p in folder.rglob("*") if TMP_MARK in p.name]


# ---------------------------------------------------------------- disk errors


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_a_disk_error_while_writing_names_the_file_and_leaves_the_old_one(tmp_path, monkeypatch, code):
    target = tmp_path / "articles.jsonl"
    write_jsonl(target, [{"id": "old"}])

    def fail(*_args, **_kw):
        raise OSError(code, os.strerror(code))

    # ENOSPC shows at fsync (delayed allocation); a read-only folder refuses the temporary file.
    monkeypatch.setattr("pipelines.store.os.fsync" if code == errno.ENOSPC else "pipelines.store.tempfile.mkstemp", fail)
    with pytest.raises(OutputError) as err:
        write_jsonl(target, ({"id": str(i)} for i in range(1000)))
    msg = str(err.value)
    assert msg.startswith(f"cannot write {target}: {os.strerror(code)};") and "\n" not in msg
    assert ("free space" in msg) if code == errno.ENOSPC else ("mount it writable" in msg)
    assert _jsonl(target) == [{"id": "old"}] and not _leftovers(tmp_path)


def test_an_error_that_is_no_disk_error_is_not_disguised(tmp_path):
    with pytest.raises(ValueError), atomic_open(tmp_path / "x.json") as fh:
        fh.write("{")
        raise ValueError("a bug")
    assert not _leftovers(tmp_path) and not (tmp_path / "x.json").exists()


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_a_run_that_hits_a_full_disk_or_read_only_output_changes_nothing(done, run_flow, monkeypatch, tmp_path, code):
    raw = tmp_path / "raw"
    shutil.copytree(ROOT / "raw", raw)
    (raw / "late.txt").write_text(_story(1))  # new input: a run that would change the outputs
    before = {n: (done / n).read_bytes() for n in ("articles.jsonl", "dropped.jsonl", "report.json")}
    current = os.readlink(done / "current")
    real_fsync = os.fsync

    def full(fd):  # the disk fills up while the new generation is written
        if "/generations/" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(code, os.strerror(code))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OutputError) as err:
        run_flow(raw, done)
    msg = str(err.value)
    assert f"cannot write {done}/generations/" in msg and os.strerror(code) in msg and "\n" not in msg
    assert os.readlink(done / "current") == current
    assert {n: (done / n).read_bytes() for n in before} == before
    assert not _leftovers(done)
    monkeypatch.setattr(os, "fsync", real_fsync)
    run_flow(raw, done)  # the rerun completes it
    assert "late.txt" in {a["id"] for a in _jsonl(done / "articles.jsonl")}


# ---------------------------------------------------------------- the model file


def _refused_before_reading(run_flow, tmp_path: Path, monkeypatch, cfg: Path) -> str:
    """The ConfigError's message of a run with ``cfg``, which must come
    before the input is scanned."""

    def no_reading(*_a, **_kw):
        raise AssertionError("the input was read before the model was checked")

    monkeypatch.setattr("pipelines.tasks.scan", no_reading)
    with pytest.raises(ConfigError) as err:
        run_flow(ROOT / "raw", tmp_path / "out", cfg)
    return str(err.value)


def _config_with_model(tmp_path: Path, model: str) -> Path:
    cfg = tmp_path / "run.toml"
    cfg.write_text(f'[boilerplate]\nmodel = "{model}"\nrules = "{ROOT / "configs" / "rules.toml"}"\n')
    return cfg


@pytest.mark.parametrize("model, content, problem", [
    ("gone.json", None, "no such file"),
    ("model.json", "", "the file is empty"),
    ("model.json", '{"feature_version": 2, "features": [', "not a model file (broken JSON at line 1, column 37)"),
    ("model.json", '{"feature_version": 2}', "not a usable model (KeyError: 'features')"),
])
def test_a_bad_model_file_is_refused_by_name_before_any_input_is_read(run_flow, tmp_path, monkeypatch, model, content, problem):
    if content is not None:
        (tmp_path / model).write_text(content)
    msg = _refused_before_reading(run_flow, tmp_path, monkeypatch, _config_with_model(tmp_path, model))
    # A missing file is named where the user would put it: beside their configuration.
    where = tmp_path / model
    assert msg.startswith(f"{where}: [boilerplate] model: {problem}") and "make train-boilerplate" in msg
    assert not (tmp_path / "out" / "state" / "segments").exists() or not any((tmp_path / "out" / "state" / "segments").iterdir())


def test_a_bad_offtopic_model_file_is_refused_by_name_before_any_input_is_read(run_flow, tmp_path, monkeypatch):
    (tmp_path / "topic.json").write_text('{"features": ["shared"]}')
    cfg = tmp_path / "run.toml"
    cfg.write_text(f'[boilerplate]\nofftopic_model = "topic.json"\nrules = "{ROOT / "configs" / "rules.toml"}"\n')
    msg = _refused_before_reading(run_flow, tmp_path, monkeypatch, cfg)
    assert msg.startswith(f"{tmp_path / 'topic.json'}: [boilerplate] offtopic_model: not a usable model (ValueError: "
                          "off-topic model has features ['shared']")
    assert "make train-offtopic" in msg and "\n" not in msg


def test_the_command_line_says_it_in_one_line(tmp_path):
    (tmp_path / "model.json").write_text("{not json")
    cfg = _config_with_model(tmp_path, "model.json")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(_story(0))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["NEWSCLEAN_HOME"] = str(tmp_path / "home")
    proc = subprocess.run([sys.executable, "-m", "pipelines.cli", "run", "--input", str(tmp_path / "in"), "--output",
                           str(tmp_path / "out"), "--config", str(cfg)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    # The one line; Prefect's own notes (its temporary server) are not failures.
    errors = [line for line in proc.stderr.splitlines() if line.startswith("newsclean run:")]
    assert errors == [f"newsclean run: {tmp_path / 'model.json'}: [boilerplate] model: not a model file (broken JSON "
                      f"at line 1, column 2); point [boilerplate] model at a trained model (newsclean ships "
                      f"configs/boilerplate-model.json), retrain it (make train-boilerplate), or take \"classifier\" out "
                      f"of [boilerplate] steps"]
    assert not [line for line in proc.stderr.splitlines() if "ERROR" in line or "Failed" in line], proc.stderr


# ---------------------------------------------------------------- own output


def test_an_output_folder_inside_the_input_is_never_read_back(run_flow, tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    for i in range(5):
        (d / f"story-{i}.txt").write_text(_story(i))
    seen = []
    for _ in range(3):
        result = run_flow(d, d / "out")
        record = json.loads(Path(result["record"]).read_text())
        seen.append((record["counts"]["documents"], record["files"], record["counts"]["quarantined"]))
    assert seen == [(5, 5, 0)] * 3
    accounted = [r["id"] for name in ("articles.jsonl", "dropped.jsonl") for r in _jsonl(d / "out" / name)]
    assert sorted(accounted) == [f"story-{i}.txt" for i in range(5)]


@pytest.mark.parametrize("inside", ["", "generations", "state/segments"])
def test_an_input_in_an_output_folder_is_refused(done, run_flow, tmp_path, inside):
    with pytest.raises(InputError, match="is a newsclean output folder.*never reads its own output"):
        run_flow(done / inside if inside else done, tmp_path / "elsewhere")


# ---------------------------------------------------------------- the run record


LATE = ("The harbour board voted on Thursday to extend the ferry timetable through the winter months. "
        "Officials said the extra sailings would cost about forty thousand pounds a year and would be paid from "
        "the parking revenue the board collects at the terminal. Residents of the outer islands had asked for the "
        "change for three years, saying the last boat left too early for anyone working a full day in town.")


def test_a_run_that_dies_after_its_outputs_switched_keeps_its_record(done, run_flow, monkeypatch, tmp_path):
    import pipelines.flow as flow

    real_commit = flow.commit_generation

    def commit_then_die(out, gen):
        real_commit(out, gen)
        raise KeyboardInterrupt  # killed between the switch and anything after it

    monkeypatch.setattr(flow, "commit_generation", commit_then_die)
    runs_before = set(os.listdir(done / "runs"))
    # Something new to read: a rerun with nothing new leaves the outputs standing (no switch).
    raw = tmp_path / "raw"
    shutil.copytree(ROOT / "raw", raw)
    (raw / "late.jsonl").write_text(json.dumps({"id": "late-1", "text": LATE}) + "\n", encoding="utf-8")
    with pytest.raises(KeyboardInterrupt):
        run_flow(raw, done)
    record = json.loads((done / "current" / "run.json").read_text())
    assert f"{record['run_id']}.json" not in runs_before
    monkeypatch.setattr(flow, "commit_generation", real_commit)
    manifest = json.loads((done / "state" / "manifest.json").read_text())
    clear_stale(done, manifest["segments"])  # what the next run does first, under the lock
    assert json.loads((done / "runs" / f"{record['run_id']}.json").read_text()) == record
