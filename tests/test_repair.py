"""Decode and repair: made-up mojibake and clean text (ours), the cheap
pre-check's completeness against ftfy's own gates, and ftfy's test cases
read in place from ../shared."""

from __future__ import annotations

import json
import re._parser as sre_parse
from re import _constants as C

import ftfy
import pytest
from ftfy import badness, fixes

from cleaners.repair import (
    FTFY_CONFIG,
    UndecodableError,
    _NO_JUNK,
    _SINGLE,
    _junk_share,
    decode_bytes,
    fix_mojibake,
    looks_like_mojibake,
    normalize_whitespace,
    repair_text,
    strip_markdown,
)

from conftest import shared

# Clean sentences written for these tests, in the scripts news comes in.
CLEAN = [
    "Café prices rose 5% to £3.20 — “a shock”, said the owner’s daughter.",
    "Der Bürgermeister sagte, die Straße bleibe bis März gesperrt.",
    "L’équipe a gagné 3–1 à domicile; « une belle soirée », a dit l’entraîneur.",
    "Москва объявила о новых правилах для городского транспорта.",
    "Η κυβέρνηση ανακοίνωσε νέα μέτρα για τα λιμάνια.",
    "市政府星期二宣布新的公共交通规则。",
    "Zürich’s council voted 41–7 for the €2m plan.",
    "Señor Núñez dijo que el año próximo habrá más trenes.",
    "Fans cheered 🎉 as the ferry docked at 9.30am.",
]


def _mojibake(text: str, encoding: str) -> str:
    return text.encode("utf-8").decode(encoding, errors="replace" if encoding == "cp1252" else "strict")


# (made-up original, how it was mangled)
BROKEN = [
    ("Café prices rose to £3.20, the owner’s daughter said.", "cp1252"),
    ("Der Bürgermeister sagte, die Straße bleibe gesperrt.", "latin-1"),
    ("L’équipe a gagné à domicile, a dit l’entraîneur.", "cp1252"),
    ("Москва объявила о новых правилах.", "cp1251"),
    ("Señor Núñez dijo que habrá más trenes.", "cp1252"),
]


@pytest.mark.parametrize("text", CLEAN)
def test_clean_text_is_left_alone(text):
    fixed, edits = fix_mojibake(text)
    assert fixed == text and edits == []


@pytest.mark.parametrize("text", [CLEAN[0], CLEAN[1], CLEAN[6], "Plain ASCII news & views, 5 < 6."])
def test_cheap_check_skips_ordinary_western_text(text):
    # Lone accented letters, pound and euro signs, curly quotes: not mojibake.
    assert not looks_like_mojibake(text)


@pytest.mark.parametrize("original,encoding", BROKEN)
def test_made_up_mojibake_is_repaired(original, encoding):
    broken = _mojibake(original, encoding)
    assert broken != original
    assert looks_like_mojibake(broken)
    fixed, edits = fix_mojibake(broken)
    assert fixed == original
    assert edits and all(e.reason == "mojibake" for e in edits)


def test_entities_controls_and_ligatures_are_fixed():
    assert fix_mojibake("Fish &amp; chips")[0] == "Fish & chips"
    assert fix_mojibake("the \ufb01nal score")[0] == "the final score"
    assert fix_mojibake("bell\x07 here")[0] == "bell here"


def test_cheap_check_covers_every_gate_of_ftfys_encoding_fix():
    """Each alternative of ftfy's BADNESS_RE (the gate before it re-decodes a
    line) needs two adjacent non-ASCII characters or one of the characters
    the cheap check looks for alone; this holds for the ftfy installed."""
    parsed = sre_parse.parse(badness.BADNESS_RE.pattern, badness.BADNESS_RE.flags)
    (op, (_, branches)), = parsed.data
    assert op == C.BRANCH

    def chars(item):
        """The characters one item can match, or None if it can match ASCII."""
        kind, arg = item
        if kind == C.LITERAL:
            return None if arg < 0x80 else {arg}
        if kind != C.IN:
            return None
        out = set()
        for k, a in arg:
            if k == C.LITERAL:
                out.add(a)
            elif k == C.RANGE:
                out.update(range(a[0], a[1] + 1))
            else:
                return None
        return None if any(c < 0x80 for c in out) else out

    single = {ord(c) for c in _SINGLE}
    for branch in branches:
        items = list(branch.data)
        sets = [chars(i) for i in items]
        if any(a is not None and b is not None for a, b in zip(sets, sets[1:])):
            continue
        # No adjacent non-ASCII pair: some item must be made only of
        # characters the cheap check catches on their own.
        assert any(s is not None and s <= single for s in sets), f"cheap check may miss {items}"


def _cases(name):
    return json.loads((shared("data", "ftfy-test-cases") / f"{name}.json").read_text(encoding="utf-8"))


def _display(text):
    # The two display-only fixes newsclean leaves off on purpose.
    return fixes.fix_character_width(fixes.uncurl_quotes(text))


@pytest.mark.parametrize("name", ["in-the-wild", "synthetic", "negative", "language-names", "known-failures"])
def test_cheap_check_misses_nothing_ftfy_would_change(name):
    for case in _cases(name):
        text = case["original"]
        if ftfy.fix_text(text, FTFY_CONFIG) != text:
            assert looks_like_mojibake(text), case["label"]


@pytest.mark.parametrize("name", ["in-the-wild", "synthetic"])
def test_every_case_ftfy_fixes_is_fixed(name):
    fixed_by_ftfy = 0
    for case in _cases(name):
        if ftfy.fix_text(case["original"]) != case["fixed"]:
            continue
        fixed_by_ftfy += 1
        got, _ = fix_mojibake(case["original"])
        assert _display(got) == _display(case["fixed"]), case["label"]
    assert fixed_by_ftfy >= 25


def test_no_negative_case_is_changed():
    for case in _cases("negative"):
        got, _ = fix_mojibake(case["original"])
        if _display(case["fixed"]) == _display(case["original"]):
            assert got == case["original"], case["label"]
        else:  # "mostly negative": only the part ftfy expects is fixed
            assert _display(got) == _display(case["fixed"]), case["label"]


# ---------------------------------------------------------------------------
# Whitespace and markdown residue

WHITESPACE = [
    ("  a  b\t c  ", "a b c"),
    ("a\r\nb\rc", "a\nb\nc"),
    ("\n\n\npara one\n\n\n\npara two\n\n", "para one\n\npara two"),
    ("a\u00a0\u2003b", "a b"),
    ("zero\u200bwidth soft\u00adhyphen", "zerowidth softhyphen"),
    ("line \n   \n  next", "line\n\nnext"),
    ("", ""),
]


@pytest.mark.parametrize("raw,want", WHITESPACE)
def test_normalize_whitespace(raw, want):
    assert normalize_whitespace(raw) == want


MARKDOWN = [
    ("# Heading\n\nBody", "Heading\n\nBody", ["markdown"]),
    ("See [the report](#) now", "See the report now", ["markdown"]),
    ("**Bold lead** text", "Bold lead text", ["markdown"]),
    ("Text\n<https://example.test/a>\nMore", "Text\nMore", ["url"]),
    ("Plain text with no marks.\n\nSecond paragraph.", "Plain text with no marks.\n\nSecond paragraph.", []),
    ("C# and F# are languages", "C# and F# are languages", []),
    # A bare URL line may be content (a list of sources): boilerplate judges it.
    ("Sources:\nhttps://example.test/data.csv\nMore", "Sources:\nhttps://example.test/data.csv\nMore", []),
]


@pytest.mark.parametrize("raw,want,reasons", MARKDOWN)
def test_strip_markdown(raw, want, reasons):
    text, edits = strip_markdown(raw)
    assert text == want
    assert [e.reason for e in edits] == reasons


def test_repair_text_composes_the_steps():
    broken = _mojibake("# Café  owner’s  view", "cp1252") + "\n\n\n[More](#)"
    text, edits = repair_text(broken)
    assert text == "Café owner’s view\n\nMore"
    assert {e.reason for e in edits} == {"mojibake", "markdown"}


# ---------------------------------------------------------------------------
# Decoding bytes


def test_decode_utf8_and_legacy_encodings():
    assert decode_bytes("Straße".encode("utf-8")) == ("Straße", "utf-8")
    text, enc = decode_bytes("Le café où l'on mange, près de la gare, ferme à midi.".encode("cp1252"))
    assert "café" in text and enc != "utf-8"


def test_binary_is_undecodable():
    with pytest.raises(UndecodableError):
        decode_bytes(bytes(range(256)) * 4)


def test_junk_free_ranges_hold_no_junk():
    # The shortcut in _junk_share: characters in these ranges never count.
    import re
    import unicodedata

    ok = re.compile(f"[{_NO_JUNK}]")
    for cp in range(0x3000):
        ch = chr(cp)
        if ok.match(ch) and ch not in "\t\n\r":
            assert unicodedata.category(ch) not in ("Cc", "Co", "Cs", "Cn") and ch != "\ufffd", hex(cp)
    assert _junk_share("plain text\n") == 0.0
    assert _junk_share("ab\x00\x01") == 0.5
