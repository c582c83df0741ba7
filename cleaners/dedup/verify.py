"""Verification of candidate pairs: estimated Jaccard and containment from
signatures, and the entity test (do the numbers and names agree?)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .params import DedupParams


def estimate(sig: np.ndarray, n: np.ndarray, i: np.ndarray, j: np.ndarray, chunk: int = 1 << 15) -> tuple[np.ndarray, np.ndarray]:
    """Estimated Jaccard and containment (smaller in larger) of pairs.

    Containment follows from Jaccard and the set sizes:
    |A∩B| = J / (1 + J) · (|A| + |B|).
    Chunked so that millions of pairs need only ``chunk`` x num_perm bytes.
    """
    jac = np.empty(len(i), dtype=np.float64)
    for s in range(0, len(i), chunk):
        e = s + chunk
        jac[s:e] = np.count_nonzero(sig[i[s:e]] == sig[j[s:e]], axis=1) / sig.shape[1]
    ni = n[i].astype(np.float64)
    nj = n[j].astype(np.float64)
    inter = jac / (1.0 + jac) * (ni + nj)
    smaller = np.minimum(ni, nj)
    cont = np.divide(inter, smaller, out=np.zeros_like(inter), where=smaller > 0)
    return jac, np.minimum(cont, 1.0)


def entity_containment(ents: np.ndarray, n_ents: np.ndarray, i: np.ndarray, j: np.ndarray, chunk: int = 1 << 16) -> np.ndarray:
    """Estimated share of the smaller entity set in the larger, for pairs,
    from bottom-k sketches (:func:`entity_sketch`): of the smaller set's
    sketched values in the hash range both sketches cover in full, the
    share found in the larger one's. Exact when both sets fit in the
    sketch, and exact at 1.0 (a subset) whatever their sizes. A pair with
    no such value is not judged (1.0)."""
    out = np.empty(len(i), dtype=np.float64)
    full = np.uint32(0xFFFFFFFF)
    swap = n_ents[i] > n_ents[j]
    small, large = np.where(swap, j, i), np.where(swap, i, j)
    for s in range(0, len(i), chunk):
        a, b = ents[small[s : s + chunk]], ents[large[s : s + chunk]]
        top = np.minimum(a[:, -1], b[:, -1])[:, None]  # 0xFFFFFFFF when a set fits
        ina = (a <= top) & (a != full)
        found = ((a[:, :, None] == b[:, None, :]).any(axis=2) & ina).sum(axis=1)
        sampled = ina.sum(axis=1)
        out[s : s + chunk] = np.divide(found, sampled, out=np.ones(len(a)), where=sampled > 0)
    return out


def similar(jac: np.ndarray, cont: np.ndarray, smaller: np.ndarray, p: DedupParams) -> np.ndarray:
    return (jac >= p.min_jaccard) | ((cont >= p.min_containment) & (smaller >= p.min_shingles))


class EntitySketches:
    """Entity sketches and counts of all articles, addressed by
    representative index."""

    def __init__(self, ents: np.ndarray, n_ents: np.ndarray, reps: np.ndarray):
        self.ents, self.n_ents, self.reps = ents, n_ents, reps

    def same(self, i: np.ndarray, j: np.ndarray, p: DedupParams) -> np.ndarray:
        """Do the numbers and names of pairs agree (or are too few to say)?"""
        i, j = self.reps[i], self.reps[j]
        few = np.minimum(self.n_ents[i], self.n_ents[j]) < p.min_entities
        out = few.copy()
        judge = np.flatnonzero(~few)
        out[judge] = entity_containment(self.ents, self.n_ents, i[judge], j[judge]) >= p.min_entity_containment
        return out


def core(sig: np.ndarray, ns: np.ndarray, ents: EntitySketches | None, head: np.ndarray, rest: np.ndarray, p: DedupParams) -> np.ndarray:
    """Which of ``rest`` hold enough in common with their ``head`` (arrays of
    one length) to be versions of its text."""
    jac, cont = estimate(sig, ns, head, rest)
    ok = (jac >= p.min_jaccard) | (cont >= p.core_containment)
    if ents is not None:
        test = np.flatnonzero(ok & (cont < p.entity_free_containment))
        ok[test] = ents.same(head[test], rest[test], p)
    return ok


def verified_pairs(sig: np.ndarray, ns: np.ndarray, ents: EntitySketches | None, pairs: np.ndarray,
                   p: DedupParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The candidate ``pairs`` that are duplicates, and their estimated
    Jaccard and containment: similar enough (:func:`similar`), and their numbers and names
    agree unless the smaller one is almost all in the larger one
    (``entity_free_containment``)."""
    if not len(pairs):
        return pairs, np.empty(0), np.empty(0)
    jac, cont = estimate(sig, ns, pairs[:, 0], pairs[:, 1])
    ok = similar(jac, cont, np.minimum(ns[pairs[:, 0]], ns[pairs[:, 1]]), p)
    pairs, jac, cont = pairs[ok], jac[ok], cont[ok]
    if ents is not None and len(pairs):
        ok = cont >= p.entity_free_containment
        test = np.flatnonzero(~ok)
        ok[test] = ents.same(pairs[test, 0], pairs[test, 1], p)
        pairs, jac, cont = pairs[ok], jac[ok], cont[ok]
    return pairs, jac, cont


# What a caller that does not hold every signature hands to clustering: the
# rows (signatures, entity sketches or None) of some articles, by their
# numbers in rank order (``reps``' places), ascending.
RowLoader = Callable[[np.ndarray], "tuple[np.ndarray, np.ndarray | None]"]


def verify_some(pairs: np.ndarray, rows: RowLoader, n_shingles: np.ndarray, n_entities: np.ndarray,
                p: DedupParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`verified_pairs` of ``pairs`` (numbers in rank order) with only
    the rows of their ends loaded (``rows``); ``n_shingles`` / ``n_entities``
    are indexed by those numbers. The values are those of verifying against
    every signature: each pair's estimate reads its two rows only."""
    if not len(pairs):
        return pairs, np.empty(0), np.empty(0)
    ends = np.unique(pairs)
    sig, ents = rows(ends)
    local = np.searchsorted(ends, pairs)
    ns = np.asarray(n_shingles)[ends].astype(np.float64)
    sketches = EntitySketches(ents, np.asarray(n_entities)[ends], np.arange(len(ends))) if ents is not None else None
    kept, jac, cont = verified_pairs(sig, ns, sketches, local, p)
    return ends[kept], jac, cont
