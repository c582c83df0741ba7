"""The read step as work for the executor: read parts, resolve ids once,
cut shards.

    plan (driver: file list) ─► read_part (workers) ─► resolve_ids (one call) ─► cut_part (workers)

The driver only lists files and groups them into parts (whole files, in
scan order, about a few shards' worth of bytes each). A worker reads a
part: it parses and hashes every document and writes them, serialised once,
with a line of claims each (id, content hash, origin). Identity needs the
whole run in input order and every earlier run ("the first valid record that
claims an id keeps it"), so one call walks the claims of every part in order
against the ids earlier runs hold, writes the quarantined records and, per
part, which lines to keep; workers then copy the kept lines into shards.
Every executor runs these same functions over the same files, so the shards
hold the same lines in the same order whichever ran them.

What the resolving call holds is one entry per id of the run and of the
corpus (the driver holds none). Past memory that fits one worker, the next
step is to hash-partition the claims by id and resolve each partition on its
own worker (docs/cluster.md).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .formats import reader_for
from .readers import InputScan, Rejected, content_hash, quarantine_ids, read_documents_from
from .store import Segment, seen_ids, atomic_open, dumps, escape_field, index_line, save_npy, unescape_field, write_jsonl

# Input bytes per part: a part is read by one worker in one go (whole files),
# so parts of a few shards' worth keep every worker busy without many tiny
# tasks. A larger file is a part alone.
BYTES_PER_PART_PER_ARTICLE = 4000


@dataclass
class Resolution:
    counts: Counter = field(default_factory=Counter)  # new, updated, unchanged, rejected
    conflicts: list[dict] = field(default_factory=list)  # [{id, quarantined_as}] across runs
    warnings: list[str] = field(default_factory=list)  # the first quarantine lines, for the log


def plan_parts(found: InputScan, shard_size: int) -> list[list[str]]:
    """Consecutive files (absolute paths) grouped into parts of about
    ``shard_size * BYTES_PER_PART_PER_ARTICLE`` bytes."""
    budget = shard_size * BYTES_PER_PART_PER_ARTICLE
    parts: list[list[str]] = []
    size = budget
    for f in found.files:
        if size >= budget:
            parts.append([])
            size = 0
        parts[-1].append(str(Path(f).absolute()))
        try:
            size += f.stat().st_size
        except OSError:
            size += 1  # the reader reports what is wrong with it
    return parts


def part_paths(prefix: str) -> tuple[str, str, str]:
    """A part's documents, claims, and kept-lines mask."""
    return f"{prefix}.docs.jsonl", f"{prefix}.claims.tsv", f"{prefix}.keep.npy"


def read_part(files: Sequence[str], root: str, prefix: str, max_file_bytes: int) -> Counter:
    """Read whole files in order. Every document is one line of
    ``<prefix>.docs.jsonl`` (an article row as shards hold it, or a
    quarantined record) and one line of ``<prefix>.claims.tsv``: kind
    (``a`` article, ``r`` quarantined), id, content hash, origin, path, line,
    HTML page (0/1). Ids are not checked here: that needs the whole run.
    Returns the records that are no articles, by kind (WARC revisits ...)."""
    found = InputScan(files=[Path(p) for p in files], root=Path(root))
    found.readers = {f: reader_for(f) for f in found.files}
    docs_path, claims_path, _ = part_paths(prefix)
    place = ["", 0]
    with atomic_open(docs_path) as docs, atomic_open(claims_path) as claims:
        for doc, path, line, origin in read_documents_from(found, max_file_bytes, check_ids=False):
            # The order of the outputs (pipelines.stages.position): the file,
            # then the document's place in it.
            place = [path, place[1] + 1 if place[0] == path else 0]
            if isinstance(doc, Rejected):
                docs.write(dumps({"rejected": {**doc.to_dict(), "line": doc.line}, "pos": place}) + "\n")
                claims.write(f"r\t{escape_field(doc.id)}\t\t{escape_field(origin)}\t{escape_field(path)}\t{_int(line)}\t0\n")
                continue
            chash = content_hash(doc.text if doc.html is None else doc.html + "\x00" + doc.text, doc.title)
            docs.write(dumps({"article": doc.to_dict(), "hash": chash, "pos": place}) + "\n")
            claims.write(f"a\t{escape_field(doc.id)}\t{chash}\t{escape_field(origin)}\t{escape_field(path)}\t{_int(line)}\t"
                         f"{int(doc.html is not None)}\n")
    return found.not_articles


def _int(value: int | None) -> str:
    return "" if value is None else str(value)


def _claims(prefix: str):
    with open(part_paths(prefix)[1], encoding="utf-8") as fh:
        for row in fh:
            kind, doc_id, chash, origin, path, line, _page = row.rstrip("\n").split("\t")
            yield kind, unescape_field(doc_id), chash, unescape_field(origin), unescape_field(path), int(line) if line else None


def resolve_ids(prefixes: Sequence[str], segments: Sequence[Segment], staging: str, max_warnings: int = 50) -> Resolution:
    """One rule of identity, within a run and across runs (``segments``:
    what earlier runs read): an id belongs to the first valid record that
    claims it. A later record with that id and the same content is the same
    document (skipped as already processed); with other content it is
    quarantined as a duplicate id, in this run exactly as if both had come
    in one run, and listed. A quarantined record never takes an id a valid
    record holds (in this run or the corpus): it is renamed ``<id>
    (quarantined at <path>:<line>)``. A valid record may take over the id of
    a record quarantined earlier (the repaired version of a broken line).

    Writes ``rejected.jsonl`` / ``rejected.index.tsv`` in ``staging`` and
    each part's kept lines (``<prefix>.keep.npy``)."""
    seen = seen_ids(segments)
    res = Resolution()
    first_use: dict[str, str] = {}  # id -> content hash of its first valid record, this run
    rejected: list[tuple[int, int, Rejected]] = []  # (part, line, record)
    for p, prefix in enumerate(prefixes):
        keep: list[bool] = []
        for k, (kind, doc_id, chash, origin, path, line) in enumerate(_claims(prefix)):
            res.counts["documents"] += 1
            keep.append(False)
            if kind == "r":
                rejected.append((p, k, None))
                continue
            # The holder of the id: its first valid record in this run, else
            # the version earlier runs hold. Whether the two came in one run
            # or in two, the later record is judged alike (and worded alike),
            # so that nightly runs write what one run over everything writes.
            if doc_id in first_use:
                previous, earlier_run = (first_use[doc_id], "candidate"), False
            else:
                first_use[doc_id] = chash
                previous, earlier_run = seen.get(doc_id), True
            if previous is not None and previous[0] == chash:
                res.counts["unchanged"] += 1
                continue
            if previous is not None and previous[1] != "rejected":
                rejected.append((p, k, Rejected(origin, f"duplicate id {doc_id!r}: an earlier record holds a different "
                                                        "document under this id (the first record of an id keeps it)", path, line)))
                if earlier_run:
                    res.conflicts.append({"id": doc_id, "quarantined_as": origin})
                continue
            res.counts["updated" if previous else "new"] += 1
            keep[-1] = True
        save_npy(part_paths(prefix)[2], np.array(keep, dtype=bool))
    records, places = _rejected_records(prefixes, rejected)
    quarantine_ids(records, set(first_use), lambda i: seen.get(i, ("", "rejected"))[1] != "rejected")
    rows: list[dict] = []
    index: list[str] = []
    for doc, pos in zip(records, places):
        chash = content_hash(doc.detail + doc.raw, doc.path)
        if seen.get(doc.id, ("",))[0] == chash:
            res.counts["unchanged"] += 1
            continue
        if len(res.warnings) < max_warnings:
            res.warnings.append(f"quarantined {doc.id}: {doc.detail}")
        rows.append({**doc.to_dict(), "_pos": pos})
        index.append(index_line(doc.id, chash, "rejected"))
        res.counts["rejected"] += 1
    write_jsonl(Path(staging) / "rejected.jsonl", rows)
    with atomic_open(Path(staging) / "rejected.index.tsv") as fh:
        fh.write("".join(line + "\n" for line in index))
    return res


def _rejected_records(prefixes: Sequence[str], rejected: list[tuple[int, int, Rejected | None]]) -> tuple[list[Rejected], list]:
    """The quarantined records in input order, with their positions: those
    the readers quarantined are read back from their part."""
    wanted: dict[int, set[int]] = {}
    for p, k, _ in rejected:
        wanted.setdefault(p, set()).add(k)
    lines: dict[tuple[int, int], dict] = {}
    for p, ks in wanted.items():
        with open(part_paths(prefixes[p])[0], encoding="utf-8") as fh:
            for k, line in enumerate(fh):
                if k in ks:
                    lines[(p, k)] = json.loads(line)
    records, places = [], []
    for p, k, made in rejected:
        row = lines[(p, k)]
        if made is None:
            r = row["rejected"]
            made = Rejected(r["id"], r["detail"], r["path"], r.get("line"), r.get("raw", ""), r.get("reason", "quarantined"))
        records.append(made)
        places.append(row["pos"])
    return records, places


def cut_part(prefix: str, shard_prefix: str, shard_size: int, shard_pages: int) -> list[str]:
    """Copy a part's kept lines into shard files ``<shard_prefix>-KKKKK.jsonl``
    of at most ``shard_size`` articles (``shard_pages`` HTML pages: their
    extraction makes them costly); the shard paths, in order."""
    docs_path, claims_path, keep_path = part_paths(prefix)
    keep = np.load(keep_path)
    shards: list[str] = []
    buf: list[str] = []
    pages = 0

    def flush() -> None:
        nonlocal pages
        pages = 0
        if buf:
            path = f"{shard_prefix}-{len(shards):05d}.jsonl"
            with atomic_open(path) as fh:
                fh.writelines(buf)
            shards.append(path)
            buf.clear()

    with open(docs_path, encoding="utf-8") as docs, open(claims_path, encoding="utf-8") as claims:
        for k, (line, claim) in enumerate(zip(docs, claims)):
            if not keep[k]:
                continue
            buf.append(line)
            pages += claim.endswith("\t1\n")
            if len(buf) >= shard_size or pages >= shard_pages:
                flush()
    flush()
    return shards
