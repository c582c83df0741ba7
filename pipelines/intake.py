"""The read step as work for the executor: read parts, resolve ids by hash
partition, cut shards.

    plan (driver: file list) ─► read_part (workers) ─► ids: shuffle, resolve per partition,
                                                        keep per part, name the quarantined ─► cut_part (workers)

The driver only lists files and groups them into parts (whole files, in
scan order, about a few shards' worth of bytes each). A worker reads a
part: it parses and hashes every document and writes them, serialised once,
with a line of claims each (id, content hash, origin). Identity needs, for
each id, its claims in input order and the version earlier runs hold ("the
first valid record that claims an id keeps it"), and nothing of other ids:
so the claims and the earlier runs' index lines are grouped by a hash of the
id, each partition is resolved on its own, and each part gathers its kept
lines back (:func:`resolve_steps`); workers then copy the kept lines into
shards. Every executor runs these same functions over the same files, so
the shards hold the same lines in the same order whichever ran them.

A partition's task holds that partition's ids (of the run and of the
corpus); the step naming the quarantined records holds those records only.
The earlier runs' ids are shuffled again by every run (a persistent table
per partition under ``state/`` would spare that; docs/cluster.md).
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xxhash

from . import executors
from .formats import reader_for
from .readers import InputScan, Rejected, content_hash, quarantine_ids, read_documents_from
from .store import Segment, atomic_open, dumps, escape_field, index_line, save_npy, unescape_field, write_jsonl

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


# --------------------------------------------------------------------------
# Id resolution, hash-partitioned by id.
#
# The rule needs, for one id, every claim of it in input order and the
# version earlier runs hold: nothing about any other id. So the claims of
# every part and the index lines of every earlier segment are shuffled into
# hash partitions of the id (files grouped by partition, with where each
# partition starts, as the LSH band keys are in pipelines.corpus), and each
# partition is resolved on its own, reading its slice of every part in part
# order. Only the renaming of quarantined records looks across ids (a name
# must not be one a valid record holds): it takes the few quarantined
# records and asks the partitions that own each name it tries.

# Hash partitions of the ids: one per part (a partition then holds about one
# part's claims), at most this many (each partition reads a slice of every
# part's and every earlier index file's shuffle file).
MAX_ID_PARTITIONS = 256

# Why a claim was quarantined (the partitions' rejected.npy): read so by the
# reader, a later claim of an id this run holds, a claim of an id the corpus
# holds (an id conflict, listed in the run record).
_READER, _DUPLICATE, _CONFLICT = 0, 1, 2
REJECTED_ROW = np.dtype([("part", "<i8"), ("line", "<i8"), ("why", "i1")])


def id_partition(doc_id: str, partitions: int) -> int:
    """The hash partition of an id: the same in every process and run
    (Python's ``hash`` of a str is salted per process)."""
    return xxhash.xxh3_64_intdigest(doc_id.encode("utf-8", "surrogatepass")) % partitions


def _save_grouped_lines(prefix: str, rows: list[tuple[int, str]], partitions: int) -> None:
    """``rows`` (partition, text line) into ``<prefix>.tsv`` grouped by
    partition, keeping their order within one, and ``<prefix>.offsets.npy``:
    [2, partitions + 1], where each partition starts in bytes and in lines."""
    groups: list[list[str]] = [[] for _ in range(partitions)]
    for r, line in rows:
        groups[r].append(line)
    offsets = np.zeros((2, partitions + 1), dtype=np.int64)
    with atomic_open(f"{prefix}.tsv", "wb") as fh:
        for r, lines in enumerate(groups):
            data = "".join(lines).encode("utf-8")
            fh.write(data)
            offsets[0, r + 1] = offsets[0, r] + len(data)
            offsets[1, r + 1] = offsets[1, r] + len(lines)
    save_npy(f"{prefix}.offsets.npy", offsets)


def _slice_rows(prefix: str, r: int) -> list[list[str]]:
    """Partition ``r``'s lines of ``<prefix>.tsv``, split into fields."""
    lo, hi = np.load(f"{prefix}.offsets.npy")[0, r:r + 2].tolist()
    if hi == lo:
        return []
    with open(f"{prefix}.tsv", "rb") as fh:
        fh.seek(lo)
        data = fh.read(hi - lo).decode("utf-8")
    # Split on "\n" alone: an id may hold other line separators (U+2028 ...),
    # which str.splitlines would cut at.
    return [row.split("\t") for row in data.split("\n")[:-1]]


def id_claims_shard(prefix: str, partitions: int) -> None:
    """A part's claims (``<prefix>.claims.tsv``) grouped by hash partition
    of the id, in line order within each: ``<prefix>.ids.tsv`` lines ``line
    <TAB> kind <TAB> id (escaped) <TAB> content hash``."""
    rows = []
    for k, (kind, doc_id, chash, *_rest) in enumerate(_claims(prefix)):
        rows.append((id_partition(doc_id, partitions), f"{k}\t{kind}\t{escape_field(doc_id)}\t{chash}\n"))
    _save_grouped_lines(f"{prefix}.ids", rows, partitions)


def id_index_shard(seg: Segment, shard: str, prefix: str, partitions: int) -> None:
    """An earlier run's index file (``<shard>.index.tsv``, or ``rejected``)
    grouped by hash partition of the id, in line order within each:
    ``<prefix>.tsv``, index lines (escaped)."""
    rows = [(id_partition(doc_id, partitions), index_line(doc_id, chash, kind) + "\n")
            for doc_id, chash, kind in seg.shard_index(shard)]
    _save_grouped_lines(prefix, rows, partitions)


def _partition_ids(r: int, parts: Sequence[str], index_prefixes: Sequence[str]) -> tuple[dict[str, tuple[str, str]], Iterator]:
    """Partition ``r``'s ids as earlier runs hold them (id -> content hash,
    kind; the latest version wins, as :func:`pipelines.store.seen_ids`), and
    its claims in input order: (part, line, kind, id, content hash)."""
    seen: dict[str, tuple[str, str]] = {}
    for prefix in index_prefixes:
        for doc_id, chash, kind in _slice_rows(prefix, r):
            seen[unescape_field(doc_id)] = (chash, kind)

    def claims():
        for p, prefix in enumerate(parts):
            for k, kind, doc_id, chash in _slice_rows(f"{prefix}.ids", r):
                yield p, int(k), kind, unescape_field(doc_id), chash

    return seen, claims()


def id_partition_resolve(r: int, parts: Sequence[str], index_prefixes: Sequence[str], dest: str) -> Counter:
    """Resolve partition ``r``: the one rule of identity (see
    :func:`resolve_steps`) over its slice of every part's claims, in input
    order, against its slice of the earlier runs' ids. Writes the lines to
    keep (``<dest>.kept.npy``, line numbers grouped by part, and
    ``<dest>.offsets.npy``, where each part's start) and the claims it
    quarantined (``<dest>.rejected.npy``, :data:`REJECTED_ROW`, input order);
    returns the counts."""
    seen, claims = _partition_ids(r, parts, index_prefixes)
    counts: Counter = Counter()
    first_use: dict[str, str] = {}  # id -> content hash of its first valid record, this run
    kept: list[int] = []
    part_of_kept: list[int] = []
    rejected: list[tuple[int, int, int]] = []
    for p, k, kind, doc_id, chash in claims:
        counts["documents"] += 1
        if kind == "r":
            rejected.append((p, k, _READER))
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
            counts["unchanged"] += 1
            continue
        if previous is not None and previous[1] != "rejected":
            rejected.append((p, k, _CONFLICT if earlier_run else _DUPLICATE))
            continue
        counts["updated" if previous else "new"] += 1
        kept.append(k)
        part_of_kept.append(p)
    save_npy(f"{dest}.kept.npy", np.array(kept, dtype=np.int64))
    save_npy(f"{dest}.offsets.npy", np.searchsorted(np.array(part_of_kept, dtype=np.int64), np.arange(len(parts) + 1)))
    save_npy(f"{dest}.rejected.npy", np.array(rejected, dtype=REJECTED_ROW))
    return counts


def id_keep_part(p: int, prefix: str, dests: Sequence[str]) -> None:
    """Part ``p``'s kept lines, gathered from every partition, into
    ``<prefix>.keep.npy`` (what :func:`cut_part` reads)."""
    keep = np.zeros(int(np.load(f"{prefix}.ids.offsets.npy")[1, -1]), dtype=bool)
    for dest in dests:
        lo, hi = np.load(f"{dest}.offsets.npy")[p:p + 2].tolist()
        if hi > lo:
            keep[np.load(f"{dest}.kept.npy", mmap_mode="r")[lo:hi]] = True
    save_npy(part_paths(prefix)[2], keep)


def id_names_lookup(r: int, parts: Sequence[str], index_prefixes: Sequence[str], asked: str) -> None:
    """Answer for the names in ``<asked>.tsv`` (all of partition ``r``)
    whether a valid record holds them (a valid claim of this run, or an
    earlier run's version that was not quarantined) and the content hash
    earlier runs hold under them: ``<asked>.answers.tsv``."""
    seen, claims = _partition_ids(r, parts, index_prefixes)
    valid = {doc_id for _p, _k, kind, doc_id, _h in claims if kind == "a"}
    with open(f"{asked}.tsv", encoding="utf-8", newline="\n") as fh:
        names = [unescape_field(line) for line in fh.read().split("\n")[:-1]]
    with atomic_open(f"{asked}.answers.tsv") as fh:
        for name in names:
            chash, kind = seen.get(name, ("", "rejected"))
            fh.write(f"{escape_field(name)}\t{int(name in valid or kind != 'rejected')}\t{chash}\n")


@dataclass
class _Quarantined:
    records: list[Rejected]
    places: list
    conflicts: list[dict]  # [{id, quarantined_as}]: claims of an id the corpus holds, input order


def _quarantined(parts: Sequence[str], dests: Sequence[str]) -> _Quarantined:
    """The records the partitions quarantined, in input order, as
    :class:`Rejected` with their positions."""
    rows = np.concatenate([np.load(f"{dest}.rejected.npy") for dest in dests] or [np.empty(0, dtype=REJECTED_ROW)])
    rows = rows[np.lexsort((rows["line"], rows["part"]))]
    wanted: dict[int, set[int]] = {}
    for p, k in zip(rows["part"].tolist(), rows["line"].tolist()):
        wanted.setdefault(p, set()).add(k)
    lines: dict[tuple[int, int], tuple[dict, list[str]]] = {}
    for p, ks in wanted.items():
        docs_path, claims_path, _ = part_paths(parts[p])
        with open(docs_path, encoding="utf-8") as docs, open(claims_path, encoding="utf-8") as claims:
            for k, (line, claim) in enumerate(zip(docs, claims)):
                if k in ks:
                    lines[(p, k)] = json.loads(line), claim.rstrip("\n").split("\t")
    out = _Quarantined([], [], [])
    for p, k, why in zip(rows["part"].tolist(), rows["line"].tolist(), rows["why"].tolist()):
        row, (_kind, doc_id, _chash, origin, path, line, _page) = lines[(p, k)]
        if why == _READER:
            r = row["rejected"]
            made = Rejected(r["id"], r["detail"], r["path"], r.get("line"), r.get("raw", ""), r.get("reason", "quarantined"))
        else:
            doc_id = unescape_field(doc_id)
            made = Rejected(unescape_field(origin), f"duplicate id {doc_id!r}: an earlier record holds a different "
                                                   "document under this id (the first record of an id keeps it)",
                            unescape_field(path), int(line) if line else None)
            if why == _CONFLICT:
                out.conflicts.append({"id": doc_id, "quarantined_as": made.id})
        out.records.append(made)
        out.places.append(row["pos"])
    return out


def _names_tried(doc: Rejected, upto: int) -> list[str]:
    """The names :func:`~pipelines.readers.quarantine_ids` tries for a
    record, in its order, up to the ``upto``-th renaming. Only which names
    are asked ahead depends on this; the names given are quarantine_ids'
    own, so a difference costs a round of questions, not a wrong name."""
    where = f"{doc.path}:{doc.line}" if doc.line is not None else doc.path
    return [doc.id, f"{doc.id} (quarantined at {where})", *(f"{doc.id} (quarantined at {where}, {n})" for n in range(2, upto + 1))]


def _read_answers(folder: Path) -> dict[str, tuple[bool, str]]:
    known: dict[str, tuple[bool, str]] = {}
    for path in sorted(folder.glob("names-*.answers.tsv")):
        with open(path, encoding="utf-8", newline="\n") as fh:
            for row in fh.read().split("\n")[:-1]:
                name, held, chash = row.split("\t")
                known[unescape_field(name)] = (held == "1", chash)
    return known


def id_quarantine(parts: Sequence[str], dests: Sequence[str], folder: str, staging: str, partitions: int, ask_round: int,
                  max_warnings: int = 50) -> tuple[Resolution | None, list[int]]:
    """Name the quarantined records (:func:`~pipelines.readers.quarantine_ids`:
    never a name a valid record holds, in this run or the corpus) and write
    ``rejected.jsonl`` / ``rejected.index.tsv`` into ``staging``.

    Whether a valid record holds a name is known to the partition that owns
    it only: the names not answered yet are written, per owning partition,
    to ``<folder>/names-<round>-<partition>.tsv`` and their partitions
    returned, for :func:`id_names_lookup`; then this is called again. With
    every name it tried answered, it writes and returns the
    :class:`Resolution` (its counts: the quarantined records only)."""
    q = _quarantined(parts, dests)
    known = _read_answers(Path(folder))
    missing: set[str] = set()

    def held_by_valid(name: str) -> bool:
        if name not in known:
            missing.add(name)
            # Not answered yet: taken as free so that the walk goes on and
            # asks what later records try; nothing is written this round.
            return False
        return known[name][0]

    records = q.records
    if not known and records:
        # The first round asks, for each record, its own name and its first
        # renamings: what nearly every record needs.
        missing.update(name for d in records for name in _names_tried(d, 3))
    else:
        # valid=(): held_by_valid answers for the run's valid records too.
        quarantine_ids(records, set(), held_by_valid)
        missing.update(d.id for d in records if d.id not in known)
    if missing:
        asked: dict[int, list[str]] = {}
        for name in sorted(missing):
            asked.setdefault(id_partition(name, partitions), []).append(name)
        for r, names in asked.items():
            with atomic_open(Path(folder) / f"names-{ask_round:03d}-{r:05d}.tsv") as fh:
                fh.write("".join(escape_field(name) + "\n" for name in names))
        return None, sorted(asked)
    res = Resolution()
    rows: list[dict] = []
    index: list[str] = []
    for doc, pos in zip(records, q.places):
        chash = content_hash(doc.detail + doc.raw, doc.path)
        if known[doc.id][1] == chash:
            res.counts["unchanged"] += 1
            continue
        if len(res.warnings) < max_warnings:
            res.warnings.append(f"quarantined {doc.id}: {doc.detail}")
        rows.append({**doc.to_dict(), "_pos": pos})
        index.append(index_line(doc.id, chash, "rejected"))
        res.counts["rejected"] += 1
    res.conflicts = q.conflicts
    write_jsonl(Path(staging) / "rejected.jsonl", rows)
    with atomic_open(Path(staging) / "rejected.index.tsv") as fh:
        fh.write("".join(line + "\n" for line in index))
    return res, []


def resolve_steps(parts: Sequence[str], segments: Sequence[Segment], staging: str, partitions: int | None = None,
                  max_warnings: int = 50) -> Resolution:
    """One rule of identity, within a run and across runs (``segments``:
    what earlier runs read): an id belongs to the first valid record that
    claims it. A later record with that id and the same content is the same
    document (skipped as already processed); with other content it is
    quarantined as a duplicate id, in this run exactly as if both had come
    in one run, and listed. A quarantined record never takes an id a valid
    record holds (in this run or the corpus): it is renamed ``<id>
    (quarantined at <path>:<line>)``. A valid record may take over the id of
    a record quarantined earlier (the repaired version of a broken line).

    Run on the executor as a shuffle by hash partition of the id (``parts``:
    the prefixes :func:`read_part` wrote; ``partitions``: how many, None for
    one per part, at most :data:`MAX_ID_PARTITIONS`; the result does not
    depend on it): each part's claims and each earlier index file grouped
    by partition (:func:`id_claims_shard`, :func:`id_index_shard`), each
    partition resolved (:func:`id_partition_resolve`), each part's kept
    lines gathered (:func:`id_keep_part`, ``<prefix>.keep.npy``), then the
    quarantined records named (:func:`id_quarantine`, asking the partitions
    that own the names, :func:`id_names_lookup`), into ``rejected.jsonl`` /
    ``rejected.index.tsv`` in ``staging``. This process holds per-part and
    per-partition file names only."""
    ex = executors.current()
    folder = Path(parts[0]).parent / "ids" if parts else Path(staging) / "ids"
    folder.mkdir(parents=True, exist_ok=True)
    used = max(1, min(MAX_ID_PARTITIONS, len(parts))) if partitions is None else partitions
    units = [(seg, shard, str(folder / f"index-{si:05d}-{shard}"))
             for si, seg in enumerate(segments) for shard in _index_files(seg)]
    ex.map(id_claims_shard, [(prefix, used) for prefix in parts], "ids")
    if units:
        ex.map(id_index_shard, [(seg, shard, prefix, used) for seg, shard, prefix in units], "ids of earlier runs")
    index_prefixes = [prefix for _seg, _shard, prefix in units]
    dests = [str(folder / f"part-{r:05d}") for r in range(used)]
    # The lists every task of a step reads go to the workers once (share),
    # not inside each task: parts x partitions file names through the
    # driver otherwise (its scheduler holds each task's arguments).
    all_parts, all_index, all_dests = ex.share(list(parts)), ex.share(index_prefixes), ex.share(dests)
    counts: Counter = Counter()
    for c in ex.map(id_partition_resolve, [(r, all_parts, all_index, dest) for r, dest in enumerate(dests)],
                    "ids resolved"):
        counts.update(c)
    ex.map(id_keep_part, [(p, prefix, all_dests) for p, prefix in enumerate(parts)], "ids kept")
    # Each round decides at least the first record whose names were not all
    # answered, so this ends; nearly always after the first round's answers.
    ask_round = 0
    res, ask = ex.call(id_quarantine, parts, dests, str(folder), staging, used, ask_round, max_warnings)
    while res is None:
        ex.map(id_names_lookup, [(r, all_parts, all_index, str(folder / f"names-{ask_round:03d}-{r:05d}")) for r in ask],
               "ids named")
        ask_round += 1
        res, ask = ex.call(id_quarantine, parts, dests, str(folder), staging, used, ask_round, max_warnings)
    counts.update(res.counts)
    res.counts = counts
    shutil.rmtree(folder, ignore_errors=True)
    return res


def _index_files(seg: Segment) -> list[str]:
    """The index files of a segment (as :meth:`Segment.shard_index` names
    them), in the order :func:`~pipelines.store.seen_ids` reads them."""
    return [p.name[:-len(".index.tsv")] for p in sorted(seg.path.glob("*.index.tsv"))]


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
