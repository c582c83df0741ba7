"""The input and output formats newsclean knows, as two registries.

A **reader** turns one file into documents: it is a function
``read(path, rel, max_bytes)`` yielding ``(document, origin)`` pairs, where a
document is an :class:`~cleaners.record.Article`, a
:class:`~pipelines.readers.Rejected` (quarantined, with its reason) or a
:class:`NotArticle` (a record that is no article, e.g. a WARC revisit or an
image, only counted). ``origin`` is where the document was found
(``<path>:<line>``), used when its id turns out to be taken.

A file goes to the first reader whose suffixes end its (lower-cased) name;
a file with a name no reader claims is sniffed: its first bytes (gunzipped
if they are gzip) are shown to each reader's ``sniff`` in turn.

A **writer** writes the output rows (``articles`` and ``dropped``) of a
whole corpus in one format (see :mod:`pipelines.formats.writers`).

Adding a format is one module with the function, plus one line below.
Readers are named as ``module:function`` and imported on first use, so this
registry imports nothing heavy (WARC and trafilatura load only when a run
meets such a file) and ``pipelines.readers`` can itself be in it.
"""

from __future__ import annotations

import gzip
import importlib
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class NotArticle:
    """A record that is no article and no error: counted per ``kind``
    (``warc:revisit``, ``warc:non-html``, ``warc:request`` ...), not
    quarantined."""

    kind: str


@dataclass(frozen=True)
class Reader:
    name: str
    suffixes: tuple[str, ...]
    target: str  # "module:function"
    # Does a file with this head (first bytes, gunzipped) hold this format?
    sniff: Callable[[bytes], bool] | None = field(default=None, compare=False)

    def load(self) -> Callable:
        module, _, func = self.target.partition(":")
        return getattr(importlib.import_module(module), func)


def _sniff_warc(head: bytes) -> bool:
    return head.lstrip(b"\r\n").startswith((b"WARC/1.", b"WARC/0."))


def _sniff_html(head: bytes) -> bool:
    h = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return h.startswith(b"<!doctype html") or (h.startswith(b"<") and b"<html" in h)


# Order matters only for sniffing; suffixes do not overlap.
READERS: tuple[Reader, ...] = (
    Reader("txt", (".txt",), "pipelines.readers:_read_txt"),
    Reader("jsonl", (".jsonl", ".jsonl.gz"), "pipelines.readers:_read_jsonl"),
    Reader("warc", (".warc", ".warc.gz"), "pipelines.formats.warc:read_warc", _sniff_warc),
    Reader("html", (".html", ".htm", ".html.gz", ".htm.gz"), "pipelines.formats.html:read_html_file", _sniff_html),
)

SNIFF_BYTES = 4096


def reader_for(path: Path) -> Reader | None:
    """The reader of ``path``: by its name, else by its first bytes."""
    name = path.name.lower()
    for r in READERS:
        if name.endswith(r.suffixes):
            return r
    if name.startswith("."):
        return None
    head = _head(path)
    for r in READERS:
        if r.sniff is not None and head and r.sniff(head):
            return r
    return None


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
        if head[:2] == b"\x1f\x8b":
            # A partial gzip stream: decompress what the first bytes give.
            return zlib.decompressobj(31).decompress(head)[:SNIFF_BYTES]
        return head
    except (OSError, zlib.error, EOFError, gzip.BadGzipFile):
        return b""


def opener(path: Path):
    """Open a file for reading bytes, gunzipping a ``.gz`` name or gzip
    bytes (a sniffed file may be compressed without saying so)."""
    with open(path, "rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")
