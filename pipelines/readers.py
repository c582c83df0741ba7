"""Read raw articles from a folder or file, never losing one.

Every document found becomes either an :class:`~cleaners.record.Article`
or a :class:`Rejected` entry with a readable reason: undecodable bytes,
empty or oversized files, broken JSON lines, records without text. Files with
an extension no reader knows are listed in :attr:`InputScan.skipped`.

Formats:

* ``.txt``: one article per file; the first non-blank line is the title
  (decided after repair, see :func:`cleaners.split_title`); id = path relative
  to the input folder; source = the first folder of that path, if any.
* ``.jsonl`` / ``.jsonl.gz``: one article per line with ``text`` and/or
  ``html`` (news-please keeps both; the page is extracted and its text wins)
  and optionally ``id``, ``title``, ``url``, ``source``, ``published``;
  id = ``id``, else ``<relative path>:<line number>``.
* HTML pages and WARC archives: :mod:`pipelines.formats.html`,
  :mod:`pipelines.formats.warc`.

Which reader reads a file is decided by the registry in
:mod:`pipelines.formats` (by extension, else by sniffing the first bytes).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cleaners.record import Article
from cleaners.repair import UndecodableError, decode_bytes

from .formats import NotArticle, reader_for


@dataclass(slots=True)
class Rejected:
    """A document that could not be read as an article."""

    id: str
    detail: str
    path: str
    line: int | None = None
    raw: str = ""  # the offending JSON line (truncated), for inspection
    reason: str = "quarantined"

    def to_dict(self) -> dict:
        d = {"id": self.id, "reason": self.reason, "detail": self.detail, "path": self.path}
        if self.line is not None:
            d["line"] = self.line
        if self.raw:
            d["raw"] = self.raw
        return d


@dataclass
class InputScan:
    files: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # unsupported files, relative paths
    root: Path = Path(".")
    readers: dict = field(default_factory=dict)  # file -> its reader (pipelines.formats.Reader)
    # Records read that are no articles (WARC revisits, images ...): kind -> count.
    not_articles: Counter = field(default_factory=Counter)


def scan(path: str | Path) -> InputScan:
    """List readable files under ``path`` in a stable (sorted) order."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"input not found: {path}")
    if path.is_file():
        files, root = [path], path.parent
    else:
        root = path
        files = sorted(p for p in path.rglob("*") if p.is_file())
    result = InputScan(root=root)
    for f in files:
        reader = reader_for(f)
        if reader is not None:
            result.files.append(f)
            result.readers[f] = reader
        elif not f.name.startswith("."):
            result.skipped.append(_rel(f, root))
    return result


def _rel(path: Path, root: Path) -> str:
    return Path(os.path.relpath(path, root)).as_posix()


def content_hash(text: str, title: str | None = None) -> str:
    """Identity of an input document's content: a rerun over the same input
    recognises what it has already processed."""
    h = hashlib.blake2b(digest_size=12)
    h.update((title or "").encode("utf-8", "surrogatepass"))
    h.update(b"\x00")
    h.update(text.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def read_documents(scan_result: InputScan, max_file_bytes: int = 50_000_000) -> Iterator[Article | Rejected]:
    """Yield every document of every file, in a stable order.

    A record whose id was already used is quarantined under its
    ``<path>:<line>`` id, so that every input still appears exactly once.
    """
    seen: dict[str, str] = {}
    for f in scan_result.files:
        rel = _rel(f, scan_result.root)
        reader = scan_result.readers[f].load()
        for doc, origin in reader(f, rel, max_file_bytes):
            if isinstance(doc, NotArticle):
                scan_result.not_articles[doc.kind] += 1
                continue
            if isinstance(doc, Article):
                if doc.id in seen:
                    yield Rejected(origin, f"duplicate id {doc.id!r}, first used at {seen[doc.id]}", rel)
                    continue
                seen[doc.id] = origin
            yield doc


def _source_of(rel: str) -> str | None:
    parts = rel.split("/")
    return parts[0] if len(parts) > 1 else None


def _read_txt(path: Path, rel: str, max_bytes: int) -> Iterator[tuple[Article | Rejected, str]]:
    size = path.stat().st_size
    if size == 0:
        yield Rejected(rel, "empty file (0 bytes)", rel), rel
        return
    if size > max_bytes:
        yield Rejected(rel, f"file too large ({size:,} bytes > {max_bytes:,})", rel), rel
        return
    try:
        text, encoding = decode_bytes(path.read_bytes())
    except UndecodableError as exc:
        yield Rejected(rel, f"undecodable: {exc}", rel), rel
        return
    if not text.strip():
        yield Rejected(rel, "file holds only whitespace", rel), rel
        return
    # title=None: the cleaner takes the first line once the text is repaired.
    art = Article(id=rel, text=text, title=None, source=_source_of(rel))  # type: ignore[arg-type]
    if encoding != "utf-8":
        art.flags.append(f"encoding:{encoding}")
    yield art, rel


_FIELDS = ("title", "url", "source", "published")


def _read_jsonl(path: Path, rel: str, max_bytes: int) -> Iterator[tuple[Article | Rejected, str]]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            for lineno, raw in enumerate(fh, start=1):
                for doc in _parse_line(raw, rel, lineno, max_bytes):
                    yield doc, f"{rel}:{lineno}"
    except (OSError, EOFError) as exc:  # truncated or corrupt gzip
        yield Rejected(f"{rel}:*", f"unreadable file: {exc}", rel), rel


def _encodable(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _parse_line(raw: bytes, rel: str, lineno: int, max_bytes: int) -> Iterator[Article | Rejected]:
    line_id = f"{rel}:{lineno}"
    if not raw.strip():
        return
    if len(raw) > max_bytes:
        yield Rejected(line_id, f"line too large ({len(raw):,} bytes)", rel, lineno)
        return
    try:
        line, encoding = decode_bytes(raw)
    except UndecodableError as exc:
        yield Rejected(line_id, f"undecodable: {exc}", rel, lineno)
        return
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        yield Rejected(line_id, f"broken JSON: {exc.msg.removesuffix(' at')} at column {exc.colno}", rel, lineno, raw=line[:2000])
        return
    if not isinstance(obj, dict):
        yield Rejected(line_id, f"JSON line is a {type(obj).__name__}, not an object", rel, lineno, raw=line[:2000])
        return
    doc_id = obj.get("id")
    doc_id = str(doc_id) if doc_id not in (None, "") else line_id
    text = obj.get("text")
    page = obj.get("html")
    if page is not None and not isinstance(page, str):
        yield Rejected(doc_id, f"'html' is a {type(page).__name__}, not a string", rel, lineno, raw=line[:2000])
        return
    if text is None and page is not None:
        text = ""  # extracted from the page in the worker
    if text is None:
        yield Rejected(doc_id, "record has no 'text' field", rel, lineno, raw=line[:2000])
        return
    if not isinstance(text, str):
        yield Rejected(doc_id, f"'text' is a {type(text).__name__}, not a string", rel, lineno, raw=line[:2000])
        return
    meta = {k: (str(obj[k]) if obj.get(k) is not None else None) for k in _FIELDS}
    if "\\ud" in line or "\\uD" in line:  # JSON escapes of UTF-16 surrogates
        for name, value in (("id", doc_id), ("text", text), ("html", page), *meta.items()):
            if value and not _encodable(value):
                # Half a surrogate pair is no character: no UTF-8 file can hold it.
                yield Rejected(line_id, f"'{name}' holds an unpaired UTF-16 surrogate escape (\\ud800-\\udfff)", rel, lineno, raw=line[:2000])
                return
    art = Article(id=doc_id, text=text, html=page or None, **meta)
    if art.title is None:
        art.title = ""
    if encoding != "utf-8":
        art.flags.append(f"encoding:{encoding}")
    yield art
