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


def test_rule_precision_counts_what_each_rule_took_as_the_gold_labels_it():
    from benchmarks.rule_precision import NO_TEXT, fires
    from cleaners.boilerplate import Blocks, Boilerplate
    from pipelines.config import load_config

    body = [
        "The council voted on Tuesday to raise water rates by 4 percent, the first rise in six years.",
        "Residents who spoke at the meeting said the rise would fall hardest on families with young children.",
        "The new rates take effect in March, after a second vote that council members expect to pass easily.",
    ]
    lines = ["PORTVILLE (Northwire) - " + body[0], "___", body[1], body[2], "Share this article"]
    labels = ["content", "content", "content", "content", "boilerplate"]
    rules = load_config().ruleset()
    b = Blocks("\n".join(lines), "Portville raises water rates", "portville.example")
    Boilerplate(rules, ("sections", "rules", "lead"), None).run([b])
    got = fires(b, labels, gold=" ".join(body))
    by_rule = {name: label for name, label in got}
    # The separator has no text: counted neither as content lost nor as furniture.
    assert NO_TEXT in by_rule.values()
    assert "content" not in [label for name, label in got if "[[line]]" in name]
    assert "boilerplate" in by_rule.values()
    # The dateline trimmed off the lead: furniture when the gold leaves it out,
    # content when the gold keeps it.
    assert [label for name, label in got if "[[prefix]]" in name] == ["boilerplate"]
    kept = fires(b, labels, gold="PORTVILLE (Northwire) - " + " ".join(body))
    assert [label for name, label in kept if "[[prefix]]" in name] == ["content"]
