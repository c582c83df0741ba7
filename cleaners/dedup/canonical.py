"""Canonical choice and the relation of each copy to its canonical."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .params import DedupParams


# How a duplicate relates to its canonical article (Clusters.relation).
RELATIONS = (
    "canonical",  # the kept article itself
    "exact",  # the same normalised token stream
    "near",  # the same text give or take leftovers and small edits (or no dates to tell versions apart)
    "earlier_version",  # published before the canonical, a version of it
    "later_version",  # published after the canonical, a version of it
    "truncated",  # a shorter copy, almost all of it in the canonical
    "containing",  # a longer copy holding almost all of the canonical
)


@dataclass
class Clusters:
    """Result of :func:`cluster` over ``N`` articles (indices into the input).

    ``canonical[k]`` is the index of the article ``k`` was folded into (itself
    for a canonical article); ``similarity`` / ``containment`` are estimated
    against that canonical (1.0 for itself); ``exact[k]`` says it is an exact
    copy *of its canonical* (a copy of another member is a near-duplicate of
    the canonical like that member, with its similarity); ``relation[k]``
    indexes :data:`RELATIONS`.
    """

    canonical: np.ndarray
    similarity: np.ndarray
    containment: np.ndarray
    exact: np.ndarray
    candidate_pairs: int
    verified_pairs: int
    relation: np.ndarray | None = None

    def relation_name(self, k: int) -> str:
        return RELATIONS[int(self.relation[k])]


def rank_key(words: int, published: str | None, id_: str) -> tuple:
    """Sort key, best first: most words, earliest date (undated last), id."""
    return (-words, published is None, published or "", id_)


def relations(canonical, similarity, containment, exact, n_shingles, published, p: DedupParams) -> np.ndarray:
    """:data:`RELATIONS` code of every article to its canonical."""
    n = len(canonical)
    rel = np.zeros(n, dtype=np.int8)
    dup = canonical != np.arange(n)
    size = n_shingles.astype(np.float64)
    csize = size[canonical]
    code = {name: k for k, name in enumerate(RELATIONS)}
    near = similarity >= 0.9
    truncated = (containment >= 0.9) & (size <= 0.8 * csize)
    containing = (containment >= 0.9) & (size * 0.8 >= csize)
    rel[dup] = code["near"]
    if published is not None:
        pub = np.array(published, dtype=object)
        cpub = pub[canonical]
        both = (pub != "") & (cpub != "")
        rel[dup & both & (pub < cpub)] = code["earlier_version"]
        rel[dup & both & (pub > cpub)] = code["later_version"]
    rel[dup & near] = code["near"]
    rel[dup & containing & ~near] = code["containing"]
    rel[dup & truncated & ~near] = code["truncated"]
    rel[dup & exact] = code["exact"]
    return rel


def most_complete_latest(head_of_rep: np.ndarray, words: np.ndarray, stamp: list[str], p: DedupParams) -> np.ndarray:
    """Each cluster's canonical: among the members with at least
    ``complete_share`` of the head's words (the head has the most), the
    latest ``stamp`` (publication time, "" when undated), ties to the
    better-ranked (smaller index). ``head_of_rep`` maps each article (in
    rank order) to its cluster's head; the result maps it to its canonical."""
    out = head_of_rep.copy()
    m = len(head_of_rep)
    heads = np.flatnonzero(np.bincount(head_of_rep, minlength=m) > 1)
    members = np.argsort(head_of_rep, kind="stable")
    starts = np.searchsorted(head_of_rep[members], heads)
    ends = np.searchsorted(head_of_rep[members], heads, side="right")
    for h, a, b in zip(heads.tolist(), starts.tolist(), ends.tolist()):
        group = members[a:b]  # rank order, head first
        full = group[words[group] >= p.complete_share * words[h]]
        best = max(full.tolist(), key=lambda x: (stamp[x], -x))
        if best != h:
            out[group] = best
    return out
