"""Stage 3, language: which language is this article in, and how sure are we.

langdetect is the reference detector: it is what the project promises. It is
made deterministic (``DetectorFactory.seed``; without it two runs disagree on
short or mixed text) and is given a bounded prefix of the *cleaned* text:
whole articles are slow to score and boilerplate (English share buttons on a
German page) misleads it.
"""

from __future__ import annotations

import regex
from langdetect import DetectorFactory, detect_langs
from langdetect.lang_detect_exception import LangDetectException

DetectorFactory.seed = 0

UNKNOWN = "und"  # ISO 639-2 "undetermined"
_LETTER = regex.compile(r"\p{L}")


def detect_language(text: str, prefix_chars: int = 500) -> tuple[str, float]:
    """Return ``(language code, probability)``; ``("und", 0.0)`` when the text
    has nothing to go on (no letters, or langdetect gives up).

    The prefix is cut at a word boundary so the last token is a real word.
    """
    sample = text[:prefix_chars]
    if len(text) > prefix_chars and " " in sample:
        sample = sample[: sample.rfind(" ")]
    if not _LETTER.search(sample):
        return UNKNOWN, 0.0
    try:
        best = detect_langs(sample)[0]
    except LangDetectException:
        return UNKNOWN, 0.0
    return best.lang, round(best.prob, 4)
