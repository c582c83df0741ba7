"""The one interface every boilerplate step shares: an article's blocks.

A scrape reaches the cleaner as lines: a paragraph dump gives one block per
paragraph (blank lines between them), whole-page text one block per line.
:class:`Blocks` holds those lines and what the steps decided so far. A step
reads it and changes it only through :meth:`Blocks.remove` (a whole block,
with a reason code and, for a scored decision, the score) and
:meth:`Blocks.trim` (a piece glued to a kept block); both record an
:class:`~cleaners.record.Edit`, so every removal carries its reason.

The first decision about a block wins: a later step never relabels a block
an earlier one removed, which is what lets high-precision rules run first
and override the classifier.
"""

from __future__ import annotations

from ..record import Edit


class Blocks:
    __slots__ = ("lines", "title", "source", "learned", "nonblank", "removed", "scores", "trims")

    def __init__(self, text: str, title: str = "", source: str | None = None,
                 learned: frozenset[str] = frozenset()):
        self.lines = text.split("\n")
        self.title = title or ""
        self.source = source
        # line keys learned as boilerplate for this source (learned.line_key)
        self.learned = learned
        self.nonblank = [i for i, ln in enumerate(self.lines) if ln]
        self.removed: dict[int, str] = {}  # line index -> reason
        self.scores: dict[int, float] = {}  # line index -> score of the step that removed it
        self.trims: list[tuple[int, Edit]] = []

    def live(self) -> list[int]:
        """Indices of the non-blank lines no step has removed, in order."""
        removed = self.removed
        return [i for i in self.nonblank if i not in removed] if removed else list(self.nonblank)

    def remove(self, i: int, reason: str, score: float | None = None) -> None:
        if i not in self.removed:
            self.removed[i] = reason
            if score is not None:
                self.scores[i] = score

    def trim(self, i: int, start: int, end: int, reason: str) -> None:
        """Cut ``lines[i][start:end]`` (a prefix or a suffix) off a kept line."""
        line = self.lines[i]
        self.trims.append((i, Edit(reason, line[start:end].strip())))
        self.lines[i] = line[:start].rstrip() + line[end:]

    def edits(self) -> list[Edit]:
        """Trims in the order made, then removed lines in text order. Edits
        carry their place, "line N" for a removed line and "in line N" for a
        trimmed one (N counts the non-blank lines of the text as given), so
        that ``newsclean explain`` can restore the order."""
        where = {i: k for k, i in enumerate(self.nonblank)}
        out = []
        for i, e in self.trims:
            e.detail = f"in line {where[i]}"
            out.append(e)
        for i in sorted(self.removed):
            score = self.scores.get(i)
            out.append(Edit(self.removed[i], self.lines[i], detail=f"line {where[i]}",
                            score=None if score is None else round(score, 3)))
        return out

    def text(self) -> str:
        """The kept lines, blank lines at the ends or doubled by removals dropped."""
        out: list[str] = []
        removed = self.removed
        for i, ln in enumerate(self.lines):
            if i in removed or (not ln and (not out or not out[-1])):
                continue
            out.append(ln)
        while out and not out[-1]:
            out.pop()
        return "\n".join(out)
