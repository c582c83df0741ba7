"""HTML pages saved by a crawler: ``.html`` / ``.htm``, optionally gzipped,
one page per file.

The reader only decodes the page and hands its markup to the workers in
:attr:`Article.html`; the text (and title, date, author, site name, URL)
comes from extraction there (:mod:`pipelines.formats.extract`), so the
read step, which runs in the driver, stays a plain file walk.

id = path relative to the input folder; source = its first folder, as for
``.txt``.

Charset: pages declare their encoding (an HTTP header, a ``<meta>``) and
are often wrong about it. :func:`decode_html` takes, in order: a byte-order
mark; strict UTF-8 when the bytes are UTF-8 (valid multi-byte UTF-8 almost
never happens by accident, while "iso-8859-1" declared over UTF-8 bytes is
the commonest lie); the declared charset if the bytes decode under it; then
detection by charset-normalizer (:func:`cleaners.repair.decode_bytes`).
"""

from __future__ import annotations

import codecs
import encodings
import encodings.aliases
import gzip
import re
import zlib
from collections.abc import Iterator
from pathlib import Path

from cleaners.record import Article
from cleaners.repair import UndecodableError, decode_bytes

# <meta charset="x"> and <meta http-equiv="Content-Type" content="text/html; charset=x">
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)
# Declarations that say "Western single-byte": browsers read all of them as
# windows-1252 (WHATWG Encoding), and so does this.
_WESTERN = {"iso-8859-1", "iso8859-1", "latin-1", "latin1", "us-ascii", "ascii", "windows-1252", "cp1252"}
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def _python_name(enc: str) -> str:
    """The codec name charset-normalizer reports too (``koi8_r``, ``cp1251``)."""
    key = encodings.normalize_encoding(enc).lower()
    return encodings.aliases.aliases.get(key, key)


def meta_charset(data: bytes) -> str | None:
    """The charset a page declares in a ``<meta>`` of its first 4 KB."""
    m = _META_CHARSET.search(data[:4096])
    return m.group(1).decode("ascii", "replace").lower() if m else None


def header_charset(content_type: str | None) -> str | None:
    """The charset of an HTTP ``Content-Type`` header value."""
    m = _HEADER_CHARSET.search(content_type or "")
    return m.group(1).lower() if m else None


def decode_html(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Decode a page's bytes; ``(text, encoding)``. ``declared``: the charset
    of the HTTP header, which the ``<meta>`` one is tried after. Raises
    :class:`UndecodableError` for binary data."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return data.decode(enc, "replace"), enc.removesuffix("-sig")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    for charset in (declared, meta_charset(data)):
        if not charset:
            continue
        enc = "cp1252" if charset in _WESTERN else charset
        try:
            codecs.lookup(enc)
            text = data.decode(enc)
        except (LookupError, UnicodeDecodeError):
            continue  # unknown or wrong declaration: the next one, then detection
        if enc.replace("-", "").replace("_", "") not in ("utf8", "utf16", "utf32"):
            return text, _python_name(enc)
    text, enc = decode_bytes(data)
    if enc != "cp1252" and enc in ("cp1250", "cp1257", "iso8859_15", "latin_1"):
        # Detection cannot tell these apart when the page uses only the
        # characters they share; name it as browsers read Western pages.
        try:
            if data.decode("cp1252") == text:
                enc = "cp1252"
        except UnicodeDecodeError:
            pass
    return text, enc


def read_html_file(path: Path, rel: str, max_bytes: int) -> Iterator[tuple[Article | object, str]]:
    from pipelines.readers import Rejected, _source_of

    size = path.stat().st_size
    if size == 0:
        yield Rejected(rel, "empty file (0 bytes)", rel), rel
        return
    if size > max_bytes:
        yield Rejected(rel, f"file too large ({size:,} bytes > {max_bytes:,})", rel), rel
        return
    try:
        with open(path, "rb") as fh:
            data = fh.read()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
            if len(data) > max_bytes:
                yield Rejected(rel, f"page too large once gunzipped ({len(data):,} bytes > {max_bytes:,})", rel), rel
                return
    except (OSError, EOFError, zlib.error) as exc:  # truncated or corrupt gzip
        yield Rejected(rel, f"unreadable file: {exc}", rel), rel
        return
    try:
        markup, encoding = decode_html(data)
    except UndecodableError as exc:
        yield Rejected(rel, f"undecodable: {exc}", rel), rel
        return
    if not markup.strip():
        yield Rejected(rel, "file holds only whitespace", rel), rel
        return
    art = Article(id=rel, text="", title="", source=_source_of(rel), html=markup)
    if encoding != "utf-8":
        art.flags.append(f"encoding:{encoding}")
    yield art, rel
