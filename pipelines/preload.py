"""Imported once by the worker pool's fork server, before it forks a worker.

What is loaded here (language models, word frequencies, compiled rules) is
inherited by every worker instead of each loading its own copy: about 3 s of
CPU per worker that would otherwise compete, on a two-core machine, with
Prefect's temporary server starting up. The run's configuration comes from
``NEWSCLEAN_PRELOAD_CONFIG`` (set by :func:`pipelines.executors.ProcessExecutor.start`).
A failure here costs nothing but the sharing: each worker's own warm-up then
loads what it needs.
"""

from __future__ import annotations

import os

from pipelines import runtime

# The fork server must not outlive the run (it is the parent of every
# worker, whose own tie then ends them too). No parent-death signal here: it
# would fire when the thread that happened to start the server ends.
runtime.tie_to_parent(int(os.environ.get("NEWSCLEAN_RUN_PID") or os.getppid()), death_signal=False)

try:
    from pipelines.config import load_config
    from pipelines.stages import warm_up

    warm_up(load_config(os.environ.get("NEWSCLEAN_PRELOAD_CONFIG") or None))
    # HTML extraction's library (about 1.2 s to import, and lxml's parsers):
    # once here rather than in each worker at its first page.
    import trafilatura  # noqa: F401
except Exception:  # noqa: BLE001 - see the module docstring
    pass
