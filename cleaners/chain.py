"""The per-article chain: stages 1-4 composed, configured once per process.

The pipeline calls :meth:`Chain.prepare` on every article (pass 1, whose
output also feeds :class:`~cleaners.boilerplate.SourceLineStats`), then
:meth:`Chain.finish` with what was learned (pass 2). Both mutate the article in
place and record every change in its ``edits``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .boilerplate import DEFAULT_STEPS, Boilerplate, RuleSet
from .gates import cheap_gate, gate, too_short_already
from .language import detect_language
from .language import warm_up as load_language_models
from .record import Article, Edit
from .repair import repair_text


# A link alone on the line: the page's address, which scrapers print above
# the text; a headline has words.
_BARE_URL = re.compile(r"(?:https?://|www\.)\S+")


def split_title(text: str, max_title_words: int = 30,
                furniture: Callable[[str], object] | None = None) -> tuple[str, str]:
    """First non-blank line as title, the rest as body.

    A first line that reads like a paragraph is not a title (scrapes that lost
    their headline), so it stays in the body: longer than ``max_title_words``
    words, or a full sentence (more than 15 words ending in . ! or ?) —
    headlines are short and rarely end with a full stop. Nor is a line that
    ``furniture`` calls the page's own (a menu label, "Share", a date: see
    :meth:`cleaners.boilerplate.RuleSet.furniture`): whole-page dumps open
    with "Skip to main content", and a title escapes every later step, so
    the line stays in the body for the rules. Nor is a bare link (the
    page's address). A line with nothing after it is the text itself, not
    its headline.
    """
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line:
            words = len(line.split())
            if words > max_title_words or (words > 15 and line.rstrip("\"”’'»)").endswith((".", "!", "?"))):
                return "", text
            if (furniture is not None and furniture(line)) or _BARE_URL.fullmatch(line.strip()):
                return "", text
            body = "\n".join(lines[i + 1 :]).strip("\n")
            return (line, body) if body.strip() else ("", text)
    return "", ""


@dataclass
class Chain:
    rules: RuleSet
    max_title_words: int = 30
    steps: tuple[str, ...] = DEFAULT_STEPS
    offtopic_max_shared: float | None = 0.14
    # The block classifier step (cleaners.boilerplate.classifier), when
    # ``steps`` names it.
    classifier: object | None = None
    # The off-topic step's learned decision (cleaners.boilerplate.offtopic.TopicModel);
    # None: its rules decide every paragraph.
    offtopic_model: object | None = None
    prefix_chars: int = 500
    fast_prefix_chars: int = 300
    # Trust the fast language guess at this probability; None: langdetect only.
    fast_language_prob: float | None = 0.9
    keep_languages: tuple[str, ...] = ()
    min_words: int | None = 50
    max_furniture_share: float | None = 0.8
    min_sentences: int = 2

    def __post_init__(self) -> None:
        self.boilerplate = Boilerplate(self.rules, self.steps, self.offtopic_max_shared, self.classifier,
                                       self.offtopic_model)

    def warm_up(self) -> None:
        """Load what the first article would otherwise wait for: word
        frequencies for the off-topic check (about 0.7 s), the classifier's
        model and the language models (about 2 s)."""
        self.boilerplate.warm_up()
        load_language_models(fast=self.fast_language_prob is not None)

    def prepare(self, art: Article) -> None:
        """Stage 1: repair the text (and title), split off a .txt title."""
        text, edits = repair_text(art.text)
        art.raw_chars = len(art.text)
        if not art.title:
            # A .txt file, or a record without a title (text dumps, many
            # crawler exports): a short title-like first line is the
            # headline. It becomes the title, so no step judges it as a line.
            art.title, text = split_title(text, self.max_title_words,
                                          lambda line: self.rules.furniture(line, art.source))
        elif art.title:
            art.title, title_edits = repair_text(art.title)
            edits += title_edits
        art.text = text
        art.edits.extend(edits)

    def strip(self, art: Article, learned: frozenset[str] = frozenset()) -> None:
        """Stage 2: remove boilerplate (``learned``: line keys learned for the
        article's source)."""
        result = self.boilerplate.strip(art.text, art.title, art.source, learned)
        art.text = result.text
        art.edits.extend(result.edits)

    def strip_many(self, arts: list[Article], learned: Mapping[str, frozenset[str]]) -> None:
        """Stage 2 over a batch (a shard): each boilerplate step runs over
        every article before the next, and the classifier scores the whole
        batch at once. ``learned``: line keys learned, per source."""
        none: frozenset[str] = frozenset()
        results = self.boilerplate.strip_many([(a.text, a.title, a.source, learned.get(a.source or "", none)) for a in arts])
        for art, result in zip(arts, results):
            art.text = result.text
            art.edits.extend(result.edits)

    def identify(self, art: Article) -> None:
        """Stage 3: the language of the cleaned text."""
        if art.text:
            art.language, art.language_prob = detect_language(
                art.text, self.prefix_chars, self.fast_language_prob, self.fast_prefix_chars
            )

    def short_already(self, art: Article) -> bool:
        """After :meth:`prepare`: too short to be kept whatever stage 2
        removes (see :func:`cleaners.gates.too_short_already`)."""
        return too_short_already(art, self.min_words)

    def precheck(self, art: Article) -> str | None:
        """Stage 4's gates that need no language (see
        :func:`cleaners.gates.cheap_gate`): a reason here means
        :meth:`identify` can be skipped."""
        return cheap_gate(art, min_words=self.min_words, max_furniture_share=self.max_furniture_share,
                          min_sentences=self.min_sentences)

    def decide(self, art: Article) -> str | None:
        """Stage 4: a drop reason, or None to keep the article."""
        return gate(art, min_words=self.min_words, languages=self.keep_languages,
                    max_furniture_share=self.max_furniture_share, min_sentences=self.min_sentences)

    def finish(self, art: Article, learned: frozenset[str] = frozenset()) -> str | None:
        """Stages 2-4 on one prepared article; return a drop reason or None.
        (Shards run each stage over all their articles in turn instead: a
        stage's tables stay in the CPU cache from one article to the next.)"""
        self.strip(art, learned)
        if self.precheck(art):
            return self.precheck(art)
        self.identify(art)
        return self.decide(art)


def edits_summary(edits: list[Edit]) -> dict[str, int]:
    out: dict[str, int] = {}
    for e in edits:
        out[e.reason] = out.get(e.reason, 0) + 1
    return out
