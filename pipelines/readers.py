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

Never its own output: a newsclean output folder (it holds the run lock
``.newsclean.lock`` or ``state/manifest.json``) found under the input is
skipped whole, state and generations included, and listed in
:attr:`InputScan.outputs`; an input that is such a folder or lies inside one
is refused (:class:`InputError`). So ``--input D --output D/out`` reads the
same documents on every run.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cleaners.record import Article
from cleaners.repair import UndecodableError, decode_bytes

from .config import InputSettings
from .errors import UserError
from .formats import NotArticle, reader_for
from .store import LOCK_NAME

MAX_FILE_BYTES = InputSettings.max_file_bytes  # [input] max_file_bytes


class InputError(UserError, FileNotFoundError):
    """An input that is missing or that newsclean must not read."""


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
    outputs: list[str] = field(default_factory=list)  # newsclean output folders skipped, relative paths


def is_output_folder(path: Path) -> bool:
    """Is ``path`` a newsclean output folder (held by a run, or with state)?"""
    return (path / LOCK_NAME).is_file() or (path / "state" / "manifest.json").is_file()


def refuse_output_as_input(path: str | Path) -> None:
    """Raise :class:`InputError` when ``path`` is, or lies inside, a newsclean
    output folder: its files are this pipeline's own output."""
    path = Path(path).resolve()
    for folder in (path, *path.parents):
        if is_output_folder(folder):
            inside = "" if folder == path else f" (it lies inside {folder})"
            raise InputError(f"input {path} is a newsclean output folder{inside}: newsclean never reads its own output; "
                             "give the folder of raw articles as --input (copy a file out of the output folder to read it as input)")


def scan(path: str | Path) -> InputScan:
    """List readable files under ``path`` in a stable (sorted) order,
    skipping newsclean output folders below it."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"input not found: {path}: give an existing folder or file as --input")
    refuse_output_as_input(path)
    outputs: list[str] = []
    if path.is_file():
        files, root = [path], path.parent
    else:
        root = path
        files = []
        for top, dirs, names in os.walk(path):
            for d in sorted(dirs):
                if is_output_folder(Path(top) / d):
                    outputs.append(_rel(Path(top) / d, root))
                    dirs.remove(d)
            files += (Path(top) / n for n in names)
        files = sorted(p for p in files if p.is_file())
    result = InputScan(root=root, outputs=outputs)
    for f in files:
        reader = reader_for(f)
        if reader is not None:
            result.files.append(f)
            result.readers[f] = reader
        elif not f.name.startswith("."):
            result.skipped.append(_rel(f, root))
    return result


def _rel(path: Path, root: Path) -> str:
    """The relative path as ids and reports show it: bytes of the name that
    are not UTF-8 (kept by the file system API as surrogate escapes) are
    written ``\\xNN``, so every id is valid text; the file is still opened
    by its real name."""
    rel = Path(os.path.relpath(path, root)).as_posix()
    return os.fsencode(rel).decode("utf-8", "backslashreplace")


def content_hash(text: str, title: str | None = None) -> str:
    """Identity of an input document's content: a rerun over the same input
    recognises what it has already processed."""
    h = hashlib.blake2b(digest_size=12)
    h.update((title or "").encode("utf-8", "surrogatepass"))
    h.update(b"\x00")
    h.update(text.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def read_documents(scan_result: InputScan, max_file_bytes: int = MAX_FILE_BYTES) -> Iterator[Article | Rejected]:
    """Yield every document of every file, in a stable order.

    A record whose id was already used is quarantined under its
    ``<path>:<line>`` id, so that every input still appears exactly once.
    """
    for doc, _path, _line in read_documents_at(scan_result, max_file_bytes):
        yield doc


def read_documents_at(scan_result: InputScan, max_file_bytes: int = MAX_FILE_BYTES) -> Iterator[tuple[Article | Rejected, str, int | None]]:
    """:func:`read_documents`, each document with where it was read: the
    file's relative path and the line (None for a whole file)."""
    for doc, rel, line, _origin in read_documents_from(scan_result, max_file_bytes):
        yield doc, rel, line


def read_documents_from(scan_result: InputScan, max_file_bytes: int = MAX_FILE_BYTES,
                        check_ids: bool = True) -> Iterator[tuple[Article | Rejected, str, int | None, str]]:
    """:func:`read_documents_at` with each document's origin (``path:line``,
    or the reader's name for a record of a page or an archive). With
    ``check_ids`` False, a reused id is left for the caller to find (see
    :func:`pipelines.intake.resolve_steps`, which sees the whole run)."""
    seen: dict[str, str] = {}
    for f in scan_result.files:
        rel = _rel(f, scan_result.root)
        reader = scan_result.readers[f].load()
        # Text readers say which line a record came from; page and archive
        # readers yield (document, origin).
        for item in reader(f, rel, max_file_bytes):
            doc, origin, line = item if len(item) == 3 else (item[0], item[1], None)
            if isinstance(doc, NotArticle):
                scan_result.not_articles[doc.kind] += 1
                continue
            if isinstance(doc, Article) and check_ids:
                if doc.id in seen:
                    yield Rejected(origin, f"duplicate id {doc.id!r}, first used at {seen[doc.id]}", rel, line), rel, line, origin
                    continue
                seen[doc.id] = origin
            yield doc, rel, line, origin


def quarantine_ids(rejected: list[Rejected], valid: set[str], held_by_valid: Callable[[str], bool] = lambda _id: False) -> None:
    """Give every quarantined record an id no valid record holds and no
    other quarantined record of the run has (in place, in order).

    A quarantined record keeps the id it was read under unless a valid
    record of this run (``valid``) or of the corpus (``held_by_valid``)
    holds it; it then becomes ``<id> (quarantined at <path>:<line>)``. So a
    quarantined record never displaces a valid one, whatever id it claims.
    """
    taken = set(valid)
    for doc in rejected:
        if doc.id in taken or held_by_valid(doc.id):
            where = f"{doc.path}:{doc.line}" if doc.line is not None else doc.path
            new_id, n = f"{doc.id} (quarantined at {where})", 1
            while new_id in taken or held_by_valid(new_id):
                n += 1
                new_id = f"{doc.id} (quarantined at {where}, {n})"
            doc.id = new_id
        taken.add(doc.id)


def _source_of(rel: str) -> str | None:
    parts = rel.split("/")
    return parts[0] if len(parts) > 1 else None


def _read_txt(path: Path, rel: str, max_bytes: int) -> Iterator[tuple[Article | Rejected, str, int | None]]:
    size = path.stat().st_size
    if size == 0:
        yield Rejected(rel, "empty file (0 bytes)", rel), rel, None
        return
    if size > max_bytes:
        yield Rejected(rel, f"file too large ({size:,} bytes > {max_bytes:,})", rel), rel, None
        return
    try:
        text, encoding = decode_bytes(path.read_bytes())
    except UndecodableError as exc:
        yield Rejected(rel, f"undecodable: {exc}", rel), rel, None
        return
    if not text.strip():
        yield Rejected(rel, "file holds only whitespace", rel), rel, None
        return
    # title=None: the cleaner takes the first line once the text is repaired.
    art = Article(id=rel, text=text, title=None, source=_source_of(rel))  # type: ignore[arg-type]
    if encoding != "utf-8":
        art.flags.append(f"encoding:{encoding}")
    yield art, rel, None


_FIELDS = ("title", "url", "source", "published")


def _read_jsonl(path: Path, rel: str, max_bytes: int) -> Iterator[tuple[Article | Rejected, str, int | None]]:
    gz = path.name.lower().endswith(".gz")
    if path.stat().st_size == 0:
        # Not even a gzip header: gzip reads it as no lines, which would
        # leave the file unaccounted for.
        yield Rejected(rel, "empty file (0 bytes)", rel), rel, None
        return
    opener = gzip.open if gz else open
    lines = 0
    try:
        with opener(path, "rb") as fh:
            for lineno, raw in enumerate(fh, start=1):
                lines += bool(raw.strip())
                for doc in _parse_line(raw, rel, lineno, max_bytes):
                    yield doc, f"{rel}:{lineno}", lineno
    except (OSError, EOFError, zlib.error) as exc:  # truncated or corrupt gzip
        yield Rejected(f"{rel}:*", f"unreadable file: {exc}", rel), rel, None
        return
    if not lines:
        yield Rejected(rel, "no records (the file holds only blank lines)" if not gz else "no records (the gzip stream is empty)", rel), rel, None


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
