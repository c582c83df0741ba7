"""The quality report: ``report.json`` (figures) and ``report.html`` (one
self-contained page of charts and tables), built from an output folder alone
(``articles.jsonl``, ``dropped.jsonl``, ``runs/*.json``), so
``newsclean report DIR`` rebuilds it without rerunning anything.

- :mod:`.figures`: the figures, a typed :class:`~.figures.Report` whose JSON
  form is ``report.json`` (schema in ``docs/report-schema.md``; bump
  :data:`REPORT_SCHEMA_VERSION` when a field changes meaning or goes away);
- :mod:`.charts`: the charts, drawn with matplotlib only when their data
  changed since the page they replace;
- :mod:`.page`: the HTML page, one function per section.
"""

from __future__ import annotations

from pathlib import Path

from ..store import atomic_open, current_generation, link_outputs, write_json
from .figures import JUMP_MIN_WORDS, JUMP_POINTS, REPORT_SCHEMA_VERSION, Report, figures
from .page import render_html

__all__ = ["JUMP_MIN_WORDS", "JUMP_POINTS", "REPORT_SCHEMA_VERSION", "Report", "build", "figures", "render_html"]


def _previous_page(out: Path, gen: Path) -> str:
    """The page this build replaces (its charts may be reused): the
    generation's own, or else the current one of the output folder."""
    for path in (gen / "report.html", out / "report.html"):
        if path.is_file():
            return path.read_text(encoding="utf-8")
    return ""


def build(out: str | Path, generation: str | Path | None = None, run: dict | None = None) -> dict[str, str]:
    """Write report.json and report.html of ``generation`` (default: the
    current one, i.e. ``out`` itself for a folder without generations) into
    it; return their paths as the output folder names them."""
    out = Path(out)
    gen = Path(generation) if generation else current_generation(out)
    rep = figures(out, gen, run)
    page = render_html(rep, _previous_page(out, gen))
    write_json(gen / "report.json", rep.to_json())
    with atomic_open(gen / "report.html") as fh:
        fh.write(page)
    if generation is None:
        link_outputs(out)
    return {"json": str(out / "report.json"), "html": str(out / "report.html")}
