"""Near-duplicate clusters of a batch: exact copies, LSH candidates,
verified pairs, components that follow versions, the canonical of each."""

from __future__ import annotations

import numpy as np

from .canonical import Clusters, most_complete_latest, relations
from .components import follow_versions, version_graph
from .lsh import candidate_pairs
from .params import DedupParams
from .verify import EntitySketches, RowLoader, estimate, verified_pairs


def cluster(
    signatures: np.ndarray | None,
    n_shingles: np.ndarray,
    exact_keys: list[str],
    ranks: list[tuple] | np.ndarray,
    params: DedupParams = DedupParams(),
    entities: np.ndarray | None = None,
    n_entities: np.ndarray | None = None,
    pairs: np.ndarray | None = None,
    verified: tuple[np.ndarray, np.ndarray, np.ndarray, int] | None = None,
    rows: RowLoader | None = None,
) -> Clusters:
    """Cluster articles into near-duplicate groups.

    ``ranks``: :func:`rank_key` per article (smaller is better), or the
    permutation that sorts the articles best first (an int array; then
    there are no dates, and the canonical is the best-ranked member).
    ``entities`` / ``n_entities``: entity sketches (uint32 [N, ENTITY_K])
    and counts, from :func:`~.shingles.fingerprints`; None skips the entity test.
    The result does not depend on the order of the input.
    ``pairs``: the LSH candidate pairs of step 2, computed elsewhere (int64
    [m, 2], indices of :func:`representatives`' ``reps``; from hash
    partitions of band keys, see :func:`~.lsh.bucket_pairs`); None computes
    them here from the signatures.
    ``verified``: steps 2 and 3 done elsewhere (:func:`~.verify.verify_some`
    per partition): the verified pairs (numbered as ``pairs``), their
    estimated Jaccard and containment, and how many candidates there were.
    ``rows``: instead of ``signatures`` / ``entities`` (then None), what
    loads the rows of some representatives (:data:`~.verify.RowLoader`):
    with ``verified``, only those of the articles in a verified pair are
    loaded, the only ones the clustering rule and step 5 read.

    1. Exact copies (same ``exact_keys``) fold into their best-ranked copy.
    2. LSH, band by band, over one representative per exact group.
    3. Candidates are verified: estimated Jaccard >= ``min_jaccard``, or
       containment >= ``min_containment`` (a truncated copy); and their
       numbers and names agree (``min_entity_containment``): the same
       sentences about another match, company or town are another story.
    4. Connected components of verified pairs, then split where they chain
       different stories (:func:`~.components.follow_versions`): the
       best-ranked member takes every member it reaches through verified
       pairs among members that share at least ``core_containment`` of
       their shingles with it and pass the entity test against it, or are
       almost all (``inside_containment``) inside a member that does; the
       rest repeat. So the versions of an updated story, each close to the
       next, stay one cluster even where the first and the last are only
       loosely alike, while two stories joined by one article close to both
       do not.
    5. Canonical: the most complete latest version, i.e. among the members
       with at least ``complete_share`` of the most words, the latest
       published (undated counts as earliest); ties by rank. Each member's
       relation to it is recorded (:data:`RELATIONS`).
    """
    n = len(exact_keys)
    if n == 0:
        return Clusters(np.arange(0), np.ones(0), np.ones(0), np.zeros(0, dtype=bool), 0, 0, np.zeros(0, dtype=np.int8))

    # 1. Exact duplicates: the best-ranked copy represents its group.
    _order, first_of, reps = representatives(exact_keys, ranks)
    dated = not (isinstance(ranks, np.ndarray) and ranks.dtype.kind in "iu")

    # 2. LSH over representatives, in rank order; 3. verify candidates.
    m = len(reps)
    ns = n_shingles[reps].astype(np.float64)
    if rows is None:
        sig = RepRows(signatures, reps)
        # Entity sketches stay where they are (no copy per representative):
        # the few pairs that need them index them through reps.
        ents = EntitySketches(entities, np.asarray(n_entities), reps) if entities is not None else None
    else:
        # An article in no verified pair is a cluster of its own: nothing
        # below reads its signature.
        needed = np.unique(verified[0]) if verified is not None else np.arange(m)
        sig_rows, ent_rows = rows(needed)
        place = np.full(m, -1, dtype=np.int64)
        place[needed] = np.arange(len(needed))
        sig = RepRows(sig_rows, place)
        ents = EntitySketches(ent_rows, np.asarray(n_entities)[reps[needed]], place) if ent_rows is not None else None
    if verified is None:
        if pairs is None:
            pairs = candidate_pairs(sig, *params.bands())
        n_candidates = len(pairs)
        pairs, jac, cont = verified_pairs(sig, ns, ents, pairs, params)
    else:
        pairs, jac, cont, n_candidates = verified
    n_verified = len(pairs)

    # 4. Components that follow versions, split where they chain stories;
    # 5. the canonical of each. Exact copies then follow their representative.
    stamp = [r[2] if not r[1] else "" for r in ranks] if dated else None
    words = np.array([-r[0] for r in ranks], dtype=np.int64)[reps] if dated else None
    rep_canon, rep_sim, rep_cont = clusters_of_representatives(
        pairs, jac, cont, ns, sig, ents, words, [stamp[k] for k in reps.tolist()] if dated else None, params)
    del pairs, jac, cont
    canonical, similarity, containment, exact, relation = fold_copies(first_of, reps, rep_canon, rep_sim, rep_cont,
                                                                      n_shingles, stamp, params)
    return Clusters(canonical, similarity, containment, exact, n_candidates, n_verified, relation)


def clusters_of_representatives(pairs: np.ndarray, jac: np.ndarray, cont: np.ndarray, ns: np.ndarray, sig, ents,
                                words: np.ndarray | None, stamp: list[str] | None,
                                params: DedupParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Steps 4 and 5 of :func:`cluster` over representatives numbered in
    rank order (``ns``, ``sig``, ``ents``, ``words``, ``stamp`` indexed by
    those numbers; ``words`` / ``stamp`` None: undated, the head is the
    canonical): each one's canonical, and its estimated Jaccard and
    containment against it. Every step reads the members of one component
    only and keeps their rank order, so the rule run on any set of whole
    components, numbered in the same order, gives those components' result."""
    m = len(ns)
    graph = version_graph(pairs, jac, cont, ns, m, params)
    rep_canon = follow_versions(graph, sig, ns, ents, params)
    del graph
    if words is not None:
        rep_canon = most_complete_latest(rep_canon, words, stamp, params)
    rep_sim = np.ones(m)
    rep_cont = np.ones(m)
    folded = np.flatnonzero(rep_canon != np.arange(m))
    if len(folded):
        rep_sim[folded], rep_cont[folded] = estimate(sig, ns, rep_canon[folded], folded)
    return rep_canon, rep_sim, rep_cont


def fold_copies(first_of: np.ndarray, reps: np.ndarray, rep_canon: np.ndarray, rep_sim: np.ndarray,
                rep_cont: np.ndarray, n_shingles: np.ndarray, stamp: list[str] | None,
                params: DedupParams) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every article's canonical, similarity, containment, exact flag and
    relation (:class:`Clusters`' fields) from its representative's
    (``first_of``: each article's representative; ``reps``: the
    representatives in the order of ``rep_canon``)."""
    n = len(first_of)
    canonical = np.arange(n)
    similarity = np.ones(n)
    containment = np.ones(n)
    exact = first_of != np.arange(n)
    canonical[reps] = reps[rep_canon]
    similarity[reps] = rep_sim
    containment[reps] = rep_cont
    copies = np.flatnonzero(exact)
    canonical[copies] = canonical[first_of[copies]]
    similarity[copies] = similarity[first_of[copies]]
    containment[copies] = containment[first_of[copies]]
    exact &= canonical == first_of
    # (An exact copy of another member takes that member's relation.)
    relation = relations(canonical, similarity, containment, exact, n_shingles, stamp, params)
    return canonical, similarity, containment, exact, relation


def representatives(exact_keys: list[str] | np.ndarray, ranks: list[tuple] | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The articles in rank order (``order``), the best-ranked copy of each
    one's exact group (``first_of``), and those representatives in rank
    order (``reps``): LSH and verification index representatives by their
    place in ``reps``. See :func:`cluster` for ``ranks``."""
    n = len(exact_keys)
    # Rank order, so that every tie is broken the same way whatever the
    # input order was.
    if isinstance(ranks, np.ndarray) and ranks.dtype.kind in "iu":
        order = ranks.astype(np.int64, copy=False)
    else:
        order = np.array(sorted(range(n), key=ranks.__getitem__), dtype=np.int64)
    first_of = np.empty(n, dtype=np.int64)
    if isinstance(exact_keys, np.ndarray):  # keys as ints: by key, then rank, in arrays
        place = np.empty(n, dtype=np.int64)
        place[order] = np.arange(n)
        by_key = np.lexsort((place, exact_keys))
        keys = exact_keys[by_key]
        starts = np.ones(n, dtype=bool)
        starts[1:] = keys[1:] != keys[:-1]
        first_of[by_key] = by_key[starts][np.cumsum(starts) - 1]
    else:
        rep_of: dict[str, int] = {}
        for k in order.tolist():
            first_of[k] = rep_of.setdefault(exact_keys[k], k)
        del rep_of
    return order, first_of, order[first_of[order] == order]


class RepRows:
    """The representatives' signatures in rank order, read through ``reps``
    instead of copied (at a million articles the copy is 512 MB): what
    LSH and the estimates index (rows, or all rows and some columns)."""

    def __init__(self, signatures: np.ndarray, reps: np.ndarray):
        self.signatures, self.reps = signatures, reps
        self.shape = (len(reps), signatures.shape[1])

    def __len__(self) -> int:
        return len(self.reps)

    def __getitem__(self, key):
        # np.take: several times faster than fancy indexing on a column slice.
        if isinstance(key, tuple):  # the columns first (a view), then the rows
            rows, cols = key
            return np.take(self.signatures[:, cols], self.reps[rows], axis=0)
        return np.take(self.signatures, self.reps[key], axis=0)
