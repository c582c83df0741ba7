"""The one record type that flows through every stage.

An :class:`Article` is created by a reader, cleaned in place by the cleaners
and finally written (or dropped) by the pipeline. Every change a cleaner makes
is appended to ``edits`` with a reason code, so the output can always explain
itself and no stage has to re-parse another stage's output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .reasons import CHANGE_REASONS


@dataclass(slots=True)
class Edit:
    """One removal or change, with the reason code that caused it.

    ``text`` is what was removed (or, for a change, the text before it);
    ``detail`` is optional context such as the rule or the replacement.
    """

    reason: str
    text: str
    detail: str = ""
    # The score behind a scored decision (the block classifier's probability
    # that the block is furniture); None for a rule's removal.
    score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"reason": self.reason, "text": self.text}
        if self.detail:
            d["detail"] = self.detail
        if self.score is not None:
            d["score"] = self.score
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Edit":
        return cls(reason=d["reason"], text=d.get("text", ""), detail=d.get("detail", ""), score=d.get("score"))


@dataclass(slots=True)
class Article:
    id: str
    text: str
    title: str = ""
    url: str | None = None
    source: str | None = None
    published: str | None = None
    language: str | None = None
    language_prob: float | None = None
    edits: list[Edit] = field(default_factory=list)
    # Flags are facts about the article worth reporting that are not edits,
    # e.g. "encoding:cp1252" for bytes decoded by detection.
    flags: list[str] = field(default_factory=list)
    # Size of the text as read (after decoding), to report before/after.
    raw_chars: int = 0
    # Page metadata that HTML extraction finds (None for plain text input).
    author: str | None = None
    sitename: str | None = None
    # The page's markup when the input was HTML: extraction (in a worker)
    # turns it into ``text`` and metadata, then clears it.
    html: str | None = None
    # Why a worker could not read the article (its extraction failed or
    # timed out): the pipeline quarantines it with this detail.
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        # Field by field: dataclasses.asdict deep-copies recursively and was a
        # measurable share of the clean step.
        d = {name: getattr(self, name) for name in self.__dataclass_fields__}
        d["edits"] = [e.to_dict() for e in self.edits]
        d["flags"] = list(self.flags)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Article":
        d = dict(d)
        d["edits"] = [Edit.from_dict(e) for e in d.get("edits", [])]
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in known})

    def removed_words(self) -> int:
        return sum(len(e.text.split()) for e in self.edits if e.reason not in CHANGE_REASONS)

