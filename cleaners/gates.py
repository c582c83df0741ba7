"""Stage 4, decisions: turn scores into keep / drop with a reason code.

Scores (language probability, word counts, what cleaning removed) are
computed by the stages that know how; the thresholds live in the run
configuration. Keeping the two apart means a threshold can be changed and
the report re-read without recomputing.
"""

from __future__ import annotations

import re

import regex
from collections.abc import Collection

from .reasons import CHANGE_REASONS
from .record import Article


# Scripts written without spaces between words: a Japanese or Chinese
# paragraph is one whitespace token. Counting its characters, two to a word
# (about the mean word length of both languages), puts it on the scale of
# spaced text, so that the length gate, the body guard and the sentence
# count do not read a page of CJK prose as one-word lines.
_UNSPACED = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}]")


def word_count(text: str) -> int:
    """Words of ``text``: whitespace tokens, characters of unspaced scripts
    counted two to a word."""
    n = len(text.split())
    if text.isascii():
        return n
    unspaced = len(_UNSPACED.findall(text))
    return n + (unspaced + 1) // 2 if unspaced else n


# A sentence line: enough words to be prose, ending as a sentence ends
# (the ideographic full stop and full-width marks included).
_SENTENCE_END = re.compile(r"[.!?…:;\"”’'»)\]。！？」』]\s*$")
# A sentence inside a line: its end mark, then a space, a closing mark or the end.
_SENTENCE_STOP = re.compile(r"[.!?…。！？](?=[\s\"”’'»)\]」』]|$)")
SENTENCE_WORDS = 10


def ends_sentence(line: str) -> bool:
    """The line ends as a sentence ends (a closing quote or bracket after
    the mark included). Looks at the line's last character only."""
    return _SENTENCE_END.search(line, max(0, len(line.rstrip()) - 1)) is not None


def is_prose(line: str) -> bool:
    """A line that reads as prose: at least ``SENTENCE_WORDS`` words, ending
    as a sentence ends. Called on every line by the body guard, so it
    looks at the line's end only and splits no further than it must count."""
    if not ends_sentence(line):
        return False
    return (len(line.split(None, SENTENCE_WORDS - 1)) >= SENTENCE_WORDS
            or (not line.isascii() and word_count(line) >= SENTENCE_WORDS))


def prose_sentences(text: str) -> int:
    """Sentences in the prose lines of ``text``: a one-paragraph news brief
    of five sentences counts five, a lone widget sentence one."""
    return sum(max(1, len(_SENTENCE_STOP.findall(ln))) for ln in text.split("\n") if is_prose(ln))


def furniture_share(article: Article) -> float:
    """Share of the article's words that boilerplate removal took, page
    trimming aside (what lay outside a whole page's article block was never
    the article)."""
    removed = sum(word_count(e.text) for e in article.edits if e.reason not in CHANGE_REASONS and e.reason != "page")
    total = removed + word_count(article.text)
    return removed / total if total else 0.0


def is_no_article(article: Article, max_share: float | None, min_sentences: int) -> bool:
    """A page that was mostly furniture (more than ``max_share`` of its words
    removed) and whose remains are not an article: fewer than
    ``min_sentences`` sentences of prose. A page of widgets, a lone
    teaser. One whose remains still read as an article keeps them, a
    one-paragraph brief among a portal's menus included."""
    if max_share is None or furniture_share(article) <= max_share:
        return False
    return prose_sentences(article.text) < min_sentences


def too_short_already(article: Article, min_words: int | None = 50) -> bool:
    """Too short before boilerplate removal, which only ever removes words:
    the article will be dropped as ``too_short`` whatever cleaning does, so
    cleaning it is skipped (a flood of tiny records costs a word count
    each). An article with no words at all is left to :func:`cheap_gate`
    (``empty``)."""
    if min_words is None:
        return False
    words = word_count(article.text)
    return 0 < words < min_words


def cheap_gate(
    article: Article,
    *,
    min_words: int | None = 50,
    max_furniture_share: float | None = 0.8,
    min_sentences: int = 2,
) -> str | None:
    """The gates that need no language: ``empty``, ``no_article``,
    ``too_short``. They run before language detection, which costs far
    more than counting words (up to 20 ms an article in langdetect's slow
    path) and would be wasted on an article they drop."""
    words = word_count(article.text)
    if words == 0:
        return "empty"
    if is_no_article(article, max_furniture_share, min_sentences):
        return "no_article"
    if min_words is not None and words < min_words:
        return "too_short"
    return None


def gate(
    article: Article,
    *,
    min_words: int | None = 50,
    languages: Collection[str] | None = None,
    max_furniture_share: float | None = 0.8,
    min_sentences: int = 2,
) -> str | None:
    """The reason to drop ``article``, or ``None`` to keep it.

    ``languages``: codes to keep (``None`` or empty keeps all).
    ``min_words``: fewer words left after cleaning is not an article
    (a stub, a live-blog placeholder, a page that was all boilerplate).
    ``max_furniture_share`` / ``min_sentences``: see :func:`is_no_article`.
    The cheap gates (:func:`cheap_gate`) decide first: a stub in another
    language is ``too_short``, and its language need never be detected.
    """
    reason = cheap_gate(article, min_words=min_words, max_furniture_share=max_furniture_share, min_sentences=min_sentences)
    if reason:
        return reason
    if languages and article.language not in languages:
        return "language"
    return None
