"""Stage 1, decode and repair: bytes to clean Unicode lines.

Each function is pure and returns the new text together with the edits it
made, so the pipeline can explain every change.

Why not just ``ftfy.fix_text`` with defaults? Its defaults are tuned for
display, not for a corpus: ``uncurl_quotes`` throws away information that
downstream tokenisers use, and ``fix_character_width`` rewrites full-width
CJK punctuation that is not broken. (Latin ligatures such as "ﬁ" or "ŉ" are
compatibility characters that split words for every tokeniser, so they are
fixed.) ftfy is also the slowest step of the chain, and most documents have no
mojibake at all, so :func:`looks_like_mojibake` decides cheaply whether ftfy
needs to run.
"""

from __future__ import annotations

import re
import unicodedata

import ftfy
import regex
from ftfy import chardata, fixes
from charset_normalizer import from_bytes

from .record import Edit


class UndecodableError(ValueError):
    """Raised for bytes that no text encoding explains (binary files)."""


# Share of characters that may be control / private-use / replacement
# characters before decoded bytes are declared not to be text at all.
MAX_JUNK_SHARE = 0.02


# Control, private-use, surrogate and unassigned code points, and U+FFFD.
_JUNK = regex.compile(r"[\p{Cc}\p{Co}\p{Cs}\p{Cn}\ufffd]")
# Ranges with no junk character (all assigned, no controls) that cover nearly
# every character of Western and Cyrillic news text; a text made only of them
# needs no count (the full count costs far more, and this runs on every input
# line in the main process).
_NO_JUNK = "\t\n\r\x20-\x7e\u00a0-\u024f\u0400-\u04ff\u2010-\u2064\u20a0-\u20c0\u2100-\u214f"
_MAYBE_JUNK = re.compile(f"[^{_NO_JUNK}]")


def _junk_share(text: str) -> float:
    if not text or _MAYBE_JUNK.search(text) is None:
        return 0.0
    junk = len(_JUNK.findall(text))
    if junk:
        junk -= text.count("\n") + text.count("\r") + text.count("\t")
    return junk / len(text)


# Legacy code pages in the order newsclean prefers them when charset-normalizer
# finds several about equally plausible. Its own first choice on short
# Western-European text is often a Baltic or Central-European page (it reads
# "naïve" as "naļve"); news in a legacy encoding is overwhelmingly cp1252 or
# cp1251, so those win a near-tie.
PREFERRED_ENCODINGS = ("cp1252", "cp1251", "iso8859_15", "latin_1", "cp1250", "koi8_r", "shift_jis", "gb18030", "big5", "euc_kr")
# How much worse (charset-normalizer "chaos", 0..1) a preferred encoding may be
# than the best guess and still win.
CHAOS_TOLERANCE = 0.1


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode raw bytes; return ``(text, encoding)``.

    UTF-8 is tried first because it is by far the most common and a strict
    UTF-8 decode almost never succeeds by accident. Anything else goes to
    charset-normalizer, with :data:`PREFERRED_ENCODINGS` breaking near-ties.
    Bytes with NULs (outside UTF-16/32) or whose best decoding is still full of
    control characters are binary, not text, and raise
    :class:`UndecodableError` so the caller can quarantine them with a reason.
    """
    try:
        text = data.decode("utf-8-sig")
        encoding = "utf-8"
    except UnicodeDecodeError:
        if b"\x00" in data and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise UndecodableError("not UTF-8 and contains NUL bytes: binary data, not text") from None
        matches = list(from_bytes(data))
        if not matches:
            raise UndecodableError("no text encoding fits these bytes") from None
        best_chaos = min(m.chaos for m in matches)
        near = {m.encoding: m for m in matches if m.chaos <= best_chaos + CHAOS_TOLERANCE}
        chosen = next((near[e] for e in PREFERRED_ENCODINGS if e in near), matches[0])
        text = str(chosen)
        encoding = chosen.encoding
    junk = _junk_share(text)
    if junk > MAX_JUNK_SHARE:
        raise UndecodableError(
            f"decoded as {encoding} but {junk:.0%} of characters are control or unassigned: binary data, not text"
        )
    return text, encoding


FTFY_CONFIG = ftfy.TextFixerConfig(
    # Keep typography: curly quotes and full-width forms are not errors.
    uncurl_quotes=False,
    fix_character_width=False,
    explain=False,
)

# The cheap check mirrors the gates ftfy itself applies before each fixer that
# FTFY_CONFIG enables, so it can only say "maybe" where ftfy would change
# something (changing FTFY_CONFIG means revisiting this list):
#
# * fix_encoding runs only on lines that are not ASCII and match
#   ``ftfy.badness.BADNESS_RE``. Every alternative of that regex needs two
#   adjacent non-ASCII characters, except five that need a C1 control, a "Œ"/"œ"
#   or an "Â"/"Ã" (checked against the regex itself by tests/test_repair.py).
#   Running BADNESS_RE itself costs more than ftfy does on most articles.
# * fix_c1_controls, fix_latin_ligatures, fix_line_breaks, fix_surrogates,
#   remove_terminal_escapes and remove_control_chars act on single characters
#   listed below.
# * unescape_html acts on HTML entities; normalization on text that is not NFC.
def _char_class(chars: str) -> str:
    return "[" + "".join(f"\\u{ord(c):04x}" for c in sorted(set(chars))) + "]"


_CONTROL = "".join(chr(c) for c in chardata.CONTROL_CHARS)
_LIGATURES = "".join(chr(c) for c in chardata.LIGATURES)
_SINGLE = "".join(map(chr, range(0x80, 0xA0))) + "\u0152\u0153\u00c2\u00c3\r\u2028\u2029" + _CONTROL + _LIGATURES
_ENTITY = re.compile(fixes.HTML_ENTITY_RE.pattern)
# Separate searches: one alternation over all of them scans twice as slowly.
_NON_ASCII_PAIR = re.compile(r"[^\x00-\x7f]{2}")
_SINGLE_GATE = re.compile(f"{_char_class(_SINGLE)}|[\\ud800-\\udfff]")
_ASCII_GATE = re.compile(_char_class(_CONTROL + "\r"))


def looks_like_mojibake(text: str) -> bool:
    """Cheap pre-check: could ftfy (with :data:`FTFY_CONFIG`) change anything?

    Most news text is ASCII or has lone accented letters, pound signs and curly
    quotes; none of that can be mojibake, so ftfy is skipped for it.
    """
    if "&" in text and _ENTITY.search(text):
        return True
    if text.isascii():
        return _ASCII_GATE.search(text) is not None
    return (
        _SINGLE_GATE.search(text) is not None
        or _NON_ASCII_PAIR.search(text) is not None
        or not unicodedata.is_normalized("NFC", text)
    )


def fix_mojibake(text: str) -> tuple[str, list[Edit]]:
    """Run ftfy where the cheap check says it may help; record changed lines."""
    if not looks_like_mojibake(text):
        return text, []
    fixed = ftfy.fix_text(text, FTFY_CONFIG)
    if fixed == text:
        return text, []
    edits = []
    old_lines, new_lines = text.split("\n"), fixed.split("\n")
    if len(old_lines) == len(new_lines):
        for old, new in zip(old_lines, new_lines):
            if old != new:
                edits.append(Edit("mojibake", old, detail=new))
    else:
        edits.append(Edit("mojibake", text[:200], detail="whole text re-decoded"))
    return fixed, edits


_WS = " \t\u00a0\u2000-\u200a\u202f\u205f\u3000"
# Only runs that change: two or more spaces, or any other horizontal space
# (a lone " " is left alone, which keeps the substitution cheap).
_SPACES = re.compile(f"[{_WS[1:]}][{_WS}]*| [{_WS}]+")
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_BLANK_RUNS = re.compile(r"\n{3,}")


def normalize_whitespace(text: str) -> str:
    """One space between words, no spaces at line ends, at most one blank
    line in a row, none at either end.

    Zero-width characters and soft hyphens are dropped: they only split words
    for the tokenisers downstream. Not recorded as edits: nothing is lost.
    Substring tests skip the regexes where they cannot match: this runs on
    every article twice.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.isascii():
        if "  " in text or "\t" in text:
            text = _SPACES.sub(" ", text)
    else:
        text = _SPACES.sub(" ", _INVISIBLE.sub("", text))
    # Stripping after collapsing: every collapsed run is whitespace, so no
    # line can end in a space afterwards.
    text = "\n".join([line.strip() for line in text.split("\n")])
    if "\n\n\n" in text:
        text = _BLANK_RUNS.sub("\n\n", text)
    return text.strip("\n")


_MD_LINK = re.compile(r"\[([^\]\n]*)\]\((?:#|[^)\s]*)\)")
_MD_HEADING = re.compile(r"^#{1,6}\s+")
_MD_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")
_MD_STRAY = re.compile(r"^(\*\*|__)|(\*\*|__)$")
# Only the markdown autolink form: a bare URL line can be the content (a list
# of sources, a link round-up); the boilerplate stage judges those at the
# article's edges.
_ANGLE_URL = re.compile(r"^<(?:https?|ftp)://\S+>$")
# What any of the patterns above needs to find somewhere in the text; most
# articles have none of it.
_MD_MARKS = ("#", "](", "**", "__", "://")


def strip_markdown(text: str) -> tuple[str, list[Edit]]:
    """Remove markdown residue that scrapers leave in plain text.

    ``# Heading`` becomes ``Heading``, ``**bold**`` becomes ``bold``,
    ``[text](#)`` becomes ``text``; a line that is only an
    ``<angle-bracketed>`` URL (a markdown autolink) is removed (reason ``url``).
    """
    if not any(mark in text for mark in _MD_MARKS):
        lines = text.split("\n")
        if all(line == line.strip() for line in lines):
            return text, []
    edits: list[Edit] = []
    out: list[str] = []
    for line in text.split("\n"):
        if _ANGLE_URL.match(line):
            edits.append(Edit("url", line))
            continue
        new = _MD_HEADING.sub("", line)
        new = _MD_LINK.sub(r"\1", new)
        new = _MD_EMPHASIS.sub(r"\2", new)
        new = _MD_STRAY.sub("", new).strip()
        if new != line:
            edits.append(Edit("markdown", line, detail=new))
        out.append(new)
    return "\n".join(out), edits


def repair_text(text: str) -> tuple[str, list[Edit]]:
    """The whole of stage 1 on already-decoded text."""
    text, edits = fix_mojibake(text)
    text = normalize_whitespace(text)
    text, md_edits = strip_markdown(text)
    return normalize_whitespace(text), edits + md_edits
