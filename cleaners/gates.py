"""Stage 4, decisions: turn scores into keep / drop with a reason code.

Scores (language probability, word counts) are computed by the stages that
know how; the thresholds live in the run configuration. Keeping the two apart
means a threshold can be changed and the report re-read without recomputing.
"""

from __future__ import annotations

from collections.abc import Collection

from .record import Article


def word_count(text: str) -> int:
    return len(text.split())


def gate(
    article: Article,
    *,
    min_words: int | None = 50,
    languages: Collection[str] | None = None,
) -> str | None:
    """The reason to drop ``article``, or ``None`` to keep it.

    ``languages``: codes to keep (``None`` or empty keeps all).
    ``min_words``: fewer words left after cleaning is not an article
    (a stub, a live-blog placeholder, a page that was all boilerplate).
    """
    words = word_count(article.text)
    if words == 0:
        return "empty"
    if languages and article.language not in languages:
        return "language"
    if min_words is not None and words < min_words:
        return "too_short"
    return None
