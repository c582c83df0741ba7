"""The corpus-wide steps: deduplicate every run's candidates, write the
outputs of the whole corpus.

Both are step functions over shard files, run where the executor puts them
(:mod:`pipelines.executors`), so that the driver holds per-shard metadata
only, never an object per article:

* :func:`dedup_steps` finds the LSH candidate pairs without every
  signature in one process: :func:`lsh_plan` (one call) numbers the
  articles clustered in rank order from the sidecars alone;
  :func:`lsh_shard` (one call per shard, mapped) writes the shard's band
  keys grouped by hash partition of (band, key); :func:`lsh_partition` (one
  call per partition, mapped) turns the whole buckets of its partition into
  candidate pairs, grouped by hash partition of the pair; :func:`lsh_verify`
  (one call per pair partition, mapped) verifies its pairs against the
  signatures and entity sketches of their ends, read from the shards' files.
  Then :func:`dedup_components` (one call) labels the connected components
  of the verified pairs (int arrays only) and groups the components of two
  or more articles into batches; :func:`dedup_batch` (one call per batch,
  mapped) applies the clustering rule to its components, reading its
  members' sidecar rows and the signatures of those in a verified pair;
  :func:`dedup_corpus` (one call: on a Dask worker, or in the driver
  process for the local executors) merges the batches' entries with the
  articles of no component (clusters of their own) and writes into the
  run's work folder, per shard, what became of each of its documents
  (``<unit>.assign.json``), plus the new ``kept.json`` and the run's
  changes; it returns counts.
* :func:`write_part` (one call per shard, mapped) writes that shard's
  output rows, serialised and in output order, into part files;
  :func:`merge_parts` (one call, where shard work runs) then merges the
  parts by position, reading one line of each at a time.
"""

from __future__ import annotations

import heapq
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from prefect import task
from prefect.cache_policies import NO_CACHE
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from cleaners.dedup.canonical import RELATIONS
from cleaners.dedup.clustering import RepRows, clusters_of_representatives, fold_copies, representatives
from cleaners.dedup.lsh import BAND_RECORD, band_records, bucket_pairs, pair_partition, partition_of, unpack_pairs
from cleaners.dedup.params import DedupParams
from cleaners.dedup.shingles import sorted_unique
from cleaners.dedup.verify import EntitySketches, verify_some

from . import executors
from .config import Config
from .formats.writers import write_corpus
from .stages import position
from .store import (CHANGES_SUFFIX, Segment, StateError, atomic_open, dumps, load_signature_matrix, read_jsonl, save_npy,
                    sidecar_schema, sketch_matrix, write_json, write_jsonl)
from .tasks import logger

OUTPUT_FIELDS = ("id", "title", "text", "language", "language_prob", "url", "source", "published", "author", "sitename",
                 "duplicates", "edits", "flags", "raw_chars")
# Part files open at once in the driver's merge; more are merged in groups
# first (open files are a per-process limit).
MERGE_FAN_IN = 256
# Hash partitions of the LSH band keys: one per shard that holds articles
# to cluster (a partition then holds about one shard's band keys), at most
# this many (each partition reads a slice of every shard's file).
MAX_PARTITIONS = 256


@dataclass
class DedupCounts:
    """What deduplication returns to the driver: counts only."""

    articles: int = 0  # active candidates clustered
    clusters: int = 0
    duplicates: int = 0
    exact: int = 0
    candidate_pairs: int = 0
    verified_pairs: int = 0
    added_kept: int = 0  # kept articles this run read (not ones it cleaned again)
    added_duplicates: int = 0  # copies this run read, folded into kept articles
    replaced: int = 0  # articles kept before that a more complete copy replaced
    partitions: int = 0  # hash partitions of the LSH band keys
    shuffled_bytes: int = 0  # band keys written to partition files (the shuffle)


def _unit(si: int, shard: str) -> str:
    """The name of a shard's files in the work folder (``rejected``: the
    segment's quarantined documents)."""
    return f"{si:05d}-{shard}"


def _latest_versions(segments: list[Segment]) -> dict[str, tuple[int, str]]:
    latest: dict[str, tuple[int, str]] = {}
    # Every id of one (segment, kind) shares one tuple: a tuple and a kind
    # string of its own per id were some 110 bytes an article on the one
    # worker that holds this.
    versions: dict[tuple[int, str], tuple[int, str]] = {}
    for i, seg in enumerate(segments):
        for doc_id, _chash, kind in seg.read_index():
            v = (i, kind)
            latest[doc_id] = versions.setdefault(v, v)
    return latest


def _features(seg: Segment, shard: str) -> dict[str, Any]:
    """What dedup needs of every candidate of a shard: its sidecar, or for a
    shard written before sidecars, the ``_dedup`` field of its JSON."""
    cols = seg.load_sidecar(shard)
    if cols is not None:
        return cols
    cols = {name: [] for name in ("id", "pos_path", "pos_n", "words", "shingles", "exact", "published", "n_entities")}
    ents = []
    for r in read_jsonl(seg.candidates(shard)):
        d, pos = r["_dedup"], r.get("_pos")
        for name, value in zip(cols, (r["id"], pos[0] if pos else None, pos[1] if pos else None, d["words"], d["shingles"],
                                      d["exact"], r.get("published"), d["n_entities"])):
            cols[name].append(value)
        ents.append(bytes.fromhex(d["entities"]))
    flat = np.frombuffer(b"".join(ents), dtype=np.uint32)
    cols["entities"] = flat.reshape(len(ents), -1) if ents else flat.reshape(0, 0)
    return cols


# The sidecar columns lsh_plan numbers the articles by.
_ACTIVE = ("id", "pos_path", "pos_n", "words", "published", "exact", "shingles", "n_entities")


@dataclass
class _Active:
    """Every active candidate (the latest version of its id) of every run,
    in the order the shards are read: their :data:`_ACTIVE` columns (in
    Arrow: the strings' bytes and 8 per number, where a Python object per
    field cost hundreds of bytes an article) and, per shard, which rows."""

    table: Any  # pyarrow.Table
    rows: list[tuple[int, str, np.ndarray, int]]  # (segment, shard, its active rows, its candidate rows)


def _active(segments: list[Segment], latest: dict[str, tuple[int, str]], entities_to: Path | None = None) -> _Active:
    """The active candidates' dedup fields from the shards' sidecars, no
    signature. ``entities_to``: a folder to write each shard's entity
    sketches into (``<unit>.ents.npy``, every candidate row), for
    :class:`ShardRows`."""
    import pyarrow as pa

    schema = sidecar_schema(_ACTIVE)
    tables, rows = [], []
    for si, seg in enumerate(segments):
        for shard in seg.shards():
            table = seg.sidecar_table(shard)
            if table is None:  # written before sidecars: from the shard's JSON
                f = _features(seg, shard)
                ents = f["entities"]
                table = pa.table({name: f[name] for name in _ACTIVE}, schema=schema)
            else:
                ents = None
            keep = np.array([k for k, i in enumerate(table.column("id").to_pylist()) if latest.get(i) == (si, "candidate")],
                            dtype=np.int64)
            if not len(keep):
                continue
            rows.append((si, shard, keep, table.num_rows))
            if entities_to is not None:
                save_npy(entities_to / f"{_unit(si, shard)}.ents.npy",
                         ents if ents is not None else sketch_matrix(table.column("entities")))
            tables.append(table.select(list(_ACTIVE)).take(pa.array(keep)))
    table = pa.concat_tables(tables).combine_chunks() if tables else schema.empty_table()
    del tables
    # Arrow's allocator keeps what the shards' tables freed for reuse;
    # nothing of that size comes again here.
    pa.default_memory_pool().release_unused()
    return _Active(table, rows)


def _output_order(t) -> np.ndarray:
    """Rows of ``t`` in output order (:func:`~pipelines.stages.position`:
    input path, then place in it; an article read before positions were
    recorded by its id). Arrow orders strings by their UTF-8 bytes, which
    is the order of their code points, Python's."""
    import pyarrow as pa
    import pyarrow.compute as pc

    unplaced = pc.is_null(t["pos_path"])
    keys = pa.table({"path": pc.coalesce(t["pos_path"], t["id"]),
                     "n": pc.if_else(unplaced, pa.scalar(-1, pa.int64()), t["pos_n"])})
    return pc.sort_indices(keys, sort_keys=[("path", "ascending"), ("n", "ascending")]).to_numpy()


def _rank_order(t) -> np.ndarray:
    """Rows of ``t`` best first, by :func:`~cleaners.dedup.rank_key`: most
    words, earliest date (undated last), id."""
    import pyarrow as pa
    import pyarrow.compute as pc

    keys = pa.table({"words": t["words"], "undated": pc.is_null(t["published"]),
                     "published": pc.fill_null(t["published"], ""), "id": t["id"]})
    return pc.sort_indices(keys, sort_keys=[("words", "descending"), ("undated", "ascending"),
                                            ("published", "ascending"), ("id", "ascending")]).to_numpy()


@dataclass
class LshPlan:
    """What the shuffle of band keys needs: per shard, never per article."""

    units: list[tuple[int, str, str]]  # (segment, shard, its index file) of the shards holding articles to cluster
    articles: int  # articles LSH indexes (one per exact group)
    bands: int
    rows: int
    partitions: int
    where: str = ""  # the file of WHERE records, one per article indexed (in their order)
    unit_rows: list[int] = field(default_factory=list)  # candidate rows of each unit's shard
    # (segment, shard, its GROUP file) of every shard holding active candidates
    groups: list[tuple[int, str, str]] = field(default_factory=list)


# Where an article LSH indexes lives, by its number: its shard (a place in
# LshPlan.units) and row there; and the two counts verification reads of it.
WHERE = np.dtype([("unit", "<u4"), ("row", "<u4"), ("shingles", "<i8"), ("n_entities", "<i8")])
# Each candidate row's exact group: the number of its representative (-1: not
# an active candidate) and whether it is a copy (not that representative).
GROUP = np.dtype([("number", "<i8"), ("copy", "?")])


@dataclass
class ShardRows:
    """The signatures and entity sketches of indexed articles, by number,
    read from the shards' files (memory-mapped: only the rows asked for are
    read), with :data:`WHERE`; a :data:`~cleaners.dedup.verify.RowLoader`."""

    where: str
    units: list[tuple[str, str, int]]  # per unit: signature file, entity sketch file, rows
    num_perm: int

    def counts(self) -> tuple[np.ndarray, np.ndarray]:
        w = np.load(self.where, mmap_mode="r")
        return np.asarray(w["shingles"]), np.asarray(w["n_entities"])

    def __call__(self, numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        w = np.load(self.where, mmap_mode="r")[numbers]
        sig = np.empty((len(numbers), self.num_perm), dtype=np.uint32)
        ents = None
        for u in np.unique(w["unit"]).tolist():
            at = np.flatnonzero(w["unit"] == u)
            sig_path, ents_path, rows = self.units[u]
            sig[at] = load_signature_matrix(sig_path, rows, self.num_perm, mapped=True)[w["row"][at]]
            shard_ents = np.load(ents_path, mmap_mode="r")
            if ents is None:
                ents = np.empty((len(numbers), shard_ents.shape[1]), dtype=np.uint32)
            ents[at] = shard_ents[w["row"][at]]
        return sig, ents if ents is not None else np.empty((0, 0), dtype=np.uint32)


def lsh_plan(segments: list[Segment], cfg: Config, work: str, partitions: int | None = None) -> LshPlan:
    """Number the articles LSH indexes as :func:`cluster` will: the best
    copy of each exact group, in rank order. The numbers go to one file per
    shard (``lsh/<unit>.index.npy``, int64 per candidate row, -1 for rows
    not indexed), so that each shard's band keys can be computed where the
    shard is (:func:`lsh_shard`). For verification where the pairs are
    (:func:`lsh_verify`), where each numbered article lives and its counts
    (``lsh/where.npy``, :data:`WHERE`) and each shard's entity sketches
    (``lsh/<unit>.ents.npy``, from its sidecar: a shard written before
    sidecars has them in its JSON only). Reads the sidecars, no signature.
    ``partitions``: how many hash partitions (None: one per such shard, at
    most :data:`MAX_PARTITIONS`); the pairs do not depend on it."""
    import pyarrow.compute as pc

    latest = _latest_versions(segments)
    folder = Path(work) / "lsh"
    folder.mkdir(parents=True, exist_ok=True)
    a = _active(segments, latest, folder)
    del latest
    bands, rows = cfg.dedup.params().bands()
    n = a.table.num_rows
    # In output order, as dedup_corpus hands them to cluster: rank order is
    # total, so the numbering does not depend on it, but the same input
    # leaves no room for doubt.
    order = _output_order(a.table)
    placed = a.table.select(["words", "published", "id", "exact"]).take(order)
    exact = pc.dictionary_encode(placed["exact"]).combine_chunks().indices.to_numpy().astype(np.int64)
    _o, first_of, reps = representatives(exact, _rank_order(placed))
    del placed, exact
    if len(reps) >= 1 << 32:
        raise ValueError("more than 2**32 articles in one clustering")
    index = np.full(n, -1, dtype=np.int64)
    index[order[reps]] = np.arange(len(reps))
    # Each candidate's exact group, by its representative's number.
    group = np.empty(n, dtype=GROUP)
    group["number"][order] = index[order[first_of]]
    group["copy"][order] = first_of != np.arange(len(order))
    where = np.empty(len(reps), dtype=WHERE)
    where["shingles"] = a.table["shingles"].to_numpy()[order[reps]]
    where["n_entities"] = a.table["n_entities"].to_numpy()[order[reps]]
    units, unit_rows, groups, start = [], [], [], 0
    for si, shard, keep, candidates in a.rows:
        per_row = np.full(candidates, -1, dtype=np.int64)
        per_row[keep] = index[start:start + len(keep)]
        of_row = np.zeros(len(per_row), dtype=GROUP)
        of_row["number"] = -1
        of_row[keep] = group[start:start + len(keep)]
        start += len(keep)
        path = folder / f"{_unit(si, shard)}.group.npy"
        save_npy(path, of_row)
        groups.append((si, shard, str(path)))
        if (per_row >= 0).any():
            path = folder / f"{_unit(si, shard)}.index.npy"
            save_npy(path, per_row)
            indexed = np.flatnonzero(per_row >= 0)
            where["unit"][per_row[indexed]] = len(units)
            where["row"][per_row[indexed]] = indexed
            units.append((si, shard, str(path)))
            unit_rows.append(len(per_row))
        else:
            (folder / f"{_unit(si, shard)}.ents.npy").unlink()
    save_npy(folder / "where.npy", where)
    return LshPlan(units, len(reps), bands, rows, partitions or max(1, min(MAX_PARTITIONS, len(units))),
                   str(folder / "where.npy"), unit_rows, groups)


def lsh_shard(seg: Segment, shard: str, index_path: str, prefix: str, num_perm: int, bands: int, rows: int,
              partitions: int) -> int:
    """Every band key of the shard's indexed rows (:data:`BAND_RECORD`),
    grouped by hash partition of (band, key), into ``<prefix>.bands.npy``,
    and where each partition's records start into ``<prefix>.offsets.npy``
    (``partitions + 1`` entries); returns the bytes written."""
    index = np.load(index_path)
    keep = np.flatnonzero(index >= 0)
    records = band_records(seg.load_signatures(shard, len(index), num_perm)[keep], index[keep].astype(np.uint32),
                           bands, rows)
    part = partition_of(records, partitions)
    order = np.argsort(part, kind="stable")
    offsets = np.searchsorted(part[order], np.arange(partitions + 1))
    save_npy(f"{prefix}.bands.npy", records[order])
    save_npy(f"{prefix}.offsets.npy", offsets)
    return sum(os.path.getsize(f"{prefix}.{name}.npy") for name in ("bands", "offsets"))


def _slices(p: int, prefixes: Sequence[str], data: str, dtype) -> np.ndarray:
    """Partition ``p``'s slice of every ``<prefix>.<data>.npy`` (grouped by
    partition, with ``<prefix>.offsets.npy``), concatenated."""
    chunks = []
    for prefix in prefixes:
        lo, hi = np.load(f"{prefix}.offsets.npy")[p:p + 2].tolist()
        if hi > lo:
            chunks.append(np.array(np.load(f"{prefix}.{data}.npy", mmap_mode="r")[lo:hi]))
    return np.concatenate(chunks) if chunks else np.empty(0, dtype=dtype)


def _save_grouped(prefix: str, data: str, values: np.ndarray, part: np.ndarray, partitions: int) -> None:
    order = np.argsort(part, kind="stable")
    save_npy(f"{prefix}.{data}.npy", values[order])
    save_npy(f"{prefix}.offsets.npy", np.searchsorted(part[order], np.arange(partitions + 1)))


def lsh_partition(p: int, prefixes: list[str], dest: str, partitions: int) -> int:
    """The candidate pairs of partition ``p``: its slice of every shard's
    band keys (each of its buckets is whole there), paired as one band in
    one process would pair them; written as packed codes (uint64, sorted,
    distinct within the partition) grouped by hash partition of the pair
    (:func:`~cleaners.dedup.lsh.pair_partition`, ``partitions`` of them)
    into ``<dest>.pairs.npy`` and ``<dest>.offsets.npy``, for
    :func:`lsh_verify`. Returns how many."""
    codes = bucket_pairs(_slices(p, prefixes, "bands", BAND_RECORD))
    _save_grouped(dest, "pairs", codes, pair_partition(codes, partitions), partitions)
    return len(codes)


# A verified pair: packed code (see unpack_pairs), estimated Jaccard and containment.
EDGE = np.dtype([("code", "<u8"), ("jaccard", "<f8"), ("containment", "<f8")])


def lsh_verify(q: int, prefixes: list[str], rows: ShardRows, params: DedupParams, dest: str) -> tuple[int, int]:
    """Verify pair partition ``q``: the union of its slices of every band
    partition's pairs (a pair two bands found lands here from both, and in
    no other pair partition), estimated from the signatures and entity
    sketches of their ends only (:func:`~cleaners.dedup.verify.verify_some`,
    rows read from the shards' files); the verified ones with their
    estimates into ``dest`` (:data:`EDGE`, sorted by code). Returns
    (candidate pairs, verified pairs)."""
    codes = sorted_unique(_slices(q, prefixes, "pairs", np.uint64))
    shingles, n_entities = rows.counts()
    pairs, jac, cont = verify_some(unpack_pairs(codes), rows, shingles, n_entities, params)
    edges = np.empty(len(pairs), dtype=EDGE)
    edges["code"] = (pairs[:, 0].astype(np.uint64) << np.uint64(32)) | pairs[:, 1].astype(np.uint64)
    edges["jaccard"], edges["containment"] = jac, cont
    save_npy(dest, edges)
    return len(codes), len(edges)


# A member of a batch: an active candidate whose exact group's
# representative (``number``) is in a component of two or more articles,
# and where it lives (a place in LshPlan.groups, and its row there).
MEMBER = np.dtype([("number", "<i8"), ("copy", "?"), ("unit", "<u4"), ("row", "<u4")])


@dataclass
class Components:
    """What :func:`dedup_components` hands the batches and the last step:
    file names and counts, nothing per article."""

    batches: int
    members: str = ""  # prefix of the members (MEMBER) grouped by batch: <members>.members.npy, .offsets.npy
    edges: list[str] = field(default_factory=list)  # per pair partition, prefix of its edges grouped by batch
    articles: list[int] = field(default_factory=list)  # articles of each batch


def dedup_components(work: str, edge_files: Sequence[str], groups: Sequence[tuple[int, str, str]], articles: int,
                     batches: int | None = None) -> Components:
    """The connected components of the verified pairs over the ``articles``
    LSH numbered (scipy's ``connected_components``; int arrays only), and
    the articles to cluster grouped into batches of whole components: a
    component of two or more articles (representatives, or one with exact
    copies) with every member of their exact groups. Components go to
    batches largest first, each to the batch with the fewest articles so
    far (ties: by best-ranked member, then the lower batch), so the batches
    hold about as many articles each where the components allow (a
    component is never cut: one of 2,000 copies is one batch's). Writes,
    under ``<work>/components``, the members grouped by batch
    (:data:`MEMBER`, in shard and row order) and each pair partition's
    edges grouped by batch. ``batches``: how many at most (None: one per
    pair partition; never more than components); the clusters do not
    depend on it. Every other article is a cluster of its own."""
    folder = Path(work) / "components"
    folder.mkdir(parents=True, exist_ok=True)
    if not articles:
        return Components(0)
    # The ends only, 8 bytes per edge below 2**31 articles (scipy's indices).
    idx = np.int32 if articles < 1 << 31 else np.int64
    i = np.concatenate([(np.load(p, mmap_mode="r")["code"] >> np.uint64(32)).astype(idx) for p in edge_files]
                       or [np.empty(0, dtype=idx)])
    j = np.concatenate([(np.load(p, mmap_mode="r")["code"] & np.uint64(0xFFFFFFFF)).astype(idx)
                        for p in edge_files] or [np.empty(0, dtype=idx)])
    graph = coo_matrix((np.ones(len(i), dtype=bool), (i, j)), shape=(articles, articles)).tocsr()
    del i, j
    _n, labels = connected_components(graph, directed=False)
    del graph
    # Articles per component: its representatives and their exact copies.
    size = np.zeros(articles, dtype=np.int64)
    for _si, _shard, path in groups:
        number = np.load(path)["number"]
        np.add.at(size, number[number >= 0], 1)  # (a bincount per shard would cost the corpus per shard)
    per_comp = np.bincount(labels, weights=size, minlength=_n).astype(np.int64)
    del size
    comps = np.flatnonzero(per_comp >= 2)
    if not len(comps):
        return Components(0)
    # Largest first, each to the batch holding the fewest articles so far
    # (ties to the lower batch): one component of nearly every article
    # takes a batch of its own, the rest share the others.
    want = min(max(1, batches or len(edge_files)), len(comps))
    weight = per_comp[comps]
    loads = [(0, b) for b in range(want)]
    batch = np.empty(len(comps), dtype=np.int64)
    for k in np.argsort(-weight, kind="stable").tolist():
        load, b = heapq.heappop(loads)
        batch[k] = b
        heapq.heappush(loads, (load + int(weight[k]), b))
    n_batches = want
    batch_of = np.full(_n, -1, dtype=np.int64)
    batch_of[comps] = batch
    del per_comp, comps, weight, batch, loads

    chunks, parts = [], []
    for u, (_si, _shard, path) in enumerate(groups):
        g = np.load(path)
        rows = np.flatnonzero(g["number"] >= 0)
        b = batch_of[labels[g["number"][rows]]]
        rows, b = rows[b >= 0], b[b >= 0]
        m = np.empty(len(rows), dtype=MEMBER)
        m["number"], m["copy"], m["unit"], m["row"] = g["number"][rows], g["copy"][rows], u, rows
        chunks.append(m)
        parts.append(b)
    members, part = np.concatenate(chunks), np.concatenate(parts)
    del chunks, parts
    prefix = str(folder / "members")
    _save_grouped(prefix, "members", members, part, n_batches)
    counts = np.bincount(part, minlength=n_batches).tolist()
    del members, part

    edge_prefixes = []
    for q, path in enumerate(edge_files):
        edges = np.load(path)
        dest = str(folder / f"edges-{q:05d}")
        _save_grouped(dest, "edges", edges, batch_of[labels[(edges["code"] >> np.uint64(32)).astype(np.int64)]],
                      n_batches)
        edge_prefixes.append(dest)
    return Components(n_batches, prefix, edge_prefixes, counts)


def dedup_batch(b: int, comp: Components, segments: list[Segment], groups: Sequence[tuple[int, str, str]],
                rows: ShardRows, params: DedupParams, dest: str) -> tuple[int, int, int]:
    """Cluster batch ``b`` of :func:`dedup_components`: read its members'
    dedup fields from their shards' sidecars (those rows only are kept),
    its edges, and the signatures and entity sketches of the articles in
    them (``rows``, memory-mapped); apply the clustering rule
    (:func:`~cleaners.dedup.clustering.clusters_of_representatives`, then
    exact copies follow their representative, as :func:`cluster` does); and
    write each member's entry of its shard's assignment (see
    :func:`dedup_corpus`) into ``dest``, one ``[unit, row, entry]`` line per
    member in (unit, row) order. Returns (articles, clusters, exact copies
    of their canonical)."""
    members = _slices(b, [comp.members], "members", MEMBER)
    edges = _slices(b, comp.edges, "edges", EDGE)
    edges = edges[np.argsort(edges["code"], kind="stable")]
    n = len(members)
    ids, words, shingles, stamp = [None] * n, np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64), [""] * n
    for u in np.unique(members["unit"]).tolist():
        si, shard, _path = groups[u]
        f = _features(segments[si], shard)
        for k, r in zip(np.flatnonzero(members["unit"] == u).tolist(), members["row"][members["unit"] == u].tolist()):
            ids[k], words[k], shingles[k], stamp[k] = f["id"][r], f["words"][r], f["shingles"][r], f["published"][r] or ""
        del f
    # Representatives numbered locally in their global (rank) order.
    numbers = np.unique(members["number"])
    rep_of = np.searchsorted(numbers, members["number"])
    reps = np.empty(len(numbers), dtype=np.int64)
    is_rep = np.flatnonzero(~members["copy"])
    reps[rep_of[is_rep]] = is_rep
    pairs = np.searchsorted(numbers, unpack_pairs(edges["code"]))
    # Only the ends of edges: a representative in none is a cluster of its
    # own with its exact copies, and nothing reads its signature.
    needed = np.unique(pairs)
    sig_rows, ent_rows = rows(numbers[needed])
    place = np.full(len(numbers), -1, dtype=np.int64)
    place[needed] = np.arange(len(needed))
    where = np.load(rows.where, mmap_mode="r")[numbers]
    ns = where["shingles"].astype(np.float64)
    ents = EntitySketches(ent_rows, np.asarray(where["n_entities"])[needed], place) if ent_rows is not None else None
    rep_canon, rep_sim, rep_cont = clusters_of_representatives(
        pairs, edges["jaccard"], edges["containment"], ns, RepRows(sig_rows, place), ents, words[reps],
        [stamp[k] for k in reps.tolist()], params)
    canonical, similarity, containment, exact, relation = fold_copies(reps[rep_of], reps, rep_canon, rep_sim, rep_cont,
                                                                      shingles, stamp, params)
    duplicates: dict[int, list[dict]] = {}
    for k in np.flatnonzero(canonical != np.arange(n)).tolist():
        duplicates.setdefault(int(canonical[k]), []).append(
            {"id": ids[k], "similarity": round(float(similarity[k]), 4), "containment": round(float(containment[k]), 4),
             "exact": bool(exact[k]), "relation": RELATIONS[int(relation[k])]})
    with atomic_open(dest) as fh:
        for k in np.lexsort((members["row"], members["unit"])).tolist():
            if canonical[k] == k:
                entry = {"duplicates": sorted(duplicates.get(k, []), key=lambda d: (-d["similarity"], d["id"]))}
            else:
                entry = {"canonical": ids[int(canonical[k])], "similarity": round(float(similarity[k]), 4),
                         "containment": round(float(containment[k]), 4), "exact": bool(exact[k]),
                         "relation": RELATIONS[int(relation[k])]}
            fh.write(dumps([int(members["unit"][k]), int(members["row"][k]), entry]) + "\n")
    return n, int((canonical == np.arange(n)).sum()), int(exact.sum())


def _batch_stream(path: str) -> Iterator[tuple[int, int, dict]]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            u, row, entry = orjson.loads(line)
            yield u, row, entry


def dedup_steps(segments: list[Segment], cfg: Config, enabled: bool, output: str, work: str,
                new_segment: int | None, partitions: int | None = None, batches: int | None = None) -> DedupCounts:
    """Deduplicate on the run's executor: the LSH shuffle (plan, band keys
    per shard, pairs per partition), verification per pair partition, the
    components of the verified pairs grouped into batches, the clustering
    rule per batch, then :func:`dedup_corpus` writes every shard's
    assignment. The same functions over the same files whichever executor
    runs them."""
    ex = executors.current()
    Path(work).mkdir(parents=True, exist_ok=True)
    shuffled, used, candidates, verified = 0, 0, 0, 0
    folder = Path(work) / "lsh"
    groups: list[tuple[int, str, str]] = []
    batch_files: list[str] = []
    clustered = [(0, 0, 0)]
    if enabled:
        plan = ex.call(lsh_plan, segments, ex.share(cfg), work, partitions)  # no task carries the configuration
        groups = plan.groups
        used = plan.partitions if plan.units else 0
        prefixes = [str(folder / _unit(si, shard)) for si, shard, _path in plan.units]
        shuffled = sum(ex.map(lsh_shard, [(segments[si], shard, path, prefix, cfg.dedup.num_perm, plan.bands, plan.rows,
                                           plan.partitions) for (si, shard, path), prefix in zip(plan.units, prefixes)],
                              "dedup keys"))
        pair_prefixes = [str(folder / f"pairs-{p:05d}") for p in range(used)]
        # What every task of a step reads (per-shard lists) goes to the
        # workers once (share), not inside each task: shards x partitions
        # entries through the driver otherwise (its scheduler holds each
        # task's arguments).
        shared_prefixes = ex.share(prefixes)
        ex.map(lsh_partition, [(p, shared_prefixes, dest, used) for p, dest in enumerate(pair_prefixes)], "dedup pairs")
        rows = ex.share(shard_rows(segments, plan, cfg.dedup.num_perm))
        edge_files = [str(folder / f"edges-{q:05d}.npy") for q in range(used)]
        shared_pairs = ex.share(pair_prefixes)
        counted = ex.map(lsh_verify, [(q, shared_pairs, rows, cfg.dedup.params(), dest)
                                      for q, dest in enumerate(edge_files)], "dedup verify")
        candidates, verified = sum(c for c, _v in counted), sum(v for _c, v in counted)
        comp = ex.call(dedup_components, work, edge_files, groups, plan.articles, batches)
        batch_files = [str(Path(work) / "components" / f"batch-{b:05d}.jsonl") for b in range(comp.batches)]
        shared_comp, shared_segments, shared_groups = ex.share(comp), ex.share(segments), ex.share(groups)
        clustered += ex.map(dedup_batch, [(b, shared_comp, shared_segments, shared_groups, rows, cfg.dedup.params(), dest)
                                          for b, dest in enumerate(batch_files)], "dedup clusters")
    c = ex.call(dedup_corpus, segments, output, work, new_segment, groups, batch_files,
                tuple(map(sum, zip(*clustered))))
    if enabled:
        c.candidate_pairs, c.verified_pairs = candidates, verified
    c.partitions, c.shuffled_bytes = used, shuffled
    # The shuffle's and the batches' files: the write needs none of them.
    shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(Path(work) / "components", ignore_errors=True)
    return c


def shard_rows(segments: list[Segment], plan: LshPlan, num_perm: int) -> ShardRows:
    """The :class:`ShardRows` of the articles ``plan`` numbered."""
    units = [(str(segments[si].signatures(shard)), str(Path(path).with_name(f"{_unit(si, shard)}.ents.npy")), n)
             for (si, shard, path), n in zip(plan.units, plan.unit_rows)]
    return ShardRows(plan.where, units, num_perm)


def dedup_corpus(segments: list[Segment], output: str, work: str, new_segment: int | None,
                 groups: Sequence[tuple[int, str, str]], batch_files: Sequence[str],
                 clustered: tuple[int, int, int]) -> DedupCounts:
    """Write what became of each document of every run so far into
    ``work``, for :func:`write_part`: the entries :func:`dedup_batch` wrote
    into ``batch_files`` (merged in shard and row order, one line of each
    at a time), and for every other active candidate, in no verified pair
    and with no exact copy, a cluster of its own. ``groups``: the shards
    the batches number units by (:attr:`LshPlan.groups`); ``clustered``:
    the batches' (articles, clusters, exact copies) summed. The clusters are
    those a single run over all input would give. Writes:

    * ``<unit>.assign.json`` per shard: ``index``, one character per line of
      its index file, ``1`` where that line is the document's latest
      version; ``rows``, one entry per candidate row: null (not the latest
      version), ``{"duplicates": [...]}`` (kept, with its copies) or
      ``{"canonical", "similarity", "containment", "exact", "relation"}``
      (a copy). Per segment, ``<si>-rejected.assign.json`` holds ``index``
      over its quarantined documents.
    * ``kept.json``: the ids kept now (``state/kept.json`` once written).
    * ``changes.jsonl``: the ids run ``new_segment`` added (kept, or copies)
      and the kept articles a more complete copy replaced.
    """
    latest = _latest_versions(segments)
    work_dir = Path(work)
    # What the previous run kept lives under state/ (the outputs are views
    # a user may delete or convert); folders from before it fall back on
    # the JSONL output.
    out = Path(output)
    kept_path = out / "state" / "kept.json"
    if kept_path.exists():
        previously_kept = set(json.loads(kept_path.read_text(encoding="utf-8")))
    else:
        previously_kept = {r["id"] for r in read_jsonl(out / "articles.jsonl")}
    # Added: read by this run, i.e. the latest version is in its segment and
    # not in a shard of articles it cleaned again (``rNNNNN``, whose ids
    # its index files list).
    again = set()
    if new_segment is not None:
        seg = segments[new_segment]
        for shard in seg.shards():
            if shard.startswith("r"):
                again.update(doc_id for doc_id, _h, _k in seg.shard_index(shard))

    def added(doc_id: str) -> bool:
        return new_segment is not None and latest[doc_id][0] == new_segment and doc_id not in again

    unit_of = {(si, shard): u for u, (si, shard, _path) in enumerate(groups)}
    entries = heapq.merge(*map(_batch_stream, batch_files))
    pending = next(entries, None)
    kept, added_kept, added_dups, replaced = [], [], [], []
    counts = DedupCounts()
    for si, seg in enumerate(segments):
        mask = "".join("1" if latest.get(doc_id, (None,))[0] == si else "0" for doc_id, _h, _k in seg.rejected_index())
        _write_assign(work_dir / f"{_unit(si, 'rejected')}.assign.json", {"index": mask})
        for shard in seg.shards():
            mask = "".join("1" if latest.get(doc_id) == (si, kind) else "0" for doc_id, _h, kind in seg.shard_index(shard))
            u = unit_of.get((si, shard), -1)
            rows = []
            for k, doc_id in enumerate(_features(seg, shard)["id"]):
                if latest.get(doc_id) != (si, "candidate"):
                    rows.append(None)
                    continue
                counts.articles += 1
                if pending is not None and pending[:2] == (u, k):
                    entry = pending[2]
                    pending = next(entries, None)
                else:
                    entry = {"duplicates": []}
                rows.append(entry)
                canon = entry.get("canonical", doc_id)
                if canon == doc_id:
                    kept.append(doc_id)
                    if added(doc_id):
                        added_kept.append(doc_id)
                else:
                    if added(doc_id):
                        added_dups.append((doc_id, canon))
                    if doc_id in previously_kept:
                        replaced.append((doc_id, canon))
            _write_assign(work_dir / f"{_unit(si, shard)}.assign.json", {"index": mask, "rows": rows})
    if pending is not None:
        raise StateError(f"{work_dir}: a batch assigned unit {pending[0]} row {pending[1]}, which is no active candidate")
    members, member_clusters, counts.exact = clustered
    counts.clusters = counts.articles - members + member_clusters
    counts.duplicates = counts.articles - counts.clusters
    if segments:
        kept.sort()
        write_json(work_dir / "kept.json", kept)
    del kept
    added_kept.sort()
    added_dups.sort()
    replaced.sort()
    counts.added_kept, counts.added_duplicates, counts.replaced = len(added_kept), len(added_dups), len(replaced)
    write_jsonl(work_dir / "changes.jsonl", [
        *({"change": "added_kept", "id": i} for i in added_kept),
        *({"change": "added_duplicate", "id": i, "canonical": c} for i, c in added_dups),
        *({"change": "replaced_canonical", "id": o, "canonical": n} for o, n in replaced),
    ])
    return counts


def _write_assign(path: Path, obj: dict) -> None:
    with atomic_open(path) as fh:
        fh.write(dumps(obj))


@task(name="deduplicate", persist_result=False, cache_policy=NO_CACHE)
def deduplicate(segments: list[Segment], cfg: Config, enabled: bool, output: str, work: str,
                new_segment: int | None) -> DedupCounts:
    """:func:`dedup_steps` on the run's executor (a cluster's workers, or
    this process)."""
    c = dedup_steps(segments, cfg, enabled, output, work, new_segment)
    if enabled and c.articles:
        logger().info(
            "deduplicated %d articles into %d clusters: %d duplicates (%d exact); %d LSH candidate pairs from %d "
            "hash partition(s) (%d bytes of band keys shuffled), %d verified",
            c.articles, c.clusters, c.duplicates, c.exact, c.candidate_pairs, c.partitions, c.shuffled_bytes,
            c.verified_pairs,
        )
    return c


def _part_line(pos: tuple, row: dict) -> str:
    # The position first, on its own: the merge reads it without parsing
    # the row (compact JSON never holds a raw tab).
    return f"{dumps(pos)}\t{dumps(row)}\n"


def write_part(seg: Segment, si: int, shard: str, work: str) -> tuple[int, int]:
    """Write the output rows of one shard (``rejected``: the segment's
    quarantined documents) into ``<unit>.articles.part`` and
    ``<unit>.dropped.part`` in ``work``, one ``position <TAB> row`` line each,
    in output order; returns (articles, dropped)."""
    work_dir = Path(work)
    unit = _unit(si, shard)
    assign = json.loads((work_dir / f"{unit}.assign.json").read_text(encoding="utf-8"))
    mask = assign["index"]
    if shard == "rejected":
        superseded = {doc_id for (doc_id, _h, _k), m in zip(seg.rejected_index(), mask) if m == "0"}
        dropped = [(position(row.pop("_pos", None), row["id"]), row) for row in read_jsonl(seg.rejected)
                   if row["id"] not in superseded]
        return 0, _write_part(work_dir / f"{unit}.dropped.part", sorted(dropped, key=lambda item: item[0]))

    articles = []
    copies: dict[str, tuple[tuple, dict]] = {}
    for row, entry in zip(read_jsonl(seg.candidates(shard)), assign["rows"]):
        if entry is None:
            continue
        if "duplicates" in entry:
            row["duplicates"] = entry["duplicates"]
            articles.append((position(row.get("_pos"), row["id"]), {k: row.get(k) for k in OUTPUT_FIELDS}))
        else:
            copies[row["id"]] = (position(row.get("_pos"), row["id"]), entry)
    n_articles = _write_part(work_dir / f"{unit}.articles.part", articles)
    del articles

    filtered = {r["id"]: r for r in read_jsonl(seg.filtered(shard))}
    dropped = []
    for (doc_id, _h, kind), m in zip(seg.shard_index(shard), mask):
        if m != "1":
            continue
        if kind == "filtered":
            if doc_id not in filtered:
                raise StateError(f"{seg.filtered(shard)}: no line for {doc_id!r}, which its index lists")
            row = filtered[doc_id]
            dropped.append((position(row.pop("_pos", None), doc_id), row))
        elif kind == "candidate" and doc_id in copies:
            pos, e = copies[doc_id]
            canon, sim, cont, rel = e["canonical"], e["similarity"], e["containment"], e["relation"]
            how = "exact copy" if e["exact"] else f"{rel.replace('_', ' ')}, similarity {sim:.2f}, containment {cont:.2f}"
            dropped.append((pos, {"id": doc_id, "reason": "duplicate", "detail": f"duplicate of {canon} ({how})",
                                  "canonical": canon, "similarity": sim, "containment": cont, "relation": rel}))
    return n_articles, _write_part(work_dir / f"{unit}.dropped.part", sorted(dropped, key=lambda item: item[0]))


def _write_part(path: Path, rows: list[tuple[tuple, dict]]) -> int:
    with atomic_open(path) as fh:
        for pos, row in rows:
            fh.write(_part_line(pos, row))
    return len(rows)


def _part_stream(path: Path) -> Iterator[tuple[tuple, str]]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            pos, row = line.split("\t", 1)
            yield tuple(orjson.loads(pos)), row


def _merged(paths: list[Path], work: Path) -> Iterator[str]:
    """The lines of part files merged by position, ties in the order of
    ``paths`` (what ``heapq.merge`` over the shards' rows gave before the
    parts existed). Each part is in output order, so merging consecutive
    groups first, past :data:`MERGE_FAN_IN` files, gives the same lines."""
    level = 0
    while len(paths) > MERGE_FAN_IN:
        level += 1
        groups = [paths[k:k + MERGE_FAN_IN] for k in range(0, len(paths), MERGE_FAN_IN)]
        paths = []
        for g, group in enumerate(groups):
            dest = work / f"merge-{level}-{g:05d}.part"
            with atomic_open(dest) as fh:
                for pos, row in heapq.merge(*map(_part_stream, group), key=lambda item: item[0]):
                    fh.write(f"{dumps(pos)}\t{row}")
            paths.append(dest)
    for _pos, row in heapq.merge(*map(_part_stream, paths), key=lambda item: item[0]):
        yield row


def merge_parts(gen: Path, formats: Sequence[str], article_parts: list[Path], dropped_parts: list[Path],
                work: Path) -> dict[str, int]:
    """The corpus files of every format in ``gen``, from the shards' parts
    merged by position; the row count of each."""
    return write_corpus(gen, formats, {
        "articles": lambda: map(orjson.loads, _merged(article_parts, work)),
        "dropped": lambda: map(orjson.loads, _merged(dropped_parts, work)),
    })


@task(name="write outputs", persist_result=False, cache_policy=NO_CACHE)
def write_outputs(segments: list[Segment], output: str, work: str, generation: str, run_id: str,
                  formats: Sequence[str] = ("jsonl",)) -> dict[str, Any]:
    """Write the articles and dropped entries of the whole corpus in every
    output format (``articles.jsonl``, ``dropped.jsonl``, ``.parquet`` ...,
    see :mod:`pipelines.formats.writers`) into the new generation folder
    (made current once the report is in it too), from what
    :func:`dedup_corpus` wrote into ``work``; then put ``kept.json`` under
    ``state/`` and the run's changes in ``runs/<run_id>.changes.jsonl``, and
    remove ``work``."""
    log = logger()
    out, gen, work_dir = Path(output), Path(generation), Path(work)
    units = [(seg, si, shard) for si, seg in enumerate(segments) for shard in ("rejected", *seg.shards())]
    # Wherever the executor runs shard work now: a cluster's workers, or
    # this process once the local pool is released after cleaning.
    ex = executors.current()
    ex.map(write_part, [(seg, si, shard, work) for seg, si, shard in units], "write")
    # The streams of the merge in the order of the rows before parts: the
    # shards of each segment, the quarantined documents first among dropped.
    article_parts = [work_dir / f"{_unit(si, shard)}.articles.part" for _s, si, shard in units if shard != "rejected"]
    dropped_parts = [work_dir / f"{_unit(si, shard)}.dropped.part" for _s, si, shard in units]
    # Where shard work runs too: the merge holds a line of each of up to
    # MERGE_FAN_IN parts at once, and a kept article's line lists all its
    # copies (some 15 MB at once at the benchmark's 1,000,000 articles).
    counts = ex.call(merge_parts, gen, formats, article_parts, dropped_parts, work_dir)
    if (work_dir / "kept.json").exists():
        os.replace(work_dir / "kept.json", out / "state" / "kept.json")
    (out / "runs").mkdir(exist_ok=True)
    os.replace(work_dir / "changes.jsonl", out / "runs" / f"{run_id}{CHANGES_SUFFIX}")
    shutil.rmtree(work_dir)
    log.info("wrote %d articles and %d dropped entries to %s (%s)", counts["articles"], counts["dropped"], out,
             ", ".join(formats))
    return {"kept": counts["articles"], "dropped": counts["dropped"]}

