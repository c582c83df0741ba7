"""``newsclean explain ID``: what cleaning did to one article, line by line.

Reads an output folder only (``articles`` and ``dropped``, JSONL or Parquet). Edits of
the boilerplate stage carry ``detail = "line N"`` (N counts the non-blank
lines of the repaired text), so removed lines go back between the kept ones
in their original order; edits without a position (repair changes) are
listed after the table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cleaners.reasons import CHANGE_REASONS

from .formats.writers import read_corpus

_LINE = re.compile(r"^(in )?line (\d+)$")


@dataclass
class Row:
    removed: str = ""
    reason: str = ""
    kept: str = ""


@dataclass
class Explanation:
    id: str
    status: str  # "kept", "duplicate of <id>", "dropped: <reason>"
    article: dict[str, Any] | None
    rows: list[Row]
    other_edits: list[dict[str, str]]
    detail: str = ""


def find(output: Path, doc_id: str) -> Explanation:
    """Look ``doc_id`` up in an output folder; raises KeyError if absent."""
    canonical = None
    for art in read_corpus(output, "articles"):
        if art["id"] == doc_id:
            return _explain(art, "kept")
        # Entries are ids, or records with an "id" and similarity figures.
        dups = {d["id"] if isinstance(d, dict) else d for d in art.get("duplicates") or ()}
        if doc_id in dups:
            canonical = art
    if canonical is not None:
        # Only the canonical text is kept; show it, as that is where the
        # duplicate's content went.
        exp = _explain(canonical, f"duplicate of {canonical['id']}")
        exp.id = doc_id
        return exp
    for row in read_corpus(output, "dropped"):
        if row["id"] == doc_id:
            return Explanation(doc_id, f"dropped: {row['reason']}", None, [], [], row.get("detail", ""))
    raise KeyError(doc_id)


def _explain(art: dict[str, Any], status: str) -> Explanation:
    removed: dict[int, list[dict[str, str]]] = {}
    trimmed: dict[int, list[dict[str, str]]] = {}
    other = []
    for e in art.get("edits", []):
        m = _LINE.match(e.get("detail", ""))
        if m and e["reason"] not in CHANGE_REASONS:
            (trimmed if m.group(1) else removed).setdefault(int(m.group(2)), []).append(e)
        else:
            other.append(e)
    kept = iter(ln for ln in art.get("text", "").split("\n") if ln)
    rows: list[Row] = []
    last = max([*removed, *trimmed], default=-1)
    pos = 0  # ordinal of the original non-blank line
    while True:
        if pos in removed:
            rows.extend(Row(e["text"], e["reason"]) for e in removed[pos])
        else:
            line = next(kept, None)
            if line is None and pos > last:
                break
            trims = trimmed.get(pos, [])
            rows.append(Row("\n".join(t["text"] for t in trims), ", ".join(t["reason"] for t in trims), line or ""))
        pos += 1
    return Explanation(art["id"], status, art, rows, other)


def render(exp: Explanation, width: int | None = None) -> None:
    """Print the explanation: removed lines with their reason on the left,
    kept lines on the right, in the article's order."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=width)
    art = exp.article or {}
    console.print(f"[bold]{exp.id}[/bold]  {exp.status}" + (f"  ({exp.detail})" if exp.detail else ""))
    if art:
        console.print(f"source: {art.get('source') or '-'}   language: {art.get('language') or '-'}   title: {art.get('title') or '-'}")
    if exp.rows:
        table = Table(show_lines=False, expand=True)
        table.add_column("reason", style="red", no_wrap=True)
        table.add_column("removed", style="red", ratio=1)
        table.add_column("kept", ratio=1)
        for r in exp.rows:
            table.add_row(r.reason, r.removed, r.kept)
        console.print(table)
    if exp.other_edits:
        console.print("other edits:")
        for e in exp.other_edits:
            console.print(f"  [{e['reason']}] {e.get('text', '')[:200]}" + (f" -> {e['detail'][:200]}" if e.get("detail") else ""))
