"""Learned lines: a line that recurs across many *different* articles of one
source is that site's furniture, whatever it says.

Counting is per source, so a quote that several outlets share is never
learned. The statistics are exact and mergeable: what is kept is the *set*
of ``(source, line, article)`` triples observed (article = a fingerprint, so
that several copies of one story from a source count once), as a numpy table
(:data:`LINE_ROW`). A line is learned for a source when the number of
distinct articles holding it reaches ``max(min_articles, min_share × articles
of the source)``. The union of two tables is the table of the union of their
articles, whatever the order or grouping, so statistics built run by run
equal those of one run over everything (:class:`SourceLineStats`).

The same table, with the row of each article in its shard, is the index that
finds the articles holding a line whose learned status a later run changes
(``probe`` rows add the lines the learned step looks up that are not lines
of the repaired text: a line after a glued suffix was trimmed off it).
:class:`LearnedStep` removes the learned lines.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..record import Edit
from .blocks import Blocks

# One row per distinct line key of an article: the source and line keys as
# 64-bit integers (the hex of :func:`line_key`), the article's fingerprint,
# its row in the shard, and whether it counts in the statistics (False for a
# probe row, which only indexes the article).
LINE_ROW = np.dtype([("src", "<u8"), ("key", "<u8"), ("fp", "<u8"), ("row", "<u4"), ("counted", "?")])


def _h64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")


def line_key(line: str) -> str:
    """A line's identity for recurrence counting: case, digits and spacing
    do not matter ("© 2023" and "© 2024" footers are the same line)."""
    return f"{_line_int(line):016x}"


def _line_int(line: str) -> int:
    return _h64(_DIGITS.sub("0", " ".join(line.lower().split())))


def source_key(source: str) -> int:
    """A source's identity in the line tables."""
    return _h64(source)


# Precompiled: module-level regex.sub looks the pattern up on every call, and
# this runs on every line of every article.
_DIGITS = re.compile(r"\d+")


def article_fingerprint(lines: list[str]) -> str:
    """Identity of an article's content, so that several copies of one story
    from a source count once: the key of its longest line."""
    longest = max(lines, key=len, default="")
    return line_key(longest)


_IN_LINE = re.compile(r"in line (\d+)$")


def trimmed_lines(text: str, edits: Iterable[Edit]) -> list[str]:
    """The lines the learned step may have looked up that are not lines of
    ``text`` (the repaired text): a line with a piece trimmed off (a glued
    suffix, a dateline prefix). From the trim edits alone, each piece cut
    at its last occurrence as a suffix and at its first as a prefix, one
    trim after another: a superset of what any step order looks up, which
    is what the index needs (an extra key only costs an extra re-clean)."""
    lines = [ln for ln in text.split("\n") if ln]
    variants: dict[int, set[str]] = {}
    for e in edits:
        m = _IN_LINE.match(e.detail or "")
        if not m or not e.text or int(m.group(1)) >= len(lines):
            continue
        n = int(m.group(1))
        have = variants.setdefault(n, {lines[n]})
        for line in list(have):
            if e.text in line:
                have.add(line[: line.rfind(e.text)].strip())
                have.add(line[line.find(e.text) + len(e.text):].strip())
    return sorted({v for n, vs in variants.items() for v in vs if v and v != lines[n]})


def line_table(source: str | None, lines: Sequence[str], row: int = 0, probes: Sequence[str] = ()) -> np.ndarray:
    """The rows of one article (``lines``: its repaired text split at
    newlines; ``probes``: further lines to index, see :func:`trimmed_lines`)."""
    lines = [ln for ln in lines if ln]
    if not source or not lines:
        return np.empty(0, LINE_ROW)
    keys = {_line_int(ln) for ln in lines}
    extra = {_line_int(ln) for ln in probes} - keys
    fp = int(article_fingerprint(lines), 16)
    src = source_key(source)
    out = np.empty(len(keys) + len(extra), LINE_ROW)
    out["src"], out["fp"], out["row"] = src, fp, row
    out["key"] = sorted(keys) + sorted(extra)
    out["counted"] = [True] * len(keys) + [False] * len(extra)
    return out


@dataclass
class SourceLineStats:
    """The exact statistics: the union of line tables (see the module
    docstring), and which lines they make boilerplate for each source.

    ``observe`` adds an article, ``add`` a table (a shard's, a segment's),
    ``merge`` another statistics object; all three are set unions, so the
    result does not depend on order or grouping."""

    min_articles: int = 3
    min_share: float = 0.2
    parts: list[np.ndarray] = field(default_factory=list)
    _pending: list[np.ndarray] = field(default_factory=list, repr=False)

    def observe(self, source: str | None, lines: Iterable[str], row: int = 0) -> None:
        self._pending.append(line_table(source, list(lines), row))

    def add(self, table: np.ndarray) -> None:
        self.parts.append(table)

    def merge(self, other: "SourceLineStats") -> None:
        self.parts.extend(other.parts + other._pending)

    def table(self) -> np.ndarray:
        """Every row observed or added (probe rows included), in order."""
        if self._pending:
            self.parts.append(np.concatenate(self._pending))
            self._pending = []
        return np.concatenate(self.parts) if self.parts else np.empty(0, LINE_ROW)

    def learned_pairs(self) -> set[tuple[int, int]]:
        """``(source key, line key)`` of every line learned as boilerplate."""
        t = self.table()
        t = t[t["counted"]]
        if not len(t):
            return set()
        order = np.lexsort((t["fp"], t["key"], t["src"]))
        src, key, fp = t["src"][order], t["key"][order], t["fp"][order]
        new = np.ones(len(src), bool)
        new[1:] = (src[1:] != src[:-1]) | (key[1:] != key[:-1]) | (fp[1:] != fp[:-1])
        src, key, fp = src[new], key[new], fp[new]  # distinct (source, line, article)
        # Distinct articles per source.
        arts = np.unique(np.stack([src, fp], axis=1), axis=0)
        srcs, n_articles = np.unique(arts[:, 0], return_counts=True)
        need = np.maximum(self.min_articles, self.min_share * n_articles)
        # Distinct articles per (source, line).
        start = np.ones(len(src), bool)
        start[1:] = (src[1:] != src[:-1]) | (key[1:] != key[:-1])
        idx = np.flatnonzero(start)
        counts = np.diff(np.append(idx, len(src)))
        ok = counts >= need[np.searchsorted(srcs, src[idx])]
        return set(zip(src[idx][ok].tolist(), key[idx][ok].tolist()))

    def learned(self) -> dict[int, frozenset[str]]:
        """Per source key, the :func:`line_key` keys learned (what cleaning
        takes, see ``pipelines.stages.clean_shard``)."""
        by_src: dict[int, set[str]] = {}
        for src, key in self.learned_pairs():
            by_src.setdefault(src, set()).add(f"{key:016x}")
        return {s: frozenset(k) for s, k in by_src.items()}

    def boilerplate(self, source: str | None) -> frozenset[str]:
        """Keys of the lines learned as boilerplate for ``source``."""
        return self.learned().get(source_key(source), frozenset()) if source else frozenset()


class LearnedStep:
    """Removes the lines learned as boilerplate for the article's source,
    outside the article's body only (guard ``outside_body``): a paragraph
    that recurs in a source's stories (a standard disclaimer sentence inside
    the story) is not taken on recurrence alone."""

    name = "learned"

    def __call__(self, b: Blocks) -> None:
        if not b.learned:
            return
        lines, learned = b.lines, b.learned
        for i in b.live():
            if line_key(lines[i]) in learned:
                b.remove(i, "learned", "outside_body")
