"""How newsclean runs: Prefect's settings, logging, signals, and the
processes a run starts (all tied to it, none outliving it).

A plain ``newsclean run`` is a local run (see
:func:`pipelines.flow.run_newsclean`): no Prefect server, whose start would
cost a small run most of its time. Prefect orchestrates the run when the user
points it at a server (``PREFECT_API_URL``) or sends shard work to a Prefect
task runner (``[run] executor = "prefect"``); for the latter with no server,
``newsclean run`` starts Prefect's temporary server itself, first thing
(:func:`start_api_server`), so that it boots on the other core while this
process imports the pipeline and warms up its workers.

Defaults set here before ``prefect`` is imported (anything the user sets
wins): no analytics (they try to reach the internet), no UI, a start-up
timeout long enough for a busy two-core machine, and Prefect's database in
the user's data directory, never in the checkout.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

def state_home() -> Path:
    """Where newsclean keeps Prefect's database when it starts Prefect's
    temporary server: ``$NEWSCLEAN_HOME``, else the user's data directory
    (``$XDG_DATA_HOME/newsclean``, ``~/.local/share/newsclean``); never
    the checkout or the folder newsclean was started from."""
    env = os.environ.get("NEWSCLEAN_HOME")
    if env:
        return Path(env)
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "newsclean"


# Set by the user, any of these means Prefect's setup is theirs, not newsclean's.
_USER_PREFECT_SETTINGS = ("PREFECT_API_URL", "PREFECT_HOME", "PREFECT_PROFILES_PATH", "PREFECT_PROFILE",
                          "PREFECT_SERVER_ALLOW_EPHEMERAL_MODE")
_user_prefect = False


def configure() -> None:
    global _user_prefect
    _user_prefect = _user_prefect or any(k in os.environ for k in _USER_PREFECT_SETTINGS)
    home = state_home()
    defaults = {
        "PREFECT_HOME": str(home / "prefect"),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_LOGGING_LOG_PRINTS": "false",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)


def make_prefect_home() -> None:
    """Create Prefect's home (with its parents, which Prefect does not) before
    ``prefect`` is imported: after the refusals, never at import."""
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)


def log_to_stderr() -> None:
    """What a local run logs (the ``newsclean`` logger), on stderr in the
    form of Prefect's own lines."""
    logger = logging.getLogger("newsclean")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s.%(msecs)03d | %(levelname)-7s | %(name)s - %(message)s", "%H:%M:%S"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


class _DropShutdownNoise(logging.Filter):
    """The temporary server is torn down while Prefect's event client still
    flushes, which logs 'Error flushing events' with a traceback at every
    process exit. Nothing is lost for newsclean (its outputs are written by
    then), so the message is filtered rather than shown to users."""

    NOISE = ("Error flushing events", "EventsWorker", "Failed to send events",
             # An interrupted run says what happened in one line of its own
             # (pipelines/cli.py), not in a crash report per task.
             "Execution was aborted by")

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        return not any(n in msg for n in self.NOISE)


_FILTER = _DropShutdownNoise()


def quiet_shutdown() -> None:
    """Filter the noise above (again once Prefect is imported: its handlers
    exist only then)."""
    from .errors import add_prefect_filter

    add_prefect_filter(_FILTER, "prefect.events", "prefect._internal", "prefect.client", "prefect.events.clients")


_PR_SET_PDEATHSIG = 1


def tie_to_parent(parent: int | None = None, death_signal: bool = True, run: int | None = None) -> None:
    """End this process when the process that started it ends, however it
    ends (a SIGKILL included): no server or worker outlives its run.

    Two ties, because each has a gap: ``prctl(PR_SET_PDEATHSIG)`` (Linux)
    delivers SIGTERM at once when the parent dies, but is cleared by fork
    and fires when the parent *thread* ends; a watchdog thread polls the
    parent pid twice a second and exits if it changed. ``parent``: the pid
    to watch (default: the current parent). ``run``: the run's own pid, for
    a process whose parent is not the run (a worker of the fork server): it
    ends too once the run is gone, even if its parent died before the tie
    was made and the default parent is already init."""
    parent = parent or os.getppid()
    if death_signal and sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    def orphaned() -> bool:
        return os.getppid() != parent or (run is not None and not _alive(run))

    if orphaned():  # gone before the tie was made
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if orphaned():
                os._exit(1)

    threading.Thread(target=watch, name="newsclean-parent-watch", daemon=True).start()


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs: a zombie (killed, not yet reaped) does not."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except OSError:
            return True
        return not Path("/proc").is_dir()


def end_fork_server() -> None:
    """Kill multiprocessing's fork server and whatever it forked, at once (an
    interrupted run: a worker still being forked would fail, loudly, once the
    run's semaphores are gone). Linux; elsewhere the ties above end them."""
    from multiprocessing import forkserver

    pid = getattr(forkserver._forkserver, "_forkserver_pid", None)
    if not pid or not Path("/proc").is_dir():
        return
    children = []
    for p in Path("/proc").iterdir():
        try:
            if p.name.isdigit() and int((p / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(p.name))
        except (OSError, ValueError, IndexError):
            continue
    for victim in [*children, pid]:
        try:
            os.kill(victim, signal.SIGKILL)
        except OSError:
            pass


def ephemeral_app():
    """uvicorn factory: Prefect's API as its temporary server runs it (no UI,
    no background services), tied to the run that started it."""
    if os.environ.get("NEWSCLEAN_PARENT_PID"):
        tie_to_parent(int(os.environ["NEWSCLEAN_PARENT_PID"]))
    from prefect.server.api.server import create_app

    return create_app(ephemeral=True, final=True)


@dataclass
class ApiServer:
    """A Prefect API server process serving this run, stopped at exit."""

    process: "subprocess.Popen"
    url: str

    def wait(self, timeout: float = 120.0) -> None:
        """Block until the server answers its health check."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Prefect's API server exited with code {self.process.returncode} before it was ready; "
                                   "set PREFECT_API_URL to a running server (`make server`) to work around it")
            try:
                import urllib.request

                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"Prefect's API server did not answer within {timeout:.0f} s")

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the server; kill it if it is still up after ``timeout``."""
        import subprocess

        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_api_server() -> ApiServer | None:
    """Start the temporary API server Prefect would start, now, and point
    Prefect at it (``PREFECT_API_URL``; must run before ``prefect`` is
    imported). Does nothing when the user configured Prefect themselves
    (their API URL, home, profile or ephemeral-mode setting); Prefect then
    does what they asked."""
    if _user_prefect or "prefect" in sys.modules or (Path(os.environ["PREFECT_HOME"]) / "profiles.toml").exists():
        return None
    import importlib.util
    import socket
    import subprocess

    if importlib.util.find_spec("uvicorn") is None:
        return None
    make_prefect_home()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "pipelines.runtime:ephemeral_app",
           "--host", "127.0.0.1", "--port", str(port), "--log-level", "error", "--lifespan", "on"]
    # Its own session: Ctrl-C reaches the run, which stops the server itself
    # once it has marked its flow run; tie_to_parent ends it if the run dies.
    env = {**os.environ, "NEWSCLEAN_PARENT_PID": str(os.getpid())}
    server = ApiServer(subprocess.Popen(cmd, env=env, start_new_session=True), f"http://127.0.0.1:{port}/api")
    atexit.register(server.stop)
    os.environ["PREFECT_API_URL"] = server.url
    # The server has no UI and is gone after the run: no "View at" links.
    os.environ.setdefault("PREFECT_UI_URL", "")
    return server


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived: the run stops where it is (a
    KeyboardInterrupt, so Prefect and the pools treat it as one)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # the shell's convention: 130, 143


# Seconds an interrupted run may spend cleaning up before it is ended anyway.
CLEANUP_SECONDS = 8.0


def exit_on_signals(command: str = "newsclean") -> None:
    """Until a command starts work: SIGINT or SIGTERM end the process at once
    with one line (nothing has been changed yet; an exception raised inside
    an import would print a traceback)."""

    def handler(signum, _frame):
        sys.stderr.write(f"{command}: stopped by {signal.Signals(signum).name} before it started; nothing was changed\n")
        sys.stderr.flush()
        os._exit(128 + signum)

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


_STOPPED = {"said": False}


def say_stopped(line: str) -> None:
    """The one line an interrupted run prints (the cleanup deadline then adds
    none of its own)."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
    _STOPPED["said"] = True


def raise_on_signals() -> None:
    """Turn SIGINT and SIGTERM into :class:`Interrupted` in the main thread
    (SIGTERM would otherwise end the process with no cleanup at all); the
    cleanup that follows has :data:`CLEANUP_SECONDS`, then the process ends
    with the signal's exit code whatever it is doing."""

    def handler(signum, _frame):
        # Once is enough: a second signal during cleanup must not interrupt it.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)

        def deadline() -> None:
            time.sleep(CLEANUP_SECONDS)
            # Still here: cleanup, or the exit after it (a thread a library
            # started, still running), takes too long. One line in all.
            if not _STOPPED["said"]:
                sys.stderr.write(f"newsclean: stopped by {signal.Signals(signum).name}; cleanup took too long, ended\n")
                sys.stderr.flush()
            os._exit(128 + signum)

        threading.Thread(target=deadline, name="newsclean-cleanup-deadline", daemon=True).start()
        _PENDING["signum"] = signum
        raise Interrupted(signum)

    def unraisable(info) -> None:
        # A signal that lands in a callback Python cannot raise from (a
        # weakref callback of the import machinery, a __del__) is reported
        # as "Exception ignored" with a traceback, and the run goes on:
        # say nothing here; check_interrupted() raises it again at the next
        # step.
        if isinstance(info.exc_value, Interrupted):
            return
        previous(info)

    previous = sys.unraisablehook
    sys.unraisablehook = unraisable
    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


_PENDING: dict[str, int | None] = {"signum": None}


def check_interrupted() -> None:
    """Raise :class:`Interrupted` again if a signal came and its exception
    was swallowed where it landed (see raise_on_signals); once only."""
    signum, _PENDING["signum"] = _PENDING["signum"], None
    if signum is not None:
        raise Interrupted(signum)
