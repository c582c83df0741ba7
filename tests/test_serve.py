"""Scheduled runs for real: a local Prefect server, ``newsclean serve`` with a
short schedule, and runs the scheduler started (not runs triggered by hand)
completing with their outputs; then a clean shutdown.

Starts real processes, so every wait is bounded and every process group is
killed in ``finally`` whatever happens.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from pipelines.config import load_config
from pipelines.serve import ServeError, make_plan, schedules

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(what: str, check, timeout: float, procs: dict[str, subprocess.Popen], logs: dict[str, Path], every: float = 1.0):
    """Poll ``check()`` until it returns something truthy; fail with the
    processes' logs if it times out or a process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, p in procs.items():
            if p.poll() is not None:
                pytest.fail(f"{name} exited with {p.returncode} while waiting for {what}:\n{_tail(logs[name])}")
        try:
            got = check()
        except httpx.HTTPError:
            got = None
        if got:
            return got
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n" + "\n".join(f"--- {n}:\n{_tail(p)}" for n, p in logs.items()))


def _tail(path: Path, n: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def _stop(p: subprocess.Popen | None, timeout: float) -> int | None:
    """SIGTERM the process group, then SIGKILL what is left after ``timeout``."""
    if p is None:
        return None
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(p.pid, signal.SIGKILL)  # stragglers of the group (run subprocesses)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        return p.wait(10)
    except subprocess.TimeoutExpired:
        return None


def test_plan_takes_the_schedule_from_the_config_unless_the_command_line_gives_one(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[boilerplate]\nrules = "%s"\n[schedule]\ncron = "30 1 * * 1-5"\ntimezone = "Europe/Berlin"\ndeployment = "weekdays"\n'
                   % (ROOT / "configs" / "rules.toml"))
    plan = make_plan("raw", "out", cfg, True, None, None, None, None)
    assert (plan.name, plan.cron, plan.interval, plan.timezone) == ("weekdays", ("30 1 * * 1-5",), None, "Europe/Berlin")
    assert plan.parameters["input_path"] == str(Path("raw").resolve())
    assert plan.parameters["config_path"] == str(cfg.resolve())
    (sched,) = schedules(plan)
    assert sched.cron == "30 1 * * 1-5" and sched.timezone == "Europe/Berlin"

    plan = make_plan("raw", "out", cfg, False, ["0 2 * * *"], 90, "adhoc", None)
    assert (plan.name, plan.cron, plan.interval) == ("adhoc", ("0 2 * * *",), 90)
    assert plan.parameters["dedup"] is False
    cron, interval = schedules(plan)
    assert interval.interval.total_seconds() == 90

    with pytest.raises(ServeError, match="cron"):
        schedules(make_plan("raw", "out", cfg, True, ["0 2 * *"], None, None, None))
    # The shipped config schedules a nightly run.
    assert load_config().schedule.cron == "0 2 * * *"


def test_serve_without_a_server_explains_how_to_start_one(tmp_path):
    env = {**os.environ, "PREFECT_API_URL": f"http://127.0.0.1:{_free_port()}/api", "NEWSCLEAN_HOME": str(tmp_path)}
    p = subprocess.run([str(BIN / "newsclean"), "serve", "--cron", "0 2 * * *", "--output", str(tmp_path / "out")],
                       env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert "prefect server start" in p.stderr
    assert not (tmp_path / "out").exists()


def test_scheduled_runs_complete_incrementally_then_shut_down(tmp_path):
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    base_env.update({
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "NEWSCLEAN_HOME": str(tmp_path / "state"),
    })
    src = tmp_path / "input"
    shutil.copytree(ROOT / "raw", src)
    out = tmp_path / "out"
    logs = {"server": tmp_path / "server.log", "serve": tmp_path / "serve.log"}
    server = serve = None
    try:
        with open(logs["server"], "w") as log:
            server = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                                      env=base_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        client = httpx.Client(base_url=api, timeout=10)
        # A fresh database takes ~25 s to migrate on two busy cores.
        _wait("the Prefect server", lambda: client.get("/health").status_code == 200, 180, {"server": server}, logs)

        with open(logs["serve"], "w") as log:
            serve = subprocess.Popen(
                [str(BIN / "newsclean"), "serve", "--interval", "5", "--name", "test-schedule",
                 "--input", str(src), "--output", str(out)],
                env={**base_env, "PREFECT_API_URL": api}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=tmp_path,
            )
        procs = {"server": server, "serve": serve}

        def deployment():
            r = client.post("/deployments/filter", json={"deployments": {"name": {"any_": ["test-schedule"]}}})
            return (r.json() or [None])[0]

        dep = _wait("the deployment", deployment, 90, procs, logs)
        (sched,) = dep["schedules"]
        assert sched["schedule"]["interval"] == 5 and sched["active"]

        def completed_runs():
            r = client.post("/flow_runs/filter", json={
                "flow_runs": {"deployment_id": {"any_": [dep["id"]]}, "state": {"type": {"any_": ["COMPLETED"]}}},
                "sort": "START_TIME_ASC",
            })
            return r.json()

        def records():
            return [json.loads(p.read_text()) for p in sorted((out / "runs").glob("*.json"))] if (out / "runs").exists() else []

        first = _wait("a scheduled run to complete", completed_runs, 150, procs, logs)[0]
        assert first["auto_scheduled"], "the run was created by the scheduler, not triggered by hand"
        by_run = {r["prefect"]["flow_run_id"]: r for r in records()}
        rec = by_run[first["id"]]
        assert rec["prefect"]["deployment"] == "test-schedule"
        assert rec["counts"]["new"] > 40 and rec["counts"]["unchanged"] == 0
        kept = [json.loads(l)["id"] for l in (out / "articles.jsonl").read_text().splitlines()]
        dropped = [json.loads(l)["id"] for l in (out / "dropped.jsonl").read_text().splitlines()]
        assert len(kept) == rec["counts"]["corpus_kept"] > 0
        assert len(kept) + len(dropped) == rec["counts"]["documents"]
        assert (out / "report.html").stat().st_size > 10_000
        # The run's numbers are in the Prefect UI next to it.
        arts = client.post("/artifacts/filter", json={"artifacts": {"flow_run_id": {"any_": [first["id"]]}}}).json()
        by_type = {a["type"]: a for a in arts}
        assert {"table", "markdown"} <= set(by_type)
        table = by_type["table"]["data"]
        table = json.loads(table) if isinstance(table, str) else table
        rows = {(r["stage"], r["reason"]): r["count"] for r in table}
        assert rows[("read", "documents")] == rec["counts"]["documents"]
        assert rows[("corpus", "kept")] == len(kept)
        assert rows[("read", "quarantined")] == rec["counts"]["quarantined"] > 0
        assert f"newsclean run {rec['run_id']}" in by_type["markdown"]["data"]

        # New input arrives between two scheduled runs: the next run reads only it.
        late = src / "late"
        late.mkdir()
        shutil.copy(src / "harbor-gazette" / "oyster-season.txt", late / "oyster-season-again.txt")

        def incremental_record():
            for r in records():
                if r["counts"]["new"] == 1 and r["prefect"]["deployment"] == "test-schedule":
                    return r
            return None

        rec2 = _wait("a scheduled run that picks up the new file", incremental_record, 120, procs, logs)
        assert rec2["counts"]["unchanged"] == rec["counts"]["documents"] - rec["counts"]["updated"]
        assert rec2["counts"]["documents"] == rec["counts"]["documents"] + 1
        assert rec2["config_hash"] == rec["config_hash"]
        dropped = {json.loads(l)["id"]: json.loads(l) for l in (out / "dropped.jsonl").read_text().splitlines()}
        kept = {json.loads(l)["id"] for l in (out / "articles.jsonl").read_text().splitlines()}
        new_id, original = "late/oyster-season-again.txt", "harbor-gazette/oyster-season.txt"
        # A copy of a kept article: folded into it, whichever of the two is
        # canonical; the other one is dropped as its duplicate.
        assert (new_id in kept) != (original in kept), "exactly one of the copy and its original is kept"
        gone = original if new_id in kept else new_id
        assert gone in dropped and dropped[gone]["reason"] == "duplicate"

        # Ctrl-C/SIGTERM: the runner stops and pauses the schedule.
        code = _stop(serve, 60)
        serve = None
        assert code == 0, _tail(logs["serve"])
        assert deployment()["paused"], "serve pauses its schedule on shutdown"
    finally:
        _stop(serve, 30)
        code = _stop(server, 30)
    assert code is not None, "the Prefect server did not exit"
