"""Whole-page text: cut an HTML-to-text dump (menus, teasers, footers around
the article) down to the article's block of sentence-length lines.
Extractor output, which has no such furniture around it, is left alone."""

from __future__ import annotations

import re
from dataclasses import dataclass

import regex

from .blocks import Blocks


@dataclass(frozen=True, slots=True)
class PageParams:
    """Finding the article in whole-page text (see :func:`main_block`);
    values come from ``[page]`` in ``configs/rules.toml``."""

    enabled: bool = True
    # A line is body text when it has this many words and ends a sentence.
    body_words: int = 10
    # Body lines separated by at most this many other lines belong together.
    max_gap_lines: int = 6
    # Only text that looks like a whole page is trimmed: at least this many
    # lines, of which at least this share are short (menus, link lists).
    min_lines: int = 25
    min_short_share: float = 0.45
    short_words: int = 4
    # ... and at least this many short lines before or after the article.
    min_edge_short: int = 8
    # Other blocks are kept when they hold at least this share of the main
    # block's body words.
    keep_share: float = 0.5


_ENDS_SENTENCE = regex.compile(r"[.!?…:;\"”’'»)\]]\s*$")


def main_block(lines: list[str], idx: list[int], p: PageParams) -> set[int] | None:
    """Indices (of ``idx``) outside the article body of whole-page text, or
    None when the text does not look like a whole page.

    Menus, link lists, teasers and footers are runs of short lines; the
    article is a run of sentence-length lines with at most a few short lines
    (headings, captions) between them. Blocks of body lines are formed by
    closing gaps of at most ``max_gap_lines``; the largest block by body
    words is the article, and other blocks at least ``keep_share`` its size
    stay with it (an article split by a gallery or an inline promo)."""
    n = len(idx)
    if n < p.min_lines:
        return None
    words = [len(lines[i].split()) for i in idx]
    # Table cells rendered one per line are data, not menus.
    is_short = [w <= p.short_words and "|" not in lines[i] for i, w in zip(idx, words)]
    if sum(is_short) < p.min_short_share * n:
        return None
    body = [w >= p.body_words and bool(_ENDS_SENTENCE.search(lines[i])) for i, w in zip(idx, words)]
    # A page has furniture around the article: menus before it, link lists
    # after it. An extraction with many headings and lists has little.
    first = next((k for k, b in enumerate(body) if b), n)
    last = max((k for k, b in enumerate(body) if b), default=-1)
    if sum(is_short[:first]) + sum(is_short[last + 1:]) < p.min_edge_short:
        return None
    blocks: list[list[int]] = []  # [first pos, last pos, body words]
    last = None
    for pos in range(n):
        if not body[pos]:
            continue
        if last is not None and pos - last - 1 <= p.max_gap_lines:
            blocks[-1][1] = pos
            blocks[-1][2] += words[pos]
        else:
            blocks.append([pos, pos, words[pos]])
        last = pos
    if not blocks:
        return None
    best = max(b[2] for b in blocks)
    keep = [b for b in blocks if b[2] >= p.keep_share * best]
    inside: set[int] = set()
    for b in keep:
        end = _numbered_run_end(lines, idx, b[0], b[1], p.max_gap_lines)
        inside.update(range(b[0], end + 1))
    return {idx[pos] for pos in range(n) if pos not in inside}


_LIST_ITEM = re.compile(r"^\s*(\d{1,3})[.)]\s+\S")


def _numbered_run_end(lines: list[str], idx: list[int], start: int, end: int, gap: int) -> int:
    """Where the article's block (positions ``start`` to ``end``) ends once
    a numbered list (1, 2, 3, ...) that opens inside it or within ``gap``
    lines after it is followed to its last item. A listicle's items ("1)
    Lego Star Wars ...", each followed by a link) are short lines that end
    no sentence, like a menu; their count going up one by one is what a
    menu never does."""
    expect, last, pos = 1, end, start
    while pos < len(idx) and (pos <= end or pos - last - 1 <= (gap if expect == 1 else 2)):
        m = _LIST_ITEM.match(lines[idx[pos]])
        if m and int(m.group(1)) == expect:
            expect += 1
            last = max(last, pos)
        pos += 1
    # One or two numbered lines are headings, not a list.
    return last if expect > 3 else end


class PageStep:
    """Removes what lies outside the article's block of whole-page text
    (reason ``page``); runs first, so the rules that look at the article's
    head and tail see the article's own."""

    name = "page"

    def __init__(self, params: PageParams | None):
        self.params = params

    def __call__(self, b: Blocks) -> None:
        if self.params is None or not self.params.enabled:
            return
        for i in main_block(b.lines, b.live(), self.params) or ():
            b.remove(i, "page", "outside_body")
