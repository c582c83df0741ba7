"""Scheduled runs: serve the newsclean flow as a Prefect deployment.

``newsclean serve`` registers a deployment of :func:`pipelines.flow.newsclean_flow`
with a schedule on a running Prefect server, then stays in the foreground
executing every scheduled run (each in its own subprocess) until stopped.

Schedules need a real server (``prefect server start``): the temporary server
Prefect starts when no ``PREFECT_API_URL`` is set lives only as long as one
process and refuses them. So this module settles the API URL *before* Prefect
is imported (Prefect reads its settings at import), and fails with a readable
message when no server answers.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from .errors import UserError

# Where `prefect server start` listens when started with its defaults.
DEFAULT_API_URL = "http://127.0.0.1:4200/api"


class ServeError(UserError, RuntimeError):
    """A problem the user can fix (no server, no schedule, bad cron)."""


@dataclass(frozen=True)
class Plan:
    """What ``serve`` registers: a deployment name, its schedules, and the
    flow parameters every scheduled run gets."""

    name: str
    cron: tuple[str, ...] = ()
    interval: float | None = None
    timezone: str = "UTC"
    parameters: dict = field(default_factory=dict)

    def describe(self) -> str:
        parts = [f"cron '{c}' ({self.timezone})" for c in self.cron]
        if self.interval:
            parts.append(f"every {self.interval:g} s")
        return " and ".join(parts)


def make_plan(
    input_path: str | Path,
    output: str | Path,
    config_path: str | Path | None,
    dedup: bool,
    cron: list[str] | None,
    interval: float | None,
    name: str | None,
    timezone: str | None,
) -> Plan:
    """Combine the command line with the config's ``[schedule]`` section: a
    schedule given on the command line replaces the config's.

    Paths become absolute, because runs execute later, in subprocesses whose
    working directory nobody should have to think about.
    """
    from .config import load_config

    cfg = load_config(config_path)
    s = cfg.schedule
    cron = list(cron or [])
    if not cron and interval is None:
        cron = [s.cron] if s.cron else []
        interval = s.interval_seconds or None
    if not cron and not interval:
        raise ServeError("no schedule: pass --cron or --interval, or set cron in the config's [schedule] section")
    if interval is not None and interval <= 0:
        raise ServeError(f"--interval must be positive, got {interval}")
    params = {
        "input_path": str(Path(input_path).resolve()),
        "output": str(Path(output).resolve()),
        "config_path": str(Path(config_path).resolve()) if config_path else None,
        "dedup": dedup,
    }
    return Plan(name=name or s.deployment, cron=tuple(cron), interval=interval, timezone=timezone or s.timezone, parameters=params)


def resolve_api_url(timeout: float = 5.0) -> str:
    """The Prefect API to register with: ``PREFECT_API_URL`` if set, else a
    server started with ``prefect server start``'s defaults. Exported to the
    environment so Prefect (imported later) and the run subprocesses use it.
    """
    url = os.environ.get("PREFECT_API_URL") or DEFAULT_API_URL
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=timeout) as resp:
            ok = resp.status == 200
    except (urllib.error.URLError, OSError) as exc:
        ok, why = False, getattr(exc, "reason", exc)
    else:
        why = "unexpected answer"
    if not ok:
        raise ServeError(
            f"no Prefect server answers at {url} ({why}).\n"
            "Scheduled runs need one. In another terminal start it with\n"
            "    PREFECT_SERVER_ANALYTICS_ENABLED=false .venv/bin/prefect server start\n"
            "(or point PREFECT_API_URL at the server you use), then run this command again."
        )
    os.environ["PREFECT_API_URL"] = url
    return url


def schedules(plan: Plan) -> list:
    """Prefect schedules for the plan; a bad cron or time zone is a
    :class:`ServeError` naming it."""
    from pydantic import ValidationError
    from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule

    out = []
    try:
        for c in plan.cron:
            out.append(CronSchedule(cron=c, timezone=plan.timezone))
        if plan.interval:
            out.append(IntervalSchedule(interval=timedelta(seconds=plan.interval), timezone=plan.timezone))
    except ValidationError as exc:
        msgs = "; ".join(e["msg"] for e in exc.errors())
        raise ServeError(f"bad schedule: {msgs} (cron has five fields: minute hour day-of-month month day-of-week)") from None
    return out


def serve(plan: Plan, api_url: str) -> None:
    """Register the deployment and execute its runs until interrupted.

    At most one run at a time: runs share the output folder's incremental
    state, so a slow run must finish before the next one starts. On shutdown
    Prefect pauses the schedule, so runs do not pile up while nobody serves.
    """
    from prefect.deployments.runner import EntrypointType
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from .flow import newsclean_flow

    sched = schedules(plan)
    # Also in the settings context, in case Prefect was imported before the
    # URL was exported (its settings are read at import).
    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        newsclean_flow.serve(
            name=plan.name,
            schedules=sched,
            parameters=plan.parameters,
            description=f"newsclean: {plan.parameters['input_path']} -> {plan.parameters['output']}, {plan.describe()}",
            tags=["newsclean"],
            limit=1,
            # Import by module path: the flow module uses package-relative imports.
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
