"""Stage 2, boilerplate: remove what the scraper left around the article.

The stage is an ordered list of steps (``[boilerplate] steps`` in the run
configuration), each a small class with one job that reads an article's
:class:`Blocks` and removes or trims blocks with a reason code:

* ``page`` (:mod:`.page`): whole-page text (menus, teasers, footers around
  the article) cut to the article's block of sentence-length lines;
* ``sections`` (:mod:`.rules`): suffixes glued to lines and trailing
  sections of links or comments (rules of those kinds);
* ``rules`` (:mod:`.rules`): line rules, regexes kept as data in
  ``configs/rules.toml`` (conventions seen on many sites; one site's text
  only in opt-in ``configs/sites/`` files): footers, related links, bylines,
  datelines, credits, trailers, share and cookie lines, title lines. High precision: they run
  before the classifier and override it;
* ``learned`` (:mod:`.learned`): lines that recur across many different
  articles of one source;
* ``classifier`` (:mod:`.classifier`): a trained model scores the blocks
  still kept (not in an article whose kept lines are all protected body,
  where no score could remove anything); blocks scored at or above the
  configured threshold go, with their score;
* ``lead`` (:mod:`.rules`): a dateline glued to the first sentence;
* ``offtopic`` (:mod:`.offtopic`): a paragraph spliced in from another story.

The first decision about a block wins, so the order is the precedence.
No step removes the article itself: every removal names the guard it
passed, and the prose of the article's main run is protected from every
step that decides on its own say (see :mod:`.blocks`, the body guard).
Whether what is left is still an article is not decided here: the gates
(:mod:`cleaners.gates`) read the edits and drop a page that was all
furniture as ``no_article``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Sequence
from typing import Protocol

from ..record import Edit
from .blocks import Blocks
from .learned import LearnedStep, SourceLineStats, article_fingerprint, line_key
from .offtopic import OfftopicParams, OfftopicStep, TopicScore, content_words, is_offtopic, offtopic_scores, word_zipf
from .page import PageParams, PageStep, main_block
from .rules import KINDS, LeadStep, Rule, RuleSet, RulesError, RuleStep, SectionStep, is_title_line

DEFAULT_STEPS = ("sections", "page", "rules", "learned", "lead", "offtopic")


class Step(Protocol):
    name: str

    def __call__(self, blocks: Blocks) -> None: ...


@dataclass(slots=True)
class BoilerplateResult:
    text: str
    edits: list[Edit]
    # Removals the body guard refused, per reason (see .blocks).
    refused: dict[str, int] = field(default_factory=dict)


class Boilerplate:
    """The configured steps, built once per process and applied per article."""

    def __init__(self, rules: RuleSet, steps: tuple[str, ...] = DEFAULT_STEPS,
                 offtopic_threshold: float | None = 0.14, classifier=None, offtopic_model=None):
        makers = {
            "sections": lambda: SectionStep(rules),
            "page": lambda: PageStep(rules.page),
            "rules": lambda: RuleStep(rules),
            "learned": LearnedStep,
            "lead": lambda: LeadStep(rules),
            "offtopic": lambda: OfftopicStep(rules.offtopic, offtopic_threshold, offtopic_model),
            "classifier": lambda: classifier,
        }
        unknown = [s for s in steps if s not in makers]
        if unknown:
            raise ValueError(f"unknown boilerplate step(s) {unknown}; known: {', '.join(makers)}")
        if len(set(steps)) != len(steps):
            raise ValueError(f"boilerplate steps {list(steps)} name a step twice")
        if "classifier" in steps and classifier is None:
            raise ValueError("the 'classifier' step needs a model (see [boilerplate] model)")
        self.rules = rules
        self.steps: list[Step] = [makers[s]() for s in steps]

    def warm_up(self) -> None:
        for step in self.steps:
            if hasattr(step, "warm_up"):
                step.warm_up()

    def strip(self, text: str, title: str = "", source: str | None = None,
              learned: frozenset[str] = frozenset()) -> BoilerplateResult:
        return self.strip_many([(text, title, source, learned)])[0]

    def strip_many(self, items: Sequence[tuple[str, str, str | None, frozenset[str]]]) -> list[BoilerplateResult]:
        """``(text, title, source, learned)`` per article. Each step runs over
        every article before the next one starts: a step that scores a batch
        at once (the classifier) does so once, and a step's tables stay in
        the CPU cache from one article to the next."""
        batch = [Blocks(text, title, source, learned) for text, title, source, learned in items]
        self.run(batch)
        return [BoilerplateResult(b.text(), b.edits(), dict(b.refused)) for b in batch]

    def run(self, batch: Sequence[Blocks], steps: Sequence[Step] | None = None) -> None:
        """Apply ``steps`` (default: every step of the stage) to ``batch`` in
        place, each step over every article before the next (see
        :meth:`strip_many`); training scripts stop before a step to read
        what it is given."""
        for step in self.steps if steps is None else steps:
            if hasattr(step, "batch"):
                step.batch(batch)
            else:
                for b in batch:
                    step(b)


def strip_boilerplate(
    text: str,
    *,
    title: str = "",
    source: str | None = None,
    rules: RuleSet,
    learned: frozenset[str] = frozenset(),
    offtopic_threshold: float | None = 0.14,
    steps: tuple[str, ...] = DEFAULT_STEPS,
) -> BoilerplateResult:
    """Remove boilerplate lines from repaired text (one paragraph or line per
    line, blank lines between paragraphs) with the rule-based steps: the
    stage without a trained model, for one article. ``learned`` holds
    :func:`line_key` keys of lines learned for this source;
    ``offtopic_threshold`` None switches the off-topic check off."""
    return Boilerplate(rules, steps, offtopic_threshold).strip(text, title, source, learned)


__all__ = [
    "Blocks", "Boilerplate", "BoilerplateResult", "DEFAULT_STEPS", "KINDS", "LeadStep", "LearnedStep",
    "OfftopicParams", "OfftopicStep", "PageParams", "PageStep", "Rule", "RuleSet", "RuleStep", "RulesError", "SectionStep",
    "SourceLineStats", "Step", "TopicScore", "article_fingerprint", "content_words", "is_offtopic",
    "is_title_line", "line_key", "main_block", "offtopic_scores", "strip_boilerplate", "word_zipf",
]
