"""Every reason code newsclean writes, in one place.

A reason code says why text was removed or changed (an article's ``edits``)
or why a document is not in the corpus (a line of ``dropped.jsonl``). The
record, the report, the flow, ``configs/rules.toml`` and the README all read
this table, so a code means the same everywhere and a rule cannot invent
one the report does not explain (:func:`check`).

Kinds:

* ``removal``: text taken out of an article; counts towards its boilerplate share;
* ``change``: text changed in place (encoding repair, markdown); removes nothing;
* ``drop``: a whole document left out of the corpus.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    kind: str  # "removal" | "change" | "drop"
    meaning: str


_TABLE = [
    # Removals: rules (configs/rules.toml), learned lines, page trimming,
    # the block classifier and the off-topic check.
    Reason("footer", "removal", "site footer, copyright line"),
    Reason("related", "removal", "related-article links, teasers and headlines of other stories"),
    Reason("share", "removal", "share, follow and print prompts"),
    Reason("subscribe", "removal", "newsletter, subscription and app promotions"),
    Reason("byline", "removal", "author byline"),
    Reason("dateline", "removal", "dateline or timestamp (place and date before or beside the story)"),
    Reason("photo_credit", "removal", "photo credit or caption"),
    Reason("gallery", "removal", "gallery furniture: image counters, controls, repeated captions"),
    Reason("wire_credit", "removal", "wire-service credit on its own line"),
    Reason("trailer", "removal", "trailer: 'Original url:', reporting credits, author bio, disclaimers"),
    Reason("tweet_attribution", "removal", "attribution line of an embedded post"),
    Reason("url", "removal", "bare link line"),
    Reason("counter", "removal", "view, comment and share counters"),
    Reason("advertisement", "removal", "advertisement label"),
    Reason("cookie", "removal", "cookie notice, legal links"),
    Reason("code", "removal", "script or style code of a widget"),
    Reason("navigation", "removal", "menus, section labels, breadcrumbs"),
    Reason("comments", "removal", "reader comments section"),
    Reason("punctuation", "removal", "a line of nothing but punctuation"),
    Reason("end_mark", "removal", "end-of-article mark"),
    Reason("title", "removal", "title repeated in the body"),
    Reason("learned", "removal", "line repeated across many articles of the same source"),
    Reason("page", "removal", "whole-page text outside the article's block"),
    Reason("classifier", "removal", "block the trained boilerplate classifier scored as furniture (score in detail)"),
    Reason("offtopic", "removal", "paragraph unrelated to the article (spliced-in insert)"),
    # Changes in place.
    Reason("encoding", "change", "bytes decoded from a legacy encoding"),
    Reason("mojibake", "change", "mis-decoded text repaired"),
    Reason("markdown", "change", "markdown markup reduced to its text"),
    Reason("whitespace", "change", "whitespace normalised"),
    Reason("extraction", "change", "the page's extracted text failed the article gates: the record's own text was kept instead"),
    # Drops.
    Reason("duplicate", "drop", "a copy or near-copy of a kept article, listed in that article's duplicates"),
    Reason("language", "drop", "in a language the configuration does not keep"),
    Reason("too_short", "drop", "too few words left after cleaning to be an article"),
    Reason("empty", "drop", "no text at all, or none left after cleaning"),
    Reason("no_article", "drop", "nothing but page furniture: what cleaning left is not an article"),
    Reason("quarantined", "drop", "could not be read: empty or undecodable file, broken JSON, record without text, duplicate id, corrupt WARC record, page extraction failed or timed out"),
    Reason("replaced", "drop", "an earlier version of a document that a later run read again with new content"),
]

REASONS: dict[str, Reason] = {r.code: r for r in _TABLE}
CHANGE_REASONS = frozenset(r.code for r in _TABLE if r.kind == "change")
REMOVAL_REASONS = frozenset(r.code for r in _TABLE if r.kind == "removal")
DROP_REASONS = frozenset(r.code for r in _TABLE if r.kind == "drop")


def check(code: str, kind: str | None = None) -> str:
    """``code`` if it is a registered reason (of ``kind``, when given);
    otherwise a ValueError that lists the codes allowed."""
    r = REASONS.get(code)
    if r is None or (kind is not None and r.kind != kind):
        allowed = sorted(c for c, x in REASONS.items() if kind is None or x.kind == kind)
        raise ValueError(f"unknown reason code {code!r}; known {kind or ''} codes: {', '.join(allowed)}")
    return code


def meaning(code: str) -> str:
    r = REASONS.get(code)
    return r.meaning if r else ""


def markdown_table() -> str:
    """The README's table of reason codes (a test checks the README holds it)."""
    rows = ["| code | kind | meaning |", "|---|---|---|"]
    rows += [f"| `{r.code}` | {r.kind} | {r.meaning} |" for r in _TABLE]
    return "\n".join(rows)
