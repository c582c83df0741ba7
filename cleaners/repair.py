"""Stage 1, decode and repair: bytes to clean Unicode lines.

Each function is pure and returns the new text together with the edits it
made, so the pipeline can explain every change.

Why not just ``ftfy.fix_text`` with defaults? Its defaults are tuned for
display, not for a corpus: ``uncurl_quotes`` throws away information that
downstream tokenisers use, and ``fix_character_width`` / ``fix_latin_ligatures``
rewrite text that is not broken. It is also the slowest step of the chain, and
most documents have no mojibake at all, so :func:`looks_like_mojibake` decides
cheaply whether ftfy needs to run.
"""

from __future__ import annotations

import re
import unicodedata

import ftfy
from charset_normalizer import from_bytes

from .record import Edit


class UndecodableError(ValueError):
    """Raised for bytes that no text encoding explains (binary files)."""


# Share of characters that may be control / private-use / replacement
# characters before decoded bytes are declared not to be text at all.
MAX_JUNK_SHARE = 0.02


def _junk_share(text: str) -> float:
    if not text:
        return 0.0
    junk = 0
    for ch in text:
        if ch in "\n\r\t":
            continue
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Co", "Cs", "Cn") or ch == "\ufffd":
            junk += 1
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


# Characters that show up when UTF-8 bytes were decoded as a single-byte code
# page: lead bytes of 2/3-byte sequences seen as Latin-1/cp1252/cp1251 letters,
# followed by continuation-byte look-alikes. A hit does not prove mojibake; it
# only says ftfy is worth running (ftfy itself decides what to change).
_SUSPECT = re.compile(
    "[\u00c2-\u00c3\u00c5\u00d0-\u00d1\u00e2\u00ef][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u203a\u20ac\u2122]"
    "|[\u0420\u0421\u0432][\u0080-\u00bf\u0402-\u045f\u2018-\u203a\u2116\u20ac]"
    "|[\u0080-\u009f]|\ufffd|&(?:[a-z]{2,8}|#\\d{2,6}|#x[0-9a-f]{2,5});",
    re.IGNORECASE,
)

FTFY_CONFIG = ftfy.TextFixerConfig(
    # Keep typography: curly quotes and ligatures are not errors.
    uncurl_quotes=False,
    fix_latin_ligatures=False,
    fix_character_width=False,
    explain=False,
)


def looks_like_mojibake(text: str) -> bool:
    """Cheap pre-check: could ftfy change anything here?

    ASCII text cannot hold mojibake (save HTML entities, which the regex
    also catches), so most English documents skip ftfy entirely.
    """
    if text.isascii():
        return "&" in text and _SUSPECT.search(text) is not None
    return _SUSPECT.search(text) is not None


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


_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")


def normalize_whitespace(text: str) -> str:
    """One space between words, no trailing spaces, at most one blank line.

    Zero-width characters and soft hyphens are dropped: they only split words
    for the tokenisers downstream. Not recorded as edits: nothing is lost.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


_MD_LINK = re.compile(r"\[([^\]\n]*)\]\((?:#|[^)\s]*)\)")
_MD_HEADING = re.compile(r"^#{1,6}\s+")
_MD_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")
_MD_STRAY = re.compile(r"^(\*\*|__)|(\*\*|__)$")
_ANGLE_URL = re.compile(r"^<(?:https?|ftp)://\S+>$|^(?:https?|ftp)://\S+$")


def strip_markdown(text: str) -> tuple[str, list[Edit]]:
    """Remove markdown residue that scrapers leave in plain text.

    ``# Heading`` becomes ``Heading``, ``**bold**`` becomes ``bold``,
    ``[text](#)`` becomes ``text``; a line that is only a bare or
    ``<angle-bracketed>`` URL is removed (reason ``url``).
    """
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
