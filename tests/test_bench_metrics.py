"""The boilerplate benchmark's block counts (benchmarks/generalisation.py):
a figure that credits a cleaner with removals it never made is worse than
none."""

from __future__ import annotations

from benchmarks.generalisation import kept_blocks


def test_a_block_without_a_letter_or_digit_is_counted_neither_kept_nor_removed():
    # Lines as whole-page renders give them: a section break, a rule, a separator and
    # a zero-width joiner as mojibake sit among the article's lines.
    blocks = [
        {"text": "* * *", "label": "content"},
        {"text": "___", "label": "content"},
        {"text": "The council voted on Tuesday to raise water rates by 4 percent.", "label": "content"},
        {"text": "|", "label": "boilerplate"},
        {"text": "\u00e2\u0080\u008d", "label": "content"},
        {"text": "Subscribe to our newsletter", "label": "boilerplate"},
    ]
    untouched = "\n".join(b["text"] for b in blocks)
    # A cleaner that removes nothing keeps every block of text and
    # is credited with removing nothing.
    assert kept_blocks(blocks, untouched) == [None, None, True, None, None, True]
    cleaned = "The council voted on Tuesday to raise water rates by 4 percent."
    assert kept_blocks(blocks, cleaned) == [None, None, True, None, None, False]
