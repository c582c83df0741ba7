"""The corpus-wide steps: deduplicate every run's candidates, write the
outputs of the whole corpus."""

from __future__ import annotations

import heapq
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from prefect import task
from prefect.cache_policies import NO_CACHE

from cleaners.dedup import cluster, rank_key

from .config import Config
from .formats.writers import write_corpus
from .stages import position
from .store import Segment, StateError, read_jsonl, write_json
from .tasks import logger

@dataclass
class DedupResult:
    # id -> (canonical id, similarity, containment, exact, relation) for every
    # active candidate (relation: one of cleaners.dedup.RELATIONS)
    assignment: dict[str, tuple[str, float, float, bool, str]] = field(default_factory=dict)
    # id -> (segment index, kind) of the latest version of every document
    latest: dict[str, tuple[int, str]] = field(default_factory=dict)
    clusters: int = 0
    candidate_pairs: int = 0
    verified_pairs: int = 0


def _latest_versions(segments: list[Segment]) -> dict[str, tuple[int, str]]:
    latest: dict[str, tuple[int, str]] = {}
    for i, seg in enumerate(segments):
        for doc_id, _chash, kind in seg.read_index():
            latest[doc_id] = (i, kind)
    return latest


@task(name="deduplicate", persist_result=False, cache_policy=NO_CACHE)
def deduplicate(segments: list[Segment], cfg: Config, enabled: bool) -> DedupResult:
    """Cluster every active candidate of every run so far: the clusters are
    those a single run over all input would give."""
    log = logger()
    latest = _latest_versions(segments)
    ids: list[str] = []
    ranks: list[tuple] = []
    exact: list[str] = []
    shingles: list[int] = []
    sigs: list[np.ndarray] = []
    ents: list[bytes] = []
    n_ents: list[int] = []
    places: list[tuple] = []
    for si, seg in enumerate(segments):
        for shard in seg.shards():
            rows = list(read_jsonl(seg.candidates(shard)))
            if not rows:
                continue
            keep = [k for k, r in enumerate(rows) if latest.get(r["id"]) == (si, "candidate")]
            if not keep:
                continue
            sig = seg.load_signatures(shard, len(rows), cfg.dedup.num_perm)
            sigs.append(sig[keep])
            for k in keep:
                r = rows[k]
                d = r["_dedup"]
                ids.append(r["id"])
                places.append(position(r.get("_pos"), r["id"]))
                ranks.append(rank_key(d["words"], r.get("published"), r["id"]))
                exact.append(d["exact"])
                shingles.append(d["shingles"])
                ents.append(bytes.fromhex(d["entities"]))
                n_ents.append(d["n_entities"])
    result = DedupResult(latest=latest)
    if not enabled or not ids:
        result.assignment = {i: (i, 1.0, 1.0, False, "canonical") for i in ids}
        result.clusters = len(ids)
        return result
    # In output order, so that clustering sees the same input however the
    # articles arrived (runs, shards, articles cleaned again).
    order = sorted(range(len(ids)), key=places.__getitem__)
    ids, ranks, exact = [ids[k] for k in order], [ranks[k] for k in order], [exact[k] for k in order]
    shingles, n_ents = [shingles[k] for k in order], [n_ents[k] for k in order]
    signatures = np.concatenate(sigs)[order]
    entities = np.frombuffer(b"".join(ents), dtype=np.uint32).reshape(len(ids), -1)[order]
    c = cluster(signatures, np.array(shingles), exact, ranks, cfg.dedup.params(), entities, np.array(n_ents))
    result.assignment = {
        ids[k]: (ids[int(c.canonical[k])], round(float(c.similarity[k]), 4), round(float(c.containment[k]), 4), bool(c.exact[k]),
                 c.relation_name(k))
        for k in range(len(ids))
    }
    result.clusters = int(len(set(c.canonical.tolist())))
    result.candidate_pairs, result.verified_pairs = c.candidate_pairs, c.verified_pairs
    dups = len(ids) - result.clusters
    log.info(
        "deduplicated %d articles into %d clusters: %d duplicates (%d exact); %d LSH candidate pairs, %d verified",
        len(ids), result.clusters, dups, int(c.exact.sum()), c.candidate_pairs, c.verified_pairs,
    )
    return result


OUTPUT_FIELDS = ("id", "title", "text", "language", "language_prob", "url", "source", "published", "author", "sitename",
                 "duplicates", "edits", "flags", "raw_chars")


@task(name="write outputs", persist_result=False, cache_policy=NO_CACHE)
def write_outputs(segments: list[Segment], dedup: DedupResult, output: str, generation: str,
                  formats: Sequence[str] = ("jsonl",)) -> dict[str, Any]:
    """Write the articles and dropped entries of the whole corpus in every
    output format (``articles.jsonl``, ``dropped.jsonl``, ``.parquet`` ...,
    see :mod:`pipelines.formats.writers`) into the new generation folder
    (made current once the report is in it too)."""
    log = logger()
    out = Path(output)
    gen = Path(generation)
    members: dict[str, list[dict]] = {}
    for doc_id, (canon, sim, cont, ex, rel) in dedup.assignment.items():
        if canon != doc_id:
            members.setdefault(canon, []).append({"id": doc_id, "similarity": sim, "containment": cont, "exact": ex,
                                                  "relation": rel})
    for lst in members.values():
        lst.sort(key=lambda m: (-m["similarity"], m["id"]))

    # What the previous run kept lives under state/ (the outputs are views
    # a user may delete or convert); folders from before it fall back on
    # the JSONL output.
    kept_path = out / "state" / "kept.json"
    if kept_path.exists():
        previously_kept = set(json.loads(kept_path.read_text(encoding="utf-8")))
    else:
        previously_kept = {r["id"] for r in read_jsonl(out / "articles.jsonl")}

    def articles():
        def shard_rows(si: int, seg: Segment, shard: str):
            for row in read_jsonl(seg.candidates(shard)):
                a = dedup.assignment.get(row["id"])
                if dedup.latest.get(row["id"]) != (si, "candidate") or a is None or a[0] != row["id"]:
                    continue
                row["duplicates"] = members.get(row["id"], [])
                yield position(row.get("_pos"), row["id"]), {k: row.get(k) for k in OUTPUT_FIELDS}

        # Every shard file is in output order: merged, they are too.
        streams = [shard_rows(si, seg, shard) for si, seg in enumerate(segments) for shard in seg.shards()]
        for _, row in heapq.merge(*streams, key=lambda item: item[0]):
            yield row

    def shard_dropped(si: int, seg: Segment, shard: str) -> list[tuple[tuple, dict]]:
        filtered = {r["id"]: r for r in read_jsonl(seg.filtered(shard))}
        places = {r["id"]: position(r.get("_pos"), r["id"]) for r in read_jsonl(seg.candidates(shard))
                  if dedup.assignment.get(r["id"], (r["id"],))[0] != r["id"]}
        out = []
        for doc_id, _h, kind in seg.shard_index(shard):
            if dedup.latest.get(doc_id) != (si, kind):
                continue
            if kind == "filtered":
                if doc_id not in filtered:
                    raise StateError(f"{seg.filtered(shard)}: no line for {doc_id!r}, which its index lists")
                row = filtered[doc_id]
                out.append((position(row.pop("_pos", None), doc_id), row))
            elif kind == "candidate":
                canon, sim, cont, ex, rel = dedup.assignment[doc_id]
                if canon != doc_id:
                    how = "exact copy" if ex else f"{rel.replace('_', ' ')}, similarity {sim:.2f}, containment {cont:.2f}"
                    out.append((places[doc_id], {"id": doc_id, "reason": "duplicate", "detail": f"duplicate of {canon} ({how})",
                                                 "canonical": canon, "similarity": sim, "containment": cont, "relation": rel}))
        return sorted(out, key=lambda item: item[0])

    def dropped():
        streams = []
        for si, seg in enumerate(segments):
            rejected = [(position(row.pop("_pos", None), row["id"]), row) for row in read_jsonl(seg.rejected)
                        if dedup.latest.get(row["id"], (si,))[0] == si]
            streams.append(sorted(rejected, key=lambda item: item[0]))
            streams += [shard_dropped(si, seg, shard) for shard in seg.shards()]
        for _, row in heapq.merge(*streams, key=lambda item: item[0]):
            yield row

    counts = write_corpus(gen, formats, {"articles": articles, "dropped": dropped})
    n_kept, n_dropped = counts["articles"], counts["dropped"]
    kept_now = {doc_id for doc_id, a in dedup.assignment.items() if a[0] == doc_id}
    if segments:
        write_json(kept_path, sorted(kept_now))
    # Articles kept before that a more complete copy has now replaced.
    replaced = sorted(
        (old, dedup.assignment[old][0])
        for old in previously_kept
        if old in dedup.assignment and dedup.assignment[old][0] != old
    )
    log.info("wrote %d articles and %d dropped entries to %s (%s)", n_kept, n_dropped, out, ", ".join(formats))
    dup_of = {doc_id: a[0] for doc_id, a in dedup.assignment.items() if a[0] != doc_id}
    return {"kept": n_kept, "dropped": n_dropped, "kept_ids": kept_now, "dup_of": dup_of,
            "replaced": [{"old": o, "new": n} for o, n in replaced]}
