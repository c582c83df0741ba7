"""Shared fixtures: the flow runs for real, under Prefect's test harness (a
temporary local server and database, no network)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipelines import runtime

runtime.configure()
runtime.make_prefect_home()

ROOT = Path(__file__).resolve().parent.parent
# Read-only material beside the clone (also beside CI's clone).
SHARED = Path(os.environ.get("NEWSCLEAN_SHARED", ROOT.parent / "shared"))
DATA = Path(__file__).resolve().parent / "data"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def shared(*parts: str) -> Path:
    """Path under ../shared, skipping the test with a reason if it is absent;
    in CI (``CI=true``) an absent ../shared fails the test instead, so that a
    misconfigured machine cannot pass by skipping."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        msg = f"{path} is not present (../shared is read in place, never copied)"
        if _in_ci():
            pytest.fail(f"{msg}; CI is set, so tests that need it must not skip")
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    runtime.quiet_shutdown()
    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture(scope="session")
def run_flow(prefect_harness):
    """Run the real flow: ``run_flow(input, output, config=None, dedup=True)``."""
    from pipelines.flow import run_newsclean

    def _run(input_path, output, config=None, dedup=True):
        return run_newsclean(str(input_path), str(output), str(config) if config else None, dedup)

    return _run


@pytest.fixture(scope="session")
def sample_run(run_flow, tmp_path_factory):
    """One run of the default configuration over the embedded sample raw/."""
    out = tmp_path_factory.mktemp("sample")
    result = run_flow(ROOT / "raw", out)
    return out, result
