"""Clusters from verified pairs: connected components that follow a story
from version to version, split where they would chain different stories."""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .params import DedupParams
from .verify import EntitySketches, core


# Link flags in the version graph (bits of the weights).
VERIFIED = 1  # a verified pair
SAME_TEXT = 2  # ... at least same_text_jaccard similar
INSIDE = 4  # graph[x, y]: x is the smaller, and almost all of it is in y


def version_graph(pairs: np.ndarray, jac: np.ndarray, cont: np.ndarray, ns: np.ndarray, m: int, params: DedupParams):
    """The verified pairs of ``m`` articles as a sparse graph of link flags
    (:data:`VERIFIED`, :data:`SAME_TEXT`, :data:`INSIDE`): symmetric but for
    INSIDE, which says which side is the shorter text held in the longer."""
    i, j = pairs[:, 0], pairs[:, 1]
    base = np.where(jac >= params.same_text_jaccard, VERIFIED | SAME_TEXT, VERIFIED).astype(np.int8)
    inside = cont >= params.inside_containment
    i_in_j = base | np.where(inside & (ns[i] <= ns[j]), INSIDE, 0).astype(np.int8)
    j_in_i = base | np.where(inside & (ns[j] <= ns[i]), INSIDE, 0).astype(np.int8)
    return coo_matrix((np.concatenate([i_in_j, j_in_i]), (np.concatenate([i, j]), np.concatenate([j, i]))),
                      shape=(m, m)).tocsr()


def _inside_core(graph, xs: np.ndarray, core_set: np.ndarray) -> np.ndarray:
    """Which of ``xs`` are almost all inside a member of the core
    (``core_set``: a boolean mask over all articles)."""
    indptr, indices, flags = graph.indptr, graph.indices, graph.data
    out = np.zeros(len(xs), dtype=bool)
    for k, x in enumerate(xs.tolist()):
        lo, hi = indptr[x], indptr[x + 1]
        out[k] = bool((core_set[indices[lo:hi]] & ((flags[lo:hi] & INSIDE) != 0)).any())
    return out


def follow_versions(graph, sig: np.ndarray, ns: np.ndarray, ents: EntitySketches | None, params: DedupParams) -> np.ndarray:
    """The head of every article's cluster (an index into ``sig``, which is
    in rank order, so the head is the best-ranked member).

    The best-ranked member of a component takes every member it reaches
    through ``graph`` (:func:`version_graph`) among members that share at least
    ``core_containment`` of their shingles with it and pass the entity test
    against it (:func:`~.verify.core`); the rest repeat. A pair at least
    ``same_text_jaccard`` similar is followed whatever the core test says.
    So the versions of an updated story, each close to the next, stay one
    cluster even where the first and the last are only loosely alike, while
    two stories joined by one article close to both do not.

    The core also keeps a shorter text almost all inside one of its members
    (``inside_containment``, a verified pair): a copy cut short from an
    early version, whose lede the latest version rewrote, shares too little
    with the latest to pass the core test itself, yet it is that early
    version's text. It must be inside a core member, not merely linked to
    one, so a text that only shares a passage with the story stays out.
    """
    m = len(sig)
    head_of_rep = np.arange(m)
    if not graph.nnz:
        return head_of_rep
    _, labels = connected_components(graph, directed=False)
    sizes = np.bincount(labels)
    multi = np.flatnonzero(sizes[labels] > 1)  # ascending = rank order
    by_label = multi[np.argsort(labels[multi], kind="stable")]
    bounds = np.flatnonzero(np.diff(labels[by_label])) + 1
    # First, every component at once: each member against its head. Most
    # components hold together (every member passes), and a pair cannot
    # chain anything.
    starts = np.concatenate([[0], bounds])
    head_of = np.repeat(by_label[starts], np.diff(np.concatenate([starts, [len(by_label)]])))
    member = by_label != head_of
    ok = np.ones(len(by_label), dtype=bool)
    ok[member] = core(sig, ns, ents, head_of[member], by_label[member], params)
    if not ok.all():
        in_core = np.zeros(m, dtype=bool)
        in_core[by_label[ok]] = True
        rescue = np.flatnonzero(~ok)
        ok[rescue] = _inside_core(graph, by_label[rescue], in_core)
    failed = np.zeros(m, dtype=bool)
    failed[head_of[~ok]] = True
    whole = ~failed[head_of]
    head_of_rep[by_label[whole]] = head_of[whole]
    split = by_label[~whole]
    if len(split):
        for comp in np.split(split, np.flatnonzero(np.diff(labels[split])) + 1):
            _split(comp, graph, sig, ns, ents, params, head_of_rep)
    return head_of_rep


def _split(comp: np.ndarray, graph, sig, ns, ents, params: DedupParams, head_of_rep: np.ndarray) -> None:
    """One component that does not hold together: heads in rank order, each
    taking what it reaches through members that pass its core test."""
    indptr, indices, flags = graph.indptr, graph.indices, graph.data
    remaining = comp
    while len(remaining) > 1:
        head, rest = remaining[0], remaining[1:]
        ok = core(sig, ns, ents, np.full(len(rest), head), rest, params)
        in_core = np.zeros(graph.shape[0], dtype=bool)
        in_core[rest[ok]] = True
        in_core[head] = True
        ok[~ok] = _inside_core(graph, rest[~ok], in_core)
        allowed = set(rest[ok].tolist())
        pending = set(rest.tolist())
        taken = {int(head)}
        stack = [int(head)]
        while stack:
            x = stack.pop()
            lo, hi = indptr[x], indptr[x + 1]
            for y, f in zip(indices[lo:hi].tolist(), flags[lo:hi].tolist()):
                # A member that is the same text as one taken comes along
                # even if its own estimate against the head fell short:
                # copies of one text stay together.
                if y in pending and y not in taken and (y in allowed or f & SAME_TEXT):
                    taken.add(y)
                    stack.append(y)
        taken.discard(int(head))
        if taken:
            head_of_rep[np.fromiter(taken, dtype=np.int64)] = head
        remaining = np.array([x for x in rest.tolist() if x not in taken], dtype=np.int64)
