"""The line rules' literal pre-checks (cleaners/boilerplate/rules.py): a
substring test that skips a regex search only where the search could not
have matched, so the rules remove exactly what they removed without it."""

from __future__ import annotations

import json

import pytest
import regex

from cleaners.boilerplate import Blocks, RuleStep
from cleaners.boilerplate.rules import FLAGS, FOLDS_TO_ASCII, _lowered, _precheck, required_literals
from conftest import DATA, shared
from pipelines.config import load_config


@pytest.fixture(scope="module")
def rules():
    return load_config().ruleset()


def test_the_characters_that_fold_to_ascii_are_the_engines_own():
    """Every character outside ASCII that IGNORECASE matches to an ASCII
    one: a line holding one of them cannot be lowercased for the test."""
    ascii_class = regex.compile(r"[\x00-\x7f]", FLAGS)
    found = {chr(c) for c in range(0x80, 0x110000) if ascii_class.fullmatch(chr(c))}
    assert found == FOLDS_TO_ASCII


@pytest.mark.parametrize("pattern, literals", [
    (r"(\bgoogletag\.|\bfbq\(|\(function\s*\()", {"googletag.", "fbq(", "(function"}),
    (r"^(updated|published)\s+\d+\s+(minutes?|hours?)\s+ago$", {"updated", "published"}),
    (r"(©|\ball rights reserved\b)", {"©", "all rights reserved"}),
    (r"\bcontributed to this (report|story)\.?$", {"contributed to this "}),
])
def test_literals_every_match_holds(pattern, literals):
    assert required_literals(pattern) == literals


@pytest.mark.parametrize("pattern", [
    r"(share|tweet)?\s*\d+",  # a branch that may be empty
    r"^\p{Lu}[\w.]+ / \p{Lu}\w+$",  # syntax the stdlib parser does not know
    r"(?-i:Credit):",  # scoped flags
    r"(ab)c\1",  # a back reference
    r"(cookies){e<=1}",  # fuzzy matching: to the stdlib a literal brace
    r"[[:alpha:]]+ ago",  # a POSIX class
    r"(?x) foo",  # global flags
    r"(\u017fhare|tweet)",  # a literal the engine folds onto ASCII
])
def test_no_literals_where_they_cannot_be_named_safely(pattern):
    assert required_literals(pattern) is None


def test_no_line_a_rule_matches_is_skipped_by_its_precheck(rules):
    """On every line of 600 BBC stories and every line of the rule cases,
    as written, upper-cased and with variants that fold differently (the long
    s, the Kelvin sign, Greek letters), a rule whose search matches passes
    its pre-check."""
    rows = [json.loads(line) for line in shared("data", "bbc-news-2225", "bbc_news.jsonl").open(encoding="utf-8")][:600]
    cases = json.loads((DATA / "boilerplate_cases.json").read_text(encoding="utf-8"))
    lines = {ln for r in rows for ln in r["text"].split("\n") if ln.strip()}
    lines |= {c["line"] for kind in ("remove", "keep") for c in cases[kind]}
    lines |= {v for ln in list(lines) for v in (ln.upper(), ln.replace("s", "\u017f"), ln.replace("k", "\u212a"))}
    lines |= {
        "<script>(adsbygoogle = window.adsbygoogle || []).push({});</script>",
        "(ADSBYGOOGLE = WINDOW.ADSBYGOOGLE || []).PUSH({});",
        "(ad\u017fbygoogle = window.ad\u017fbygoogle || []).push({});",
        "Additional reporting by Jane Mercer in Lond\u03bfn",
        "This website uses cookie\u017f to improve your experience and we hope you accept them",
        "\u039fur \u03c0\u03bf\u03bb\u03b9\u03c4\u03b9\u03ba\u03ae \u03b1\u03c0\u03bf\u03c1\u03c1\u03ae\u03c4\u03bf\u03c5 \u03a3",
    }
    checks = [_precheck(r) for r in rules.rules if r.kind == "line"]
    assert any(lits for _, lits, _, _ in checks)
    tested = 0
    for line in lines:
        low_ascii, low_any = _lowered(line)
        for rule, lits, fold, ascii_lits in checks:
            if lits is None or not rule.pattern.search(line):
                continue
            text = line if not fold else (low_ascii if ascii_lits else low_any)
            assert text is None or any(lit in text for lit in lits), (rule.name, line)
            tested += 1
    assert tested >= 40


def test_a_widget_line_in_a_folded_spelling_still_goes(rules):
    """The long s matches "s" under IGNORECASE: the line lowercased would
    hold no "adsbygoogle", so the pre-check must leave it to the search."""
    body = ["The harbor board voted on Monday to raise ferry fares by 6 percent from June, saying it needs two new ships."] * 3
    widget = "(ad\u017fbygoogle = window.ad\u017fbygoogle || []).push({});"
    b = Blocks("\n\n".join([body[0], widget, *body[1:]]), "Ferry fares to rise")
    RuleStep(rules)(b)
    assert [b.removed.get(i) for i in b.nonblank] == [None, "code", None, None]
