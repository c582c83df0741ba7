"""Learned lines: a line that recurs across many *different* articles of one
source is that site's furniture, whatever it says.

Counting is per source, so a quote that several outlets share is never
learned. :class:`SourceLineStats` is filled by the learning pass (a sample of
the run's shards) and persisted in ``state/boilerplate.json``; the cleaning
pass gets, per source, the keys of the lines learned (:meth:`boilerplate`)
and :class:`LearnedStep` removes them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .blocks import Blocks


def line_key(line: str) -> str:
    """A line's identity for recurrence counting: case, digits and spacing
    do not matter ("© 2023" and "© 2024" footers are the same line)."""
    norm = _DIGITS.sub("0", " ".join(line.lower().split()))
    return hashlib.blake2b(norm.encode("utf-8"), digest_size=8).hexdigest()


# Precompiled: module-level regex.sub looks the pattern up on every call, and
# this runs on every line of every article.
_DIGITS = re.compile(r"\d+")


def article_fingerprint(lines: list[str]) -> str:
    """Identity of an article's content, so that several copies of one story
    from a source count once: the key of its longest line."""
    longest = max(lines, key=len, default="")
    return line_key(longest)


@dataclass
class SourceLineStats:
    """Counts, per source, the distinct articles each line appears in.

    A line is boilerplate for a source when it appears in at least
    ``min_articles`` distinct articles of that source and in at least
    ``min_share`` of them. Sets of article fingerprints are capped once the
    count is reached, so the state stays small and can be persisted between
    runs (:meth:`to_dict` / :meth:`from_dict`) and merged across shards.
    """

    min_articles: int = 3
    min_share: float = 0.2
    # source -> line key -> fingerprints of the articles it was seen in
    lines: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    # source -> fingerprints of all articles seen (for the share)
    articles: dict[str, set[str]] = field(default_factory=dict)
    # source -> number of articles counted by earlier runs (persisted as a
    # count: the share needs only how many there were)
    prior_articles: dict[str, int] = field(default_factory=dict)

    def observe(self, source: str | None, lines: Iterable[str]) -> None:
        if not source:
            return
        lines = [ln for ln in lines if ln]
        if not lines:
            return
        fp = article_fingerprint(lines)
        self.articles.setdefault(source, set()).add(fp)
        per_line = self.lines.setdefault(source, {})
        for key in {line_key(ln) for ln in lines}:
            seen = per_line.setdefault(key, set())
            seen.add(fp)

    def merge(self, other: "SourceLineStats") -> None:
        for source, n in other.prior_articles.items():
            self.prior_articles[source] = self.prior_articles.get(source, 0) + n
        for source, fps in other.articles.items():
            self.articles.setdefault(source, set()).update(fps)
        for source, per_line in other.lines.items():
            mine = self.lines.setdefault(source, {})
            for key, fps in per_line.items():
                mine.setdefault(key, set()).update(fps)

    def boilerplate(self, source: str | None) -> frozenset[str]:
        """Keys of the lines learned as boilerplate for ``source``."""
        if not source or source not in self.lines:
            return frozenset()
        n = self.prior_articles.get(source, 0) + len(self.articles.get(source, ()))
        need = max(self.min_articles, self.min_share * n)
        return frozenset(k for k, fps in self.lines[source].items() if len(fps) >= need)

    # Fingerprints kept per line when persisting: enough to decide, small
    # enough that the state does not grow with the corpus.
    MAX_FINGERPRINTS = 64

    def to_dict(self) -> dict[str, Any]:
        """Persistable form. Lines seen in a single article are dropped: they
        are almost all genuine text, and they are most of the volume."""
        cap = self.MAX_FINGERPRINTS
        return {
            "min_articles": self.min_articles,
            "min_share": self.min_share,
            "articles": {
                s: self.prior_articles.get(s, 0) + len(self.articles.get(s, ()))
                for s in sorted(set(self.articles) | set(self.prior_articles))
            },
            "lines": {
                s: {k: sorted(f)[:cap] for k, f in sorted(d.items()) if len(f) > 1}
                for s, d in sorted(self.lines.items())
            },
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "SourceLineStats":
        return cls(
            min_articles=d.get("min_articles", 3),
            min_share=d.get("min_share", 0.2),
            prior_articles=dict(d.get("articles", {})),
            lines={s: {k: set(f) for k, f in per.items()} for s, per in d.get("lines", {}).items()},
        )


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
