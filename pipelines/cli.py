"""The ``newsclean`` command line."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Optional

from . import runtime
from .errors import UserError

# First thing when this process is the command (not a test importing it): a
# signal while the modules below load ends it in one line, not with a
# traceback from inside an import.
if __name__ == "__main__" or Path(sys.argv[0]).name == "newsclean":
    runtime.exit_on_signals()

import typer  # noqa: E402

runtime.configure()

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Clean scraped news into a canonical corpus.")
_DEBUG = {"on": False}


@app.callback()
def _main(debug: bool = typer.Option(False, "--debug", help="Show the traceback of an expected failure too.")) -> None:
    _DEBUG["on"] = debug
    # The command starts: its own handling of signals (``run``'s), or Python's.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def fail(command: str, exc: UserError) -> "typer.Exit":
    """The one way an expected failure ends: one line, its exit code."""
    if _DEBUG["on"]:
        import traceback

        traceback.print_exception(exc)
    typer.echo(f"newsclean {command}: {exc}", err=True)
    return typer.Exit(exc.exit_code)


@app.command()
def run(
    input: Path = typer.Option(Path("raw"), "--input", help="Folder (walked recursively) or file of raw articles."),
    output: Path = typer.Option(Path("clean"), "--output", help="Output folder."),
    config: Optional[Path] = typer.Option(None, "--config", help="Run configuration (default: the shipped configs/default.toml)."),
    no_dedup: bool = typer.Option(False, "--no-dedup", help="Skip the near-duplicate stage: keep every article that passes the other stages."),
    profile: bool = typer.Option(False, "--profile", help="Print the share of time each stage took."),
) -> None:
    """Run the pipeline over INPUT into OUTPUT."""
    runtime.raise_on_signals()
    try:
        _run(input, output, config, no_dedup, profile)
        # The run is complete: only the exit is left, during which Python
        # puts the default action back (a SIGTERM then would end the process
        # silently, as if killed). Ignored instead: the run ends with 0.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    except UserError as exc:
        raise fail("run", exc)
    except BaseException as exc:
        # Ours (runtime.Interrupted) or Prefect's TerminationSignal, which its
        # SIGTERM handler raises while a flow runs.
        signum = getattr(exc, "signum", None) or getattr(exc, "signal", None)
        if not isinstance(exc, (runtime.Interrupted, *_prefect_signals())) or not signum:
            raise
        # Never imported here: a signal that came while the flow's modules
        # were loading has left them half-imported, and loading them again
        # takes seconds; a run that had not got so far committed nothing.
        flow = sys.modules.get(f"{__package__}.flow")
        try:
            what = flow.interrupted_summary(str(output))
        except BaseException:  # noqa: BLE001 - not loaded, or a second signal: say the least
            what = f"nothing of this run was committed; {output} is as the last complete run left it"
        runtime.say_stopped(f"newsclean run: stopped by {signal.Signals(signum).name}: {what}")
        raise typer.Exit(128 + signum)


def _prefect_signals() -> tuple[type, ...]:
    if "prefect" not in sys.modules:
        return ()
    from prefect.exceptions import ExternalSignal

    return (ExternalSignal,)


def _check_paths(input: Path, output: Path) -> None:
    """Refuse an input that cannot be read or an output folder that cannot
    be written before anything is created or started."""
    import os
    import tempfile

    if not input.exists():
        raise UserError(f"input {input}: no such file or folder")
    if not os.access(input, os.R_OK | (os.X_OK if input.is_dir() else 0)):
        raise UserError(f"input {input}: not readable (permission denied)")
    # The output folder, or the nearest folder above it that exists (where
    # it will be created), must be a writable folder.
    target = output
    while not target.exists() and not target.is_symlink():
        target = target.parent
    where = "" if target == output else f"cannot be created in {target}: "
    if not target.is_dir():
        raise UserError(f"output {output}: {where}{'not a folder' if where else 'exists and is not a folder'}")
    try:
        # A file with no name (O_TMPFILE) where the output will be written:
        # the one honest test of writability (a read-only file system, /proc,
        # ACLs, root), and it leaves nothing behind.
        tempfile.TemporaryFile(dir=target).close()
    except OSError as exc:
        raise UserError(f"output {output}: {where}not writable ({exc.strerror or exc})") from None


def _run(input: Path, output: Path, config: Optional[Path], no_dedup: bool, profile: bool) -> None:
    # Every refusal comes before anything is created or started: the paths,
    # then the configuration (and the rule and model files it names), then
    # another run holding the folder.
    _check_paths(input, output)
    from .config import load_config

    cfg = load_config(config)
    from .store import OutputLock

    OutputLock(output).acquire()  # held to the end (the flow takes it again)
    server = runtime.start_api_server() if cfg.run.executor == "prefect" else None  # boots while the imports below run
    runtime.make_prefect_home()
    runtime.log_to_stderr()
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .flow import run_newsclean

    runtime.quiet_shutdown()
    console = Console(stderr=True)

    def server_ready() -> None:
        server.wait()
        console.print(f"Prefect: temporary API server at {server.url} for this run", highlight=False)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True, disable=not console.is_terminal) as bar:
        tasks: dict[str, int] = {}

        def progress(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(f"{label} shards", total=total)
            bar.update(tasks[label], completed=done)

        try:
            result = run_newsclean(str(input), str(output), str(config) if config else None, not no_dedup, progress,
                                   api_ready=server_ready if server else None)
        finally:
            bar.stop()
    typer.echo(f"kept {result['kept']} articles, dropped {result['dropped']}; report: {result['report']['html']}")
    if profile:
        import json

        record = json.loads(Path(result["record"]).read_text())
        _print_profile(record)


def _print_profile(record: dict) -> None:
    stages = record["stage_seconds"]
    total = sum(stages.values()) or 1.0
    typer.echo("stage time shares (CPU seconds summed over shards):")
    for name, sec in sorted(stages.items(), key=lambda kv: -kv[1]):
        typer.echo(f"  {name:<12} {sec:8.2f} s  {sec / total:6.1%}")
    typer.echo("wall time per flow step: " + ", ".join(f"{k} {v:.2f} s" for k, v in record["timings"].items()))


@app.command()
def report(output: Path = typer.Argument(Path("clean"), help="An output folder of `newsclean run`.")) -> None:
    """Rebuild report.json and report.html from an output folder."""
    from .report import build
    from .store import OutputLock

    try:
        with OutputLock(output):
            paths = build(output)
    except UserError as exc:
        raise fail("report", exc)
    typer.echo(f"wrote {paths['json']} and {paths['html']}")


@app.command()
def explain(
    doc_id: str = typer.Argument(..., metavar="ID", help="Input article id (as in articles.jsonl / dropped.jsonl)."),
    output: Path = typer.Option(Path("clean"), "--output", help="Output folder of `newsclean run`."),
    width: Optional[int] = typer.Option(None, "--width", help="Columns to print in (default: the terminal's)."),
) -> None:
    """Show what cleaning did to one article: every removed line with its reason, beside what was kept."""
    from .explain import find, render

    try:
        exp = find(output, doc_id)
    except KeyError:
        typer.echo(f"newsclean explain: no article {doc_id!r} in {output}", err=True)
        raise typer.Exit(1)
    render(exp, width)


@app.command()
def serve(
    cron: Optional[list[str]] = typer.Option(None, "--cron", help="Cron schedule, e.g. \"0 2 * * *\" (repeatable). Default: the schedule section of the config."),
    interval: Optional[float] = typer.Option(None, "--interval", help="Seconds between runs, instead of or besides --cron."),
    input: Path = typer.Option(Path("raw"), "--input", help="Folder (walked recursively) or file of raw articles."),
    output: Path = typer.Option(Path("clean"), "--output", help="Output folder (runs are incremental: each processes only new input)."),
    config: Optional[Path] = typer.Option(None, "--config", help="Run configuration (default: configs/default.toml)."),
    no_dedup: bool = typer.Option(False, "--no-dedup", help="Skip the near-duplicate stage."),
    name: Optional[str] = typer.Option(None, "--name", help="Deployment name (default: from the schedule section of the config)."),
    timezone: Optional[str] = typer.Option(None, "--timezone", help="Time zone of the cron schedule (default: from the schedule section of the config)."),
) -> None:
    """Run the pipeline on a schedule: serve it as a Prefect deployment until stopped (Ctrl-C).

    Needs a Prefect server: start one with `prefect server start` (see the README).
    """
    runtime.make_prefect_home()
    from .serve import make_plan, resolve_api_url
    from .serve import serve as serve_plan

    try:
        plan = make_plan(input, output, config, not no_dedup, cron, interval, name, timezone)
        api_url = resolve_api_url()
        runtime.quiet_shutdown()
        typer.echo(f"serving deployment newsclean/{plan.name} on {api_url}: {plan.describe()}")
        serve_plan(plan, api_url)
    except UserError as exc:
        raise fail("serve", exc)


if __name__ == "__main__":
    app()
