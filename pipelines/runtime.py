"""Prefect settings that must be in place before ``prefect`` is imported.

With no ``PREFECT_API_URL``, Prefect starts a temporary local server on first
use. On a busy two-core machine that takes longer than its 20 s default
start-up timeout, its analytics try to reach the internet, and its database
would land in the user's home. These defaults fix all three; anything the user
sets explicitly wins.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def state_home() -> Path:
    """Where newsclean keeps Prefect's database: ``.state/`` in the project
    when it is writable, else ``~/.cache/newsclean``."""
    env = os.environ.get("NEWSCLEAN_HOME")
    if env:
        return Path(env)
    candidate = PROJECT_ROOT / ".state"
    try:
        candidate.mkdir(parents=True, exist_ok=True)
        return candidate
    except OSError:
        return Path.home() / ".cache" / "newsclean"


def configure() -> None:
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
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)


class _DropShutdownNoise(logging.Filter):
    """The temporary server is torn down while Prefect's event client still
    flushes, which logs 'Error flushing events' with a traceback at every
    process exit. Nothing is lost for newsclean (its outputs are written by
    then), so the message is filtered rather than shown to users."""

    NOISE = ("Error flushing events", "EventsWorker", "Failed to send events")

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        return not any(n in msg for n in self.NOISE)


def quiet_shutdown() -> None:
    flt = _DropShutdownNoise()
    for name in ("prefect", "prefect.events", "prefect._internal", "prefect.client", "prefect.events.clients", ""):
        logging.getLogger(name).addFilter(flt)
    for handler in logging.getLogger().handlers + logging.getLogger("prefect").handlers:
        handler.addFilter(flt)
