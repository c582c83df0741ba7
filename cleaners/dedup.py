"""Stage 5, near-duplicates: MinHash signatures, banded LSH, verified clusters.

The pieces, each usable on its own:

* :func:`tokens` / :func:`shingle_hashes`: word shingles of normalised text as
  32-bit hashes (token hashes are computed once per distinct token and mixed
  into shingle hashes with numpy).
* :class:`Signer`: MinHash signatures with datasketch's ``affine32`` scheme.
  The permutations *are* datasketch's (``MinHash(num_perm, seed)``), applied
  to a whole article's shingles in one numpy expression; a signature equals
  ``datasketch.MinHash(hashfunc=<our shingle hash>).update_batch(...)``
  (a test checks it), so signatures can be handed to ``MinHashLSH``.
* :func:`band_candidates`: one LSH band's candidate pairs. Bands are
  independent, so they can be computed anywhere and concatenated.
* :func:`cluster`: exact duplicates first, then LSH candidates confirmed by a
  similarity check, then clusters refined so that every member is similar to
  its canonical article (not merely to a neighbour of a neighbour).

Canonical rule (:func:`rank_key`): the most complete clean text (most words),
then the earliest ``published`` date, then the smallest id. The rule depends
only on the articles, never on input order, so one run over a corpus and
several incremental runs over its parts give the same clusters.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import regex
import xxhash
from datasketch import MinHash
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

_TOKEN = regex.compile(r"[\p{L}\p{N}]+")


def tokens(text: str) -> list[str]:
    """Lower-cased letter/digit runs: punctuation, quotes and spacing, which
    copies of one story edit freely, do not count."""
    return _TOKEN.findall(text.lower())


def text_hash(toks: list[str]) -> str:
    """Exact-duplicate key: the normalised token stream."""
    return hashlib.blake2b(" ".join(toks).encode("utf-8"), digest_size=16).hexdigest()


# Odd 32-bit multipliers that mix token positions into a shingle hash.
_MIX = np.array([0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D, 0x27D4EB2F, 0x165667B1, 0xD3A2646C | 1, 0xFD7046C5, 0xB55A4F09], dtype=np.uint32)


def shingle_hashes(toks: list[str], k: int, cache: dict[str, int] | None = None) -> np.ndarray:
    """Distinct 32-bit hashes of the word ``k``-grams of ``toks``.

    Texts shorter than ``k`` tokens get one shingle of the whole text, so
    that a short text still has a signature.
    """
    if not toks:
        return np.empty(0, dtype=np.uint32)
    if cache is None:
        th = np.fromiter((xxhash.xxh32_intdigest(t.encode("utf-8")) for t in toks), dtype=np.uint32, count=len(toks))
    else:
        get = cache.get
        vals = []
        for t in toks:
            h = get(t)
            if h is None:
                h = cache[t] = xxhash.xxh32_intdigest(t.encode("utf-8"))
            vals.append(h)
        th = np.array(vals, dtype=np.uint32)
    k = min(k, len(th))
    n = len(th) - k + 1
    with np.errstate(over="ignore"):
        acc = th[:n] * _MIX[0]
        for j in range(1, k):
            acc = (acc ^ (acc >> np.uint32(15))) + th[j : j + n] * _MIX[j % len(_MIX)]
    return np.unique(acc)


def _fmix32(h: np.ndarray) -> np.ndarray:
    # MurmurHash3's finalizer, as datasketch applies it before permuting.
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


class Signer:
    """MinHash signatures (datasketch ``affine32`` scheme) for many articles."""

    EMPTY = np.uint32(0xFFFFFFFF)

    def __init__(self, num_perm: int = 128, seed: int = 1):
        self.num_perm = num_perm
        self.seed = seed
        a, b = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
        self._a = np.asarray(a, dtype=np.uint32)
        self._b = np.asarray(b, dtype=np.uint32)

    def sign(self, hashes: np.ndarray, chunk: int = 2048) -> np.ndarray:
        """Signature of one set of 32-bit shingle hashes (uint32[num_perm])."""
        out = np.full(self.num_perm, self.EMPTY, dtype=np.uint32)
        if hashes.size == 0:
            return out
        mixed = _fmix32(hashes.astype(np.uint32, copy=False))
        with np.errstate(over="ignore"):
            # Chunked so a huge article does not allocate shingles x perms at once.
            for start in range(0, mixed.size, chunk):
                part = mixed[start : start + chunk, None] * self._a + self._b
                np.minimum(out, part.min(axis=0), out=out)
        return out

    def to_minhash(self, signature: np.ndarray) -> MinHash:
        """The same signature as a datasketch object (for MinHashLSH & co)."""
        return MinHash(
            num_perm=self.num_perm,
            seed=self.seed,
            hashvalues=signature,
            permutations=(self._a, self._b),
            scheme="affine32",
        )


@lru_cache(maxsize=32)
def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) minimising false positives + false negatives at
    ``threshold``, as datasketch's ``MinHashLSH`` derives them."""
    from datasketch.lsh import _optimal_param

    return _optimal_param(threshold, num_perm, 0.5, 0.5)


_BAND_MULT = np.uint64(0x9E3779B97F4A7C15)


def band_keys(signatures: np.ndarray, band: int, rows: int) -> np.ndarray:
    """One 64-bit bucket key per article for band ``band``: the band's rows
    folded with a multiply-xor (vectorised; signature values are already
    well-mixed hashes, so distinct rows collide with negligible probability)."""
    block = signatures[:, band * rows : (band + 1) * rows].astype(np.uint64)
    key = np.zeros(len(block), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for c in range(block.shape[1]):
            key = (key ^ block[:, c]) * _BAND_MULT
            key ^= key >> np.uint64(31)
    return key


def band_candidates(signatures: np.ndarray, band: int, rows: int) -> np.ndarray:
    """Candidate pairs ``(i, j)`` (``i < j``) from one band: every article in a
    bucket is paired with the bucket's first (lowest-index) member.

    Star pairs keep the count linear in bucket size; articles that share a
    bucket but not with its first member meet in other bands or through the
    first member during clustering.
    """
    keys = band_keys(signatures, band, rows)
    order = np.argsort(keys, kind="stable")
    sk = keys[order]
    if len(sk) < 2:
        return np.empty((0, 2), dtype=np.int64)
    new_run = np.empty(len(sk), dtype=bool)
    new_run[0] = True
    new_run[1:] = sk[1:] != sk[:-1]
    run_id = np.cumsum(new_run) - 1
    first = order[new_run][run_id]
    mask = ~new_run
    pairs = np.stack([first[mask], order[mask]], axis=1)
    return np.sort(pairs, axis=1)


@dataclass(frozen=True)
class DedupParams:
    """Defaults chosen on real copies (extractions of one page by different
    tools): index low, then verify, so copies with different leftovers are
    found without chaining unrelated stories together."""

    num_perm: int = 128
    shingle_size: int = 3
    seed: int = 1
    # LSH is tuned for this Jaccard; candidates below it are mostly missed.
    lsh_threshold: float = 0.3
    # (bands, rows) override; None derives them from lsh_threshold.
    bands_rows: tuple[int, int] | None = None
    # A candidate is a duplicate if its estimated Jaccard reaches this ...
    min_jaccard: float = 0.5
    # ... or if this share of the smaller article's shingles is in the larger
    # one (a truncated copy); only for articles of at least min_shingles.
    min_containment: float = 0.8
    min_shingles: int = 20

    def bands(self) -> tuple[int, int]:
        return self.bands_rows or lsh_params(self.lsh_threshold, self.num_perm)


def estimate(sig: np.ndarray, n: np.ndarray, i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Estimated Jaccard and containment (smaller in larger) of pairs.

    Containment follows from Jaccard and the set sizes:
    |A∩B| = J / (1 + J) · (|A| + |B|).
    """
    jac = (sig[i] == sig[j]).mean(axis=1)
    inter = jac / (1.0 + jac) * (n[i] + n[j])
    smaller = np.minimum(n[i], n[j]).astype(np.float64)
    cont = np.divide(inter, smaller, out=np.zeros_like(inter), where=smaller > 0)
    return jac, np.minimum(cont, 1.0)


@dataclass
class Clusters:
    """Result of :func:`cluster` over ``N`` articles (indices into the input).

    ``canonical[k]`` is the index of the article ``k`` was folded into (itself
    for a canonical article); ``similarity`` / ``containment`` are estimated
    against that canonical (1.0 for itself); ``exact[k]`` says it was an exact
    copy.
    """

    canonical: np.ndarray
    similarity: np.ndarray
    containment: np.ndarray
    exact: np.ndarray
    candidate_pairs: int
    verified_pairs: int


def rank_key(words: int, published: str | None, id_: str) -> tuple:
    """Sort key, best first: most words, earliest date (undated last), id."""
    return (-words, published is None, published or "", id_)


def cluster(
    signatures: np.ndarray,
    n_shingles: np.ndarray,
    exact_keys: list[str],
    ranks: list[tuple],
    params: DedupParams = DedupParams(),
) -> Clusters:
    """Cluster articles into near-duplicate groups.

    ``ranks``: :func:`rank_key` per article (smaller is better).
    The result does not depend on the order of the input.
    """
    n = len(exact_keys)
    canonical = np.arange(n)
    similarity = np.ones(n)
    containment = np.ones(n)
    exact = np.zeros(n, dtype=bool)
    if n == 0:
        return Clusters(canonical, similarity, containment, exact, 0, 0)

    # Work in rank order so that every tie is broken the same way whatever
    # the input order was.
    order = sorted(range(n), key=lambda k: ranks[k])
    pos = np.empty(n, dtype=np.int64)
    pos[order] = np.arange(n)

    # 1. Exact duplicates: the best-ranked copy represents its group.
    rep_of: dict[str, int] = {}
    reps: list[int] = []
    for k in order:
        r = rep_of.setdefault(exact_keys[k], k)
        if r == k:
            reps.append(k)
        else:
            canonical[k] = r
            exact[k] = True

    # 2. LSH over representatives, in rank order; 3. verify candidates.
    rep_idx = np.array(reps, dtype=np.int64)
    sig = signatures[rep_idx]
    ns = n_shingles[rep_idx].astype(np.float64)
    bands, rows = params.bands()
    pair_list = [band_candidates(sig, b, rows) for b in range(bands)]
    pairs = np.unique(np.concatenate(pair_list), axis=0) if pair_list else np.empty((0, 2), dtype=np.int64)
    candidate_pairs = len(pairs)
    if len(pairs):
        jac, cont = estimate(sig, ns, pairs[:, 0], pairs[:, 1])
        ok = _similar(jac, cont, np.minimum(ns[pairs[:, 0]], ns[pairs[:, 1]]), params)
        pairs = pairs[ok]
    verified_pairs = len(pairs)

    # 4. Components of verified pairs, then greedy canonical refinement: the
    # best-ranked member takes everything similar to *it*; the rest repeat.
    m = len(reps)
    graph = coo_matrix((np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(m, m))
    n_comp, labels = connected_components(graph, directed=False)
    members_of: dict[int, list[int]] = {}
    for local in np.flatnonzero(np.bincount(labels, minlength=n_comp)[labels] > 1):
        members_of.setdefault(int(labels[local]), []).append(int(local))
    rep_canon = np.arange(m)
    rep_sim = np.ones(m)
    rep_cont = np.ones(m)
    for members in members_of.values():
        remaining = np.array(members, dtype=np.int64)  # already in rank order
        while len(remaining) > 1:
            head, rest = remaining[0], remaining[1:]
            jac, cont = estimate(sig, ns, np.full(len(rest), head), rest)
            ok = _similar(jac, cont, np.minimum(ns[head], ns[rest]), params)
            rep_canon[rest[ok]] = head
            rep_sim[rest[ok]] = jac[ok]
            rep_cont[rest[ok]] = cont[ok]
            remaining = rest[~ok]

    # Map back to input indices; exact copies follow their representative.
    for local, k in enumerate(reps):
        c = reps[rep_canon[local]]
        canonical[k] = c
        similarity[k] = rep_sim[local]
        containment[k] = rep_cont[local]
    for k in range(n):
        if exact[k]:
            r = canonical[k]
            canonical[k] = canonical[r]
            similarity[k] = similarity[r]
            containment[k] = containment[r]
    return Clusters(canonical, similarity, containment, exact, candidate_pairs, verified_pairs)


def _similar(jac: np.ndarray, cont: np.ndarray, smaller: np.ndarray, p: DedupParams) -> np.ndarray:
    return (jac >= p.min_jaccard) | ((cont >= p.min_containment) & (smaller >= p.min_shingles))
