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

Damage never stops the file, never loops and never files one record's page
under another's id. Each damaged span (a corrupt gzip member, a record cut
short, bytes that are no record) is quarantined as ONE entry with its reason
and byte offset (id ``<relative path>@<offset>``, ``@<member>+<offset>``
inside a gzip member), and reading resumes at the next record that is whole.
Every step moves the offset strictly forward and never past the end of the
file.

Framing is done here, because warcio's iterator stops at the first corrupt
gzip member, ends a file quietly at a truncated last one and trusts every
``Content-Length``; warcio then parses each accepted record (headers,
chunked transfer, content encodings) and checks its block digest.

* ``.warc.gz``: one gzip member per record (the standard). A member is
  inflated in bounded pieces; one that inflates past ``[input]
  max_file_bytes`` is quarantined and skipped to its exact end (inflated,
  not kept), so memory stays bounded and the next member is read. A member
  that does not inflate, or that the file cuts short, starts a damaged span
  that ends at the next gzip header from which a member inflates whole.
* within a member, or in a plain ``.warc`` (read through ``mmap``): a record
  is accepted only when its version line and header fields are complete and
  well formed (each field ``Name: value``; ``WARC-Type``, ``WARC-Record-ID``,
  ``WARC-Date`` and ``Content-Length`` exactly once, the length a number),
  the ``Content-Length`` bytes are all there and followed by the
  blank lines that end a record (or the end of the file), and its
  ``WARC-Block-Digest``, when it has one, matches. A record whose content
  holds another record's version line and header is accepted only on a
  matching block digest: otherwise it was cut short and that inner record is
  the next one. After damage, the next record is looked for at the next
  ``WARC/1.x`` line followed by a header field, wherever it starts (junk
  written without a newline runs straight into the next record's first
  line). A record found that way may be pieced together from two (one
  header's start, the rest of another record): it is read after the rest of
  the file and refused if a cleanly read record holds its WARC-Record-ID. A
  header spliced so at a record boundary, with no damage before it, cannot
  be told from a record (the block digest does not cover the header).
"""

from __future__ import annotations

import io
import mmap
import re
import zlib
from collections.abc import Iterator
from pathlib import Path

from cleaners.record import Article
from cleaners.repair import UndecodableError

from . import NotArticle
from .extract import host
from .html import decode_html, header_charset

CHUNK = 1 << 16
_GZIP_MAGIC = b"\x1f\x8b\x08"
# The first line of a record and the first header field after it.
_START = re.compile(rb"WARC/\d\.\d{1,2}\r?\n(?=[A-Za-z][A-Za-z0-9_-]*:)")
_FIELD = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*\Z", re.S)
_HEADER_END = re.compile(rb"\n\r?\n")
_BLANK = re.compile(rb"[\r\n]+")
# Longer than any real header block (CC-NEWS: under 1 KB); a longer one is
# damage, not a header.
MAX_HEADER = 1 << 16
# Each at most once; the first four (the standard's mandatory fields) exactly once.
_SINGLE = (b"warc-type", b"warc-record-id", b"warc-date", b"content-length", b"warc-target-uri", b"warc-block-digest")
_HTML_TYPES = ("text/html", "application/xhtml+xml")


def read_warc(path: Path, rel: str, max_bytes: int) -> Iterator[tuple[object, str]]:
    from pipelines.readers import Rejected

    size = path.stat().st_size
    if size == 0:
        yield Rejected(rel, "empty file (0 bytes)", rel), rel
        return
    with open(path, "rb") as fh:
        if _is_gzip(fh, path.name):
            for base, data, err in _gzip_members(fh, size, max_bytes):
                if err:
                    yield Rejected(f"{rel}@{base}", err, rel), f"{rel}@{base}"
                    continue
                # A member's CRC vouches for its records, whatever precedes it.
                for offset, record, err, _resynced in _frame(data, max_bytes):
                    where = f"{rel}@{base}" if offset == 0 else f"{rel}@{base}+{offset}"
                    yield (Rejected(where, err, rel) if err else _parse(record, rel, where, Rejected)), where
            return
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            yield from _read_plain(buf, rel, max_bytes, Rejected)


def _read_plain(buf, rel: str, max_bytes: int, Rejected) -> Iterator[tuple[object, str]]:
    """The records of a plain WARC. One found right after damage may be
    pieced together from two records (the start of one header, the rest of
    another's): it is read last, and refused if a record read cleanly holds
    its WARC-Record-ID (which would otherwise lose that record to it)."""
    clean: set[str] = set()
    after_damage: list[tuple[int, int]] = []
    for offset, record, err, resynced in _frame(buf, max_bytes):
        where = f"{rel}@{offset}"
        if err:
            yield Rejected(where, err, rel), where
        elif resynced:
            after_damage.append((offset, len(record)))
        else:
            doc = _parse(record, rel, where, Rejected)
            if isinstance(doc, Article):
                clean.add(doc.id)
            yield doc, where
    for offset, length in after_damage:
        where = f"{rel}@{offset}"
        doc = _parse(bytes(buf[offset:offset + length]), rel, where, Rejected)
        if isinstance(doc, Article) and doc.id in clean:
            doc = Rejected(where, f"damaged record: found after damaged data, it claims the WARC-Record-ID of a whole "
                                  f"record of this file ({doc.id}): a header pieced together from two records", rel)
        yield doc, where


# ---------------------------------------------------------------- gzip members


def _is_gzip(fh, name: str) -> bool:
    """Per-record gzip or plain? A record or a gzip member that starts to
    inflate at offset 0 says; when damage at the start hides both, the name."""
    fh.seek(0)
    head = fh.read(CHUNK)
    if _START.match(head):
        return False
    if head.startswith(_GZIP_MAGIC):
        d = zlib.decompressobj(31)
        try:
            # Inflates, not merely parses: header flags can make junk that
            # starts with the magic bytes read as a long header.
            if d.decompress(head, CHUNK) or d.eof:
                return True
        except zlib.error:
            pass
    return name.lower().endswith(".gz")


def _gzip_members(fh, size: int, limit: int) -> Iterator[tuple[int, bytes | None, str | None]]:
    """``(offset, data, None)`` per gzip member that inflates whole within
    ``limit`` bytes, ``(offset, None, reason)`` per member over the limit and
    per damaged span (bytes up to the next member that inflates)."""
    pos = 0
    damaged: tuple[int, str] | None = None
    while pos < size:
        kind, end, data = _inflate(fh, pos, size, limit)
        if kind in ("ok", "over"):
            if damaged is not None:
                yield damaged[0], None, _skipped(damaged, pos, size, "gzip member")
                damaged = None
            if kind == "ok":
                yield pos, data, None
            else:
                yield pos, None, (f"gzip member larger than {limit:,} bytes once decompressed ([input] max_file_bytes): "
                                  "skipped; a WARC should be gzipped one member per record")
            pos = end
            continue
        if damaged is None:
            damaged = (pos, kind)
        pos = _find_magic(fh, pos + 1, size)
    if damaged is not None:
        yield damaged[0], None, _skipped(damaged, size, size, "gzip member")


def _inflate(fh, pos: int, size: int, limit: int) -> tuple[str, int, bytes | None]:
    """Inflate the gzip member at ``pos``: ``("ok", end, data)``, ``("over",
    end, None)`` when it inflates past ``limit`` (inflated to its end, not
    kept), else ``(reason, pos, None)``."""
    fh.seek(pos)
    if fh.read(3) != _GZIP_MAGIC:
        return "corrupt WARC data: bytes that are no gzip member", pos, None
    fh.seek(pos)
    d = zlib.decompressobj(31)
    out: list[bytes] | None = []
    n = 0
    read = pos
    while True:
        data = fh.read(CHUNK)
        read += len(data)
        chunk = data
        while True:  # until zlib wants more input (it may hold output back with none left)
            try:
                piece = d.decompress(chunk, CHUNK)  # bounded output per call
            except zlib.error as exc:
                return f"corrupt gzip member: {exc}", pos, None
            n += len(piece)
            if out is not None:
                out.append(piece)
                if n > limit:
                    out = None
            if d.eof:
                end = read - len(d.unused_data)
                return ("ok", end, b"".join(out)) if out is not None else ("over", end, None)
            chunk = d.unconsumed_tail
            if not chunk and not piece:
                break
        if not data:
            return "truncated record: the file ends inside a gzip member", pos, None


def _find_magic(fh, start: int, size: int) -> int:
    """Offset of the next gzip header at or after ``start``, else ``size``."""
    at = start
    while at < size:
        fh.seek(at)
        chunk = fh.read(CHUNK + 2)
        i = chunk.find(_GZIP_MAGIC)
        if i >= 0:
            return at + i
        if len(chunk) < CHUNK + 2:
            break
        at += CHUNK
    return size


def _skipped(damaged: tuple[int, str], until: int, size: int, what: str) -> str:
    start, reason = damaged
    to = f"to the next {what}" if until < size else "to the end of the data"
    return f"{reason}; {until - start:,} bytes skipped {to}"


# ---------------------------------------------------------------- records


def _frame(buf, limit: int) -> Iterator[tuple[int, bytes | None, str | None, bool]]:
    """``(offset, record bytes, None, resynced)`` per whole record of ``buf``
    (bytes or an mmap), ``resynced`` when it follows a damaged span;
    ``(offset, None, reason, False)`` per record too large and per damaged
    span."""
    n = len(buf)
    pos = 0
    damaged: tuple[int, str] | None = None
    while pos < n:
        blank = _BLANK.match(buf, pos)
        if blank is not None:
            pos = blank.end()
            continue
        end, record, reason = _record_at(buf, pos, limit)
        if end is not None:
            if damaged is not None:
                yield damaged[0], None, _skipped(damaged, pos, n, "record"), False
            yield pos, record, reason, damaged is not None
            damaged = None
            pos = end
            continue
        if damaged is None:
            damaged = (pos, reason)
        nxt = _START.search(buf, pos + 1)
        pos = nxt.start() if nxt else n
    if damaged is not None:
        yield damaged[0], None, _skipped(damaged, n, n, "record"), False


def _record_at(buf, pos: int, limit: int) -> tuple[int | None, bytes | None, str]:
    """The record at ``pos``: ``(end, bytes, "")`` when whole, ``(end, None,
    reason)`` when whole but over ``limit``, ``(None, None, reason)`` when
    it is no whole record."""
    n = len(buf)
    start = _START.match(buf, pos)
    if start is None:
        return None, None, "corrupt WARC data: bytes that are no WARC record"
    head_end = _HEADER_END.search(buf, start.end() - 1, min(n, pos + MAX_HEADER))
    if head_end is None:
        if n - pos < MAX_HEADER:
            return None, None, "truncated record: the data ends inside its WARC header"
        return None, None, f"broken WARC header: no blank line ends it within {MAX_HEADER:,} bytes"
    header = bytes(buf[pos:head_end.end()])
    if _START.search(header, 1):
        return None, None, "truncated record: another record begins inside its WARC header"
    fields: dict[bytes, list[bytes]] = {}
    for line in header.split(b"\n")[1:]:
        line = line.rstrip(b"\r")
        if not line or line[:1] in b" \t":  # the end, or a folded value
            continue
        field = _FIELD.match(line)
        if field is None:
            return None, None, f"broken WARC header: line {line[:60]!r} is no 'Name: value' field"
        fields.setdefault(field.group(1).lower(), []).append(field.group(2))
    for name in _SINGLE:
        if len(fields.get(name, ())) > 1:
            return None, None, f"broken WARC header: {name.decode()} appears {len(fields[name])} times"
    missing = [name.decode() for name in _SINGLE[:4] if name not in fields]
    if missing:
        return None, None, f"broken WARC header: no {', '.join(missing)}"
    length = fields.get(b"content-length", [b""])[0]
    if not (length.isdigit() and length.isascii()):
        return None, None, f"broken WARC header: Content-Length {length.decode('latin-1')[:30]!r} is no number"
    body, end = head_end.end(), head_end.end() + int(length)
    if end > n:
        return None, None, f"truncated record: the data ends after {n - body:,} of its {int(length):,} content bytes"
    tail = bytes(buf[end:end + 4])
    if tail.startswith(b"\r\n\r\n"):
        end += 4
    elif tail.startswith(b"\n\n"):
        end += 2
    elif not (n - end <= 4 and not tail.strip(b"\r\n")):
        return None, None, f"truncated record: no record end after its {int(length):,} content bytes (cut short, or a wrong Content-Length)"
    inner = _START.search(buf, body, body + int(length))
    if int(length) > limit:
        if inner is not None:
            return None, None, "truncated record: another record begins inside its content"
        return end, None, f"record too large ({int(length):,} content bytes > {limit:,}, [input] max_file_bytes)"
    record = bytes(buf[pos:end])
    digest = _block_digest(record) if b"warc-block-digest" in fields else None
    if digest is False:
        return None, None, "damaged record: its WARC-Block-Digest does not match its content"
    if inner is not None and digest is not True:
        return None, None, "truncated record: another record begins inside its content"
    return end, record, ""


def _block_digest(record: bytes) -> bool | None:
    """Does the record's WARC-Block-Digest match its block (warcio checks
    it)? None when warcio cannot tell (unknown algorithm, revisit)."""
    from warcio.recordloader import ArcWarcRecordLoader

    try:
        rec = ArcWarcRecordLoader().parse_record_stream(io.BytesIO(record), known_format="warc",
                                                        no_record_parse=True, check_digests=True)
        while rec.raw_stream.read(CHUNK):
            pass
    except Exception:  # noqa: BLE001 - a header warcio refuses is judged by the parse after framing
        return None
    # Only the block digest: with the block unparsed warcio would also hash
    # the HTTP header into the payload digest.
    problems = [p for p in rec.digest_checker.problems if p.startswith(("block digest", "unknown hash algorithm name in block"))]
    if any(p.startswith("block digest failed") for p in problems):
        return False
    return None if problems or rec.rec_type == "revisit" else True


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
    record_id = rec.rec_headers.get_header("WARC-Record-ID").strip("<>")
    art = Article(id=f"{rel}#{record_id}", text="", title="", url=uri or None,
                  source=host(uri) if uri else None, html=markup)
    if encoding != "utf-8":
        art.flags.append(f"encoding:{encoding}")
    return art
