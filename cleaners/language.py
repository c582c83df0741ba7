"""Stage 3, language: which language is this article in, and how sure are we.

langdetect is the reference detector: it is what the project promises, and
its language codes are the ones newsclean reports. It is made deterministic
(``DetectorFactory.seed``; without it two runs disagree on short or mixed
text) and is given a bounded prefix of the *cleaned* text: whole articles are
slow to score and boilerplate (English share buttons on a German page)
misleads it.

langdetect costs about 10 ms an article, more than the rest of the chain
together, so a cheap first pass runs before it: py3langid's naive Bayes
model, restricted to the languages langdetect knows and answering with
langdetect's codes. When its probability reaches ``fast_min_prob`` its answer
is kept; otherwise (short or mixed text, Chinese, whose script variant only
langdetect tells apart) langdetect decides. On the lingua test sentences the
combination is at least as accurate as langdetect alone (measured by
``benchmarks/throughput.py``; ``tests/test_language.py`` guards it).
"""

from __future__ import annotations

from functools import cache

import regex
from langdetect import DetectorFactory, detect_langs
from langdetect.lang_detect_exception import LangDetectException

DetectorFactory.seed = 0

UNKNOWN = "und"  # ISO 639-2 "undetermined"
_LETTER = regex.compile(r"\p{L}")

# langdetect's profiles, as py3langid names them (it says "zh" for both of
# langdetect's "zh-cn" and "zh-tw").
LANGDETECT_LANGUAGES = (
    "af ar bg bn ca cs cy da de el en es et fa fi fr gu he hi hr hu id it ja kn ko lt lv mk ml mr ne nl no "
    "pa pl pt ro ru sk sl so sq sv sw ta te th tl tr uk ur vi zh"
).split()
# Languages whose code the fast pass cannot give in langdetect's form.
_DEFER = frozenset({"zh"})

# A probability the fast pass must reach to be trusted without langdetect.
DEFAULT_FAST_MIN_PROB = 0.9
# Characters the fast pass reads. Its cost is one lookup per byte in a 40 MB
# table (cache misses, not arithmetic), and on the 631 multilingual gold
# article bodies of the extraction benchmarks 300 characters agree with
# langdetect on every page with no more deferrals than 500; at 200 the
# deferrals (10 ms each in langdetect) triple.
DEFAULT_FAST_CHARS = 300


@cache
def _fast_identifier():
    """py3langid restricted to langdetect's languages, loaded once per process
    (about 2 s: the model ships xz-compressed)."""
    import numpy as np
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ident.set_languages(LANGDETECT_LANGUAGES)
    # The model's weights are float16; numpy has no fast float16 product, and
    # widening to float32 is exact, so the scores are the same, in half the time.
    ptc = getattr(ident, "nb_ptc", None)
    if ptc is not None and ptc.dtype == np.float16:
        ident.nb_ptc = np.ascontiguousarray(ptc, dtype=np.float32)
    return ident


def warm_up(fast: bool = True) -> None:
    """Load the models now (about 2 s) rather than on the first article, e.g.
    while a worker process waits for its first shard."""
    from langdetect.detector_factory import init_factory

    init_factory()
    if fast:
        _fast_identifier()


def prefix(text: str, prefix_chars: int = 500) -> str:
    """The first ``prefix_chars`` characters, cut at a word boundary so the
    last token is a real word."""
    sample = text[:prefix_chars]
    if len(text) > prefix_chars and " " in sample:
        sample = sample[: sample.rfind(" ")]
    return sample


def fast_guess(sample: str) -> tuple[str, float]:
    """py3langid's best language among langdetect's, and its probability."""
    lang, prob = _fast_identifier().classify(sample)
    return lang, prob


def langdetect_language(sample: str) -> tuple[str, float]:
    """Plain (deterministic) langdetect on ``sample``."""
    try:
        best = detect_langs(sample)[0]
    except LangDetectException:
        return UNKNOWN, 0.0
    return best.lang, round(best.prob, 4)


def detect_language(
    text: str,
    prefix_chars: int = 500,
    fast_min_prob: float | None = DEFAULT_FAST_MIN_PROB,
    fast_chars: int = DEFAULT_FAST_CHARS,
) -> tuple[str, float]:
    """Return ``(language code, probability)``; ``("und", 0.0)`` when the text
    has nothing to go on (no letters, or langdetect gives up).

    ``fast_min_prob``: trust the fast pass at or above this probability;
    ``None`` always asks langdetect (the plain reference path).
    ``fast_chars``: how much of the prefix the fast pass reads; langdetect,
    when asked, reads all ``prefix_chars``.
    """
    sample = prefix(text, prefix_chars)
    if not _LETTER.search(sample):
        return UNKNOWN, 0.0
    if fast_min_prob is not None:
        lang, prob = fast_guess(prefix(sample, fast_chars))
        if prob >= fast_min_prob and lang not in _DEFER:
            return lang, round(prob, 4)
    return langdetect_language(sample)
