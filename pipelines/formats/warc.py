"""WARC archives (``.warc``, ``.warc.gz``): CC-NEWS, Heritrix, wget
``--warc-file``, a scraper's own archive.

One article per ``response`` (HTTP status 2xx) or ``resource`` record whose
payload is HTML: the record's ``WARC-Target-URI`` becomes ``url`` and its
host (without ``www.``) ``source``; id = ``<relative path>#<WARC-Record-ID>``.
The payload is decoded with the HTTP header's charset, then the page's
``<meta>``, then detection (:func:`pipelines.formats.html.decode_html`), and
extracted in the workers like any page.

Other records are counted, not quarantined (:class:`NotArticle` kinds):
``warc:revisit``, ``warc:request``, ``warcinfo`` / ``metadata`` as
``warc:<type>``, ``warc:non-html`` (images, scripts, robots.txt),
``warc:status-<code>`` (redirects, errors).

Broken records never stop the file: each one is quarantined with its
reason and offset (id ``<relative path>@<byte offset>``) and reading
resumes at the next record. Framing is done here rather than in warcio,
whose iterator stops at the first corrupt gzip member and ends a file
quietly at a truncated last one; warcio then parses each record's bytes
(headers, chunked transfer, content encodings):

* ``.warc.gz``: the standard gzip member per record. A member that does
  not decompress is quarantined and the next member is found by its gzip
  magic bytes; a member cut short by the end of the file is quarantined as
  truncated.
* within a member, or in a plain ``.warc``: a header block, then
  ``Content-Length`` bytes. A record shorter than that (the next
  ``WARC/1.x`` line starts inside it, or the file ends) is truncated; bytes
  that are no record header are skipped to the next one.

A gzip member must fit ``[input] max_file_bytes`` once decompressed (a
WARC gzipped as one stream instead of per record is quarantined with that
advice).
"""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Iterator
from pathlib import Path

from cleaners.record import Article
from cleaners.repair import UndecodableError

from . import NotArticle
from .extract import host
from .html import decode_html, header_charset

CHUNK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b\x08"
_WARC_LINE = re.compile(rb"^WARC/\d\.\d+\r?\n$")
_HTML_TYPES = ("text/html", "application/xhtml+xml")
# A record header line inside a record's content: where the next record
# starts when this one was cut short (only looked for when the content is
# not followed by the blank lines that end a record).
_NEXT_RECORD = re.compile(rb"\n(WARC/\d\.\d+\r?\n[A-Za-z-]+:)")


def read_warc(path: Path, rel: str, max_bytes: int) -> Iterator[tuple[object, str]]:
    from pipelines.readers import Rejected

    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
        fh.seek(0)
        if gz:
            chunks = ((off, io.BytesIO(data), err) for off, data, err in _gzip_members(fh, max_bytes))
        else:
            chunks = iter([(0, fh, None)])
        for base, stream, err in chunks:
            if err:
                yield Rejected(f"{rel}@{base}", err, rel), f"{rel}@{base}"
                continue
            for offset, record, err in _frame(stream, max_bytes):
                where = f"{rel}@{base if gz else offset}"
                if err:
                    yield Rejected(where, err, rel), where
                    continue
                yield _parse(record, rel, where, Rejected), where


def _gzip_members(fh, max_bytes: int) -> Iterator[tuple[int, bytes | None, str | None]]:
    """(raw offset, decompressed bytes, None) per gzip member, or
    (offset, None, reason) for one that is corrupt or truncated."""
    pending = b""
    pos = 0  # raw offset of pending[0]
    eof = False
    carry: tuple[int, str] | None = None  # a corrupt member whose end is being looked for

    def more() -> bool:
        nonlocal pending, eof
        if eof:
            return False
        data = fh.read(CHUNK)
        if not data:
            eof = True
            return False
        pending += data
        return True

    while True:
        while len(pending) < 3 and more():
            pass
        if not pending:
            return
        if not pending.startswith(_GZIP_MAGIC):
            # Not at a member: skip to the next gzip magic.
            start = pos
            while True:
                i = pending.find(_GZIP_MAGIC, 1)
                if i > 0:
                    pending, pos = pending[i:], pos + i
                    break
                keep = pending[-2:]
                pos += len(pending) - len(keep)
                pending = keep
                if not more():
                    pos += len(pending)
                    pending = b""
                    break
            if carry is not None:
                yield carry[0], None, f"{carry[1]}; {pos - carry[0]:,} bytes skipped to the next member"
                carry = None
            else:
                yield start, None, f"corrupt WARC data: {pos - start:,} bytes that are no gzip member, skipped"
            continue
        start = pos
        d = zlib.decompressobj(31)
        out: list[bytes] = []
        size = 0
        raw = bytearray()  # the member's raw bytes so far, to resync after an error
        error = None
        while True:
            try:
                piece = d.decompress(pending)
            except zlib.error as exc:
                error = f"corrupt gzip member: {exc}"
                break
            raw += pending
            size += len(piece)
            out.append(piece)
            if size > max_bytes:
                error = (f"gzip member larger than {max_bytes:,} bytes once decompressed ([input] max_file_bytes); "
                         "a WARC should be gzipped one member per record")
                break
            if d.eof:
                used = len(raw) - len(d.unused_data)
                pending, pos = d.unused_data, start + used
                break
            pending = b""
            if not more():
                yield start, None, f"truncated record: the file ends inside a gzip member ({len(raw):,} bytes read)"
                return
        if error:
            # Resume at the next member after this one's start.
            pending, pos = (bytes(raw) + pending)[1:], start + 1
            carry = (start, error)
            continue
        yield start, b"".join(out), None


def _frame(stream, max_bytes: int) -> Iterator[tuple[int, bytes | None, str | None]]:
    """(offset, record bytes, None) per WARC record of a seekable stream, or
    (offset, None, reason) for what cannot be one."""
    while True:
        start = stream.tell()
        line = stream.readline()
        if not line:
            return
        if not line.strip():
            continue  # the blank lines that end a record
        if not _WARC_LINE.match(line):
            skipped = len(line)
            while True:
                at = stream.tell()
                line = stream.readline()
                if not line or _WARC_LINE.match(line):
                    stream.seek(at)
                    break
                skipped += len(line)
            yield start, None, f"corrupt WARC data: {skipped:,} bytes that are no record, skipped to the next record"
            continue
        header = [line]
        length = None
        while True:
            line = stream.readline()
            if not line:
                yield start, None, "truncated record: the file ends inside its WARC header"
                return
            header.append(line)
            if not line.strip():
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                try:
                    length = int(value.strip())
                except ValueError:
                    length = -1
        if length is None or length < 0:
            yield start, None, "broken WARC header: no valid Content-Length"
            continue
        if length > max_bytes:
            stream.seek(length, 1)
            yield start, None, f"record too large ({length:,} bytes > {max_bytes:,})"
            continue
        body = stream.read(length)
        # A record cut short: the next record's header starts inside it.
        cut = _NEXT_RECORD.search(body)
        if cut is not None and not _ends_well(stream):
            stream.seek(start + sum(map(len, header)) + cut.start(1))
            yield start, None, f"truncated record: {cut.start(1):,} of {length:,} content bytes before the next record"
            continue
        if len(body) < length:
            yield start, None, f"truncated record: the file ends after {len(body):,} of {length:,} content bytes"
            return
        yield start, b"".join(header) + body + b"\r\n\r\n", None


def _ends_well(stream) -> bool:
    """Is the stream at a record's end (blank lines, then a record or EOF)?
    Leaves the position unchanged."""
    at = stream.tell()
    tail = stream.read(4)
    stream.seek(at)
    return tail in (b"", b"\r\n\r\n", b"\r\n", b"\n\n") or tail.startswith((b"\r\n\r\n", b"\n\nWA"))


def _parse(record: bytes, rel: str, where: str, Rejected) -> object:
    from warcio.archiveiterator import ArchiveIterator

    try:
        rec = next(iter(ArchiveIterator(io.BytesIO(record), arc2warc=False)))
        kind = rec.rec_type
        if kind not in ("response", "resource"):
            return NotArticle(f"warc:{kind}")
        uri = rec.rec_headers.get_header("WARC-Target-URI") or ""
        if kind == "response":
            if rec.http_headers is None:
                return NotArticle("warc:non-http")
            status = (rec.http_headers.get_statuscode() or "").strip()
            if not status.startswith("2"):
                return NotArticle(f"warc:status-{status or 'none'}")
            ctype = rec.http_headers.get_header("Content-Type") or ""
        else:
            ctype = rec.rec_headers.get_header("Content-Type") or ""
        payload = rec.content_stream().read()
    except Exception as exc:  # warcio's own errors, zlib, brotli: the record only
        return Rejected(where, f"broken WARC record: {type(exc).__name__}: {exc}"[:500], rel)
    mime = ctype.split(";")[0].strip().lower()
    if mime not in _HTML_TYPES and not (not mime and payload.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html"))):
        return NotArticle("warc:non-html")
    if not payload.strip():
        return Rejected(where, f"empty payload for {uri}", rel)
    try:
        markup, encoding = decode_html(payload, header_charset(ctype))
    except UndecodableError as exc:
        return Rejected(where, f"undecodable payload of {uri}: {exc}", rel)
    record_id = (rec.rec_headers.get_header("WARC-Record-ID") or "").strip("<>")
    art = Article(id=f"{rel}#{record_id}" if record_id else where, text="", title="", url=uri or None,
                  source=host(uri) if uri else None, html=markup)
    if encoding != "utf-8":
        art.flags.append(f"encoding:{encoding}")
    return art
