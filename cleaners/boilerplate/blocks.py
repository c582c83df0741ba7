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

**The body guard.** Deleting the article is the one failure users cannot
forgive, so no step removes a block on its own say: every removal names the
guard it passed (:data:`GUARDS`), and :meth:`Blocks.remove` checks it. The
reference is the article's body as given: its main runs of prose
(:func:`prose_runs`, the run holding the most words and any run at least
half its size or of article length), and the prose lines in them are
protected. A step whose
guard is ``outside_body`` (the classifier, learned lines, page trimming and
every rule not marked ``in_body``) cannot remove a protected line; the
removal is refused and counted in :attr:`Blocks.refused`. A trailing section
passes ``after_body`` only when the article's main run lies wholly before
its opening line and no run of the body follows it (an article that goes
on after a "Related" box; :meth:`Blocks.body_before`).
"""

from __future__ import annotations

from collections import Counter

from ..gates import is_prose, word_count
from ..record import Edit

# What a removal must show to go:
#   outside_body  the block is not prose of the article's main runs
#   after_body    a trailing section opens after the article's main run
#   convention    a whole-line rule marked in_body (a measured convention
#                 shaped like a sentence: reporting credits, sign-up offers,
#                 widget code), which may take a protected line
#   body_end      a whole-line rule marked body_end (author contact lines,
#                 newsletter offers) may take a protected line that ends the
#                 body: no protected line it leaves kept follows it
#   title         the block repeats the title the record carries
#   topic         the off-topic check (a paragraph spliced from another story)
GUARDS = ("outside_body", "after_body", "convention", "body_end", "title", "topic")

# Body lines separated by at most this many other lines belong together;
# another run of at least RUN_SHARE of the main run's words is body too (an
# article split by a gallery or an inline promo). Same gap as the
# classifier's in_main_block feature.
RUN_GAP = 6
RUN_SHARE = 0.5
# A run of prose this long is article-length (news articles run some 500
# words) and is body whatever the largest run: a listing of restaurants or
# products whose descriptions are split by their cards' lines into runs
# of which one is large (measured on the tuning fold: a 1,518-word run
# beside a 3,194-word one, its paragraphs taken by the classifier).
RUN_MIN_WORDS = 800


def prose_runs(lines: list[str], idx: list[int], gap: int = RUN_GAP,
               prose: list[bool] | None = None) -> list[tuple[int, int, int]]:
    """Runs of prose among ``lines[i] for i in idx``: (first position, last
    position, words), positions into ``idx``; prose lines at most ``gap``
    other lines apart share a run. ``prose``: :func:`is_prose` of every
    line, when the caller has it (:meth:`Blocks.prose`)."""
    runs: list[list[int]] = []
    last = None
    for pos, i in enumerate(idx):
        if not (prose[i] if prose is not None else is_prose(lines[i])):
            continue
        w = word_count(lines[i])
        if last is not None and pos - last - 1 <= gap:
            runs[-1][1] = pos
            runs[-1][2] += w
        else:
            runs.append([pos, pos, w])
        last = pos
    return [(a, b, w) for a, b, w in runs]


def _largest(runs: list[tuple[int, int, int]]) -> int:
    return max((w for _, _, w in runs), default=0)


class Blocks:
    __slots__ = ("lines", "title", "source", "learned", "nonblank", "removed", "scores", "trims", "guards",
                 "by", "refused", "_body", "_prose")

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
        self.trims: list[tuple[int, Edit, str]] = []  # (line index, edit, the rule that made it)
        self.guards: dict[int, str] = {}  # line index -> guard its removal passed
        self.by: dict[int, str] = {}  # line index -> the rule that removed it (rules.toml place)
        self.refused: Counter[str] = Counter()  # reason -> removals the body guard refused
        self._body: frozenset[int] | None = None
        self._prose: list[bool] | None = None

    def prose(self) -> list[bool]:
        """:func:`is_prose` of every line as it is now, computed once: the
        sections step, the body, :meth:`body_before` and the classifier's
        skip test all read it (a trim updates its line)."""
        if self._prose is None:
            self._prose = list(map(is_prose, self.lines))
        return self._prose

    @property
    def body(self) -> frozenset[int]:
        """Line indices of the protected body: the prose lines of the main
        runs of the text as given (before any step removed anything)."""
        if self._body is None:
            idx = self.nonblank
            prose = self.prose()
            runs = prose_runs(self.lines, idx, prose=prose)
            best = _largest(runs)
            self._body = frozenset(idx[pos] for a, b, w in runs if w >= min(RUN_SHARE * best, RUN_MIN_WORDS)
                                   for pos in range(a, b + 1) if prose[idx[pos]])
        return self._body

    def body_before(self, live: list[int], pos: int) -> bool:
        """A trailing section opening at ``live[pos]`` cuts after the body:
        the largest run of prose lies before the opening line, and no run
        after it holds half as many words (a run of the body by the body's
        own measure, :data:`RUN_SHARE`: an article that goes on after a
        "Related" box). The opening line counts as a break, so a thread of
        a few comments after the story is not read as the story going on."""
        prose = self.prose()
        before = _largest(prose_runs(self.lines, live[:pos], prose=prose))
        return before > 0 and _largest(prose_runs(self.lines, live[pos + 1:], prose=prose)) < RUN_SHARE * before

    def live(self) -> list[int]:
        """Indices of the non-blank lines no step has removed, in order."""
        removed = self.removed
        return [i for i in self.nonblank if i not in removed] if removed else list(self.nonblank)

    def remove(self, i: int, reason: str, guard: str, score: float | None = None, by: str = "") -> bool:
        """Remove line ``i`` with ``reason``, if the ``guard`` the step
        passed allows it (see :data:`GUARDS`); False when the line was
        already removed or the guard refused (counted in :attr:`refused`)."""
        if i in self.removed:
            return False
        if guard not in GUARDS:
            raise ValueError(f"unknown guard {guard!r}; known: {', '.join(GUARDS)}")
        if guard == "outside_body" and i in self.body:
            self.refused[reason] += 1
            return False
        self.removed[i] = reason
        self.guards[i] = guard
        if by:
            self.by[i] = by
        if score is not None:
            self.scores[i] = score
        return True

    def trim(self, i: int, start: int, end: int, reason: str, by: str) -> None:
        """Cut ``lines[i][start:end]`` (a prefix or a suffix) off a kept line;
        ``by`` is the rule that matched it (rules.toml place)."""
        line = self.lines[i]
        self.trims.append((i, Edit(reason, line[start:end].strip()), by))
        self.lines[i] = line[:start].rstrip() + line[end:]
        if self._prose is not None:
            self._prose[i] = is_prose(self.lines[i])

    def edits(self) -> list[Edit]:
        """Trims in the order made, then removed lines in text order. Edits
        carry their place, "line N" for a removed line and "in line N" for a
        trimmed one (N counts the non-blank lines of the text as given), so
        that ``newsclean explain`` can restore the order."""
        where = {i: k for k, i in enumerate(self.nonblank)}
        out = []
        for i, e, _ in self.trims:
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
