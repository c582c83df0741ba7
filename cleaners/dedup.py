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
* :func:`entity_mask` / :func:`entity_sketch`: the numbers and names of a
  text, as a bottom-k sketch: what tells one templated story (a result, a
  market report, a weather report) from another filled into the same
  sentences.
* :func:`cluster`: exact duplicates first, then LSH candidates confirmed by a
  similarity check and an entity check, then components of confirmed pairs
  that follow a story from version to version, split where they would chain
  different stories (every member must share a core with the cluster's most
  complete article).

Canonical rule: the most complete latest version. Articles are ranked by
:func:`rank_key` (most words, then the earliest ``published``, then the
smallest id); within a cluster, among the members with at least 90 % of the
most words, the latest published is the canonical. Each copy records how it
relates to it (:data:`RELATIONS`). The rules depend only on the articles,
never on input order, so one run over a corpus and several incremental runs
over its parts give the same clusters.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from datasketch import MinHash
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

# Bumped whenever tokens or shingle hashes change: signatures kept by earlier
# runs are only comparable with signatures made the same way.
SIGNATURE_VERSION = 4

# Tokens are found and hashed on the UTF-8 bytes of the lower-cased text with
# numpy, never as Python strings: a regex that builds one string per word
# costs more than all the rest of shingling and signing together.
#
# A token is a maximal run of word bytes: ASCII letters and digits, and
# every byte of a non-ASCII character except the punctuation and symbols of
# U+0080-U+00BF (no-break space, guillemets, ...) and U+2000-U+206F
# (typographic quotes, dashes, ellipsis, ...). Copies of one story that
# differ in quote style, dashes or spacing have the same tokens.
_WORD_BYTE = np.zeros(256, dtype=bool)
_WORD_BYTE[ord("0") : ord("9") + 1] = True
_WORD_BYTE[ord("a") : ord("z") + 1] = True
_WORD_BYTE[0x80:] = True
# Polynomial token hash: sum of byte_i * P**i over the token's bytes (mod
# 2**64), then a 64-bit mixer. With prefix sums of byte_j * P**j over the
# whole text, every token's hash is one subtraction and one multiplication
# by P**-start (P is odd, so it has an inverse mod 2**64).
_P = 0x100000001B3
_powers: list[np.ndarray] = []


def _power_tables(n: int) -> tuple[np.ndarray, np.ndarray]:
    """P**i and P**-i (mod 2**64) for i < n, grown on demand and kept."""
    if not _powers or len(_powers[0]) < n:
        size = max(1 << 14, 1 << (n - 1).bit_length())
        with np.errstate(over="ignore"):
            pw = np.cumprod(np.full(size, _P, dtype=np.uint64))
            inv = np.cumprod(np.full(size, pow(_P, -1, 1 << 64), dtype=np.uint64))
        pw = np.concatenate([[np.uint64(1)], pw[:-1]])
        inv = np.concatenate([[np.uint64(1)], inv[:-1]])
        _powers[:] = [pw, inv]
    return _powers[0], _powers[1]


def _word_spans(text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The lower-cased text's UTF-8 bytes and its tokens' start and end
    offsets."""
    lowered = text.lower()
    b = np.frombuffer(lowered.encode("utf-8"), dtype=np.uint8)
    w = np.zeros(len(b) + 2, dtype=bool)
    word = w[1:-1]
    np.take(_WORD_BYTE, b, out=word)
    if not lowered.isascii():
        if len(b) >= 2:
            lead = np.flatnonzero(b[:-1] == 0xC2)  # U+0080-U+00BF
            word[lead] = False
            word[lead + 1] = False
        if len(b) >= 3:
            lead = np.flatnonzero(b[:-2] == 0xE2)
            lead = lead[(b[lead + 1] & 0xFE) == 0x80]  # U+2000-U+207F
            word[lead] = False
            word[lead + 1] = False
            word[lead + 2] = False
    edges = np.flatnonzero(w[1:] != w[:-1])
    return b, edges[0::2], edges[1::2]


def token_hashes(text: str) -> np.ndarray:
    """64-bit hashes of the tokens of ``text``, in order (uint64)."""
    return _hash_spans(*_word_spans(text))


def _hash_spans(b: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    if not len(starts):
        return np.empty(0, dtype=np.uint64)
    pw, inv = _power_tables(len(b) + 1)
    with np.errstate(over="ignore"):
        prefix = np.empty(len(b) + 1, dtype=np.uint64)
        prefix[0] = 0
        np.cumsum(b * pw[: len(b)], out=prefix[1:])
        h = (prefix[ends] - prefix[starts]) * inv[starts]
        h += (ends - starts).astype(np.uint64)
        return _fmix64(h)


def _fmix64(h: np.ndarray) -> np.ndarray:
    # MurmurHash3's 64-bit finalizer: every input bit reaches every output bit.
    h = h ^ (h >> np.uint64(33))
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    return h


def tokens(text: str) -> list[str]:
    """The tokens of ``text`` as strings (what :func:`token_hashes` hashes;
    for inspection and tests, the pipeline never builds them)."""
    b, starts, ends = _word_spans(text)
    raw = b.tobytes()
    return [raw[s:e].decode("utf-8", errors="replace") for s, e in zip(starts.tolist(), ends.tolist())]


def text_hash(th: np.ndarray) -> str:
    """Exact-duplicate key: the normalised token stream (its token hashes)."""
    return hashlib.blake2b(np.ascontiguousarray(th, dtype=np.uint64).tobytes(), digest_size=16).hexdigest()


# Odd 32-bit multipliers that mix token positions into a shingle hash.
_MIX = np.array([0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D, 0x27D4EB2F, 0x165667B1, 0xD3A2646C | 1, 0xFD7046C5, 0xB55A4F09], dtype=np.uint32)


def shingle_hashes(th: np.ndarray, k: int) -> np.ndarray:
    """Distinct 32-bit hashes of the word ``k``-grams, from the token hashes
    ``th`` (:func:`token_hashes`), sorted.

    Texts shorter than ``k`` tokens get one shingle of the whole text, so
    that a short text still has a signature.
    """
    if not len(th):
        return np.empty(0, dtype=np.uint32)
    t32 = (th >> np.uint64(32)).astype(np.uint32)
    k = min(k, len(t32))
    n = len(t32) - k + 1
    with np.errstate(over="ignore"):
        acc = t32[:n] * _MIX[0]
        for j in range(1, k):
            acc = (acc ^ (acc >> np.uint32(15))) + t32[j : j + n] * _MIX[j % len(_MIX)]
    # sort + neighbour test: several times faster than np.unique at this size.
    acc.sort()
    keep = np.empty(len(acc), dtype=bool)
    keep[0] = True
    np.not_equal(acc[1:], acc[:-1], out=keep[1:])
    return acc[keep]


@dataclass(frozen=True)
class Fingerprint:
    """What dedup needs of one article's text."""

    shingles: np.ndarray  # distinct shingle hashes (uint32, sorted)
    exact: str  # exact-duplicate key
    tokens: int  # number of tokens
    entities: np.ndarray  # entity sketch (uint32[ENTITY_K], see entity_sketch)
    n_entities: int  # distinct entity tokens


# Entity tokens: numbers and names, what tells one templated story from
# another. Copies and versions of one story carry the same scores, prices,
# temperatures and names; a sports result, a market report or a weather
# report filled into the same sentences carries others. A token is an entity
# if it holds a digit, or starts with a capital letter (ASCII) and does not
# open a sentence or a line (an opening capital says nothing).
_DIGIT = np.zeros(256, dtype=bool)
_DIGIT[ord("0") : ord("9") + 1] = True
_UPPER = np.zeros(256, dtype=bool)
_UPPER[ord("A") : ord("Z") + 1] = True
_OPENER = np.zeros(256, dtype=bool)  # a token after one of these opens a sentence
for _c in '.!?:;"\n\u201c([':
    if ord(_c) < 128:
        _OPENER[ord(_c)] = True
_SPACE = np.zeros(256, dtype=bool)
for _c in " \t\r'*-#>":
    _SPACE[ord(_c)] = True
ENTITY_K = 24


def entity_mask(text: str, b: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Which tokens (spans of ``b``, the lower-cased UTF-8 of ``text``) are
    entities: numbers and mid-sentence capitalised words."""
    if not len(starts):
        return np.zeros(0, dtype=bool)
    digits = np.concatenate([[0], np.cumsum(_DIGIT[b])])
    mask = digits[ends] > digits[starts]
    orig = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    if len(orig) == len(b):  # lower() kept every byte offset (always for ASCII)
        # The last byte before each token that is not a space or a quote.
        solid = np.flatnonzero(~_SPACE[orig])
        at = np.searchsorted(solid, starts) - 1
        prev = np.where(at >= 0, orig[solid[np.maximum(at, 0)]], ord("\n"))
        mask |= _UPPER[orig[starts]] & ~_OPENER[prev]
    return mask


def entity_sketch(hashes: np.ndarray) -> np.ndarray:
    """The ENTITY_K smallest of a set of 32-bit entity token hashes, sorted,
    padded with 0xFFFFFFFF (a bottom-k sketch: exact for the few numbers
    and names of a short report, a fair sample of a long article's).
    Not a MinHash: with a dozen entities a 16-value MinHash is too coarse
    to tell two weather reports apart."""
    out = np.full(ENTITY_K, 0xFFFFFFFF, dtype=np.uint32)
    h = np.unique(hashes.astype(np.uint32, copy=False))[:ENTITY_K]
    out[: len(h)] = h
    return out


def fingerprint(text: str, k: int) -> Fingerprint:
    b, starts, ends = _word_spans(text)
    th = _hash_spans(b, starts, ends)
    ent = th[entity_mask(text, b, starts, ends)]
    ent = np.unique(_fmix32((ent >> np.uint64(32)).astype(np.uint32)))
    return Fingerprint(shingle_hashes(th, k), text_hash(th), len(th), entity_sketch(ent), int(ent.size))


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

    def sign(self, hashes: np.ndarray, chunk: int = 4096) -> np.ndarray:
        """Signature of one set of 32-bit shingle hashes (uint32[num_perm])."""
        out = np.full(self.num_perm, self.EMPTY, dtype=np.uint32)
        if hashes.size == 0:
            return out
        mixed = _fmix32(hashes.astype(np.uint32, copy=False))
        a, b = self._a[:, None], self._b[:, None]
        with np.errstate(over="ignore"):
            # perms x shingles, reduced along the contiguous axis (faster
            # than shingles x perms); chunked so a huge article does not
            # allocate it all at once.
            for start in range(0, mixed.size, chunk):
                part = a * mixed[None, start : start + chunk]
                part += b
                np.minimum(out, part.min(axis=1), out=out)
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
    block = signatures[:, band * rows : (band + 1) * rows]
    key = np.zeros(len(block), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for c in range(block.shape[1]):
            key ^= block[:, c].astype(np.uint64)
            key *= _BAND_MULT
            key ^= key >> np.uint64(31)
    return key


def band_candidates(signatures: np.ndarray, band: int, rows: int) -> np.ndarray:
    """Candidate pairs ``(i, j)`` (``i < j``) from one band.

    In each bucket, every member is paired with the bucket's first (lowest
    index) member and with its predecessor. Pass signatures in rank order and
    the first member is the bucket's best article, the likely canonical.
    Linear in bucket size, so a bucket of a million boilerplate-only texts
    costs two million pairs, not half a trillion. Bands are independent: run
    them anywhere, concatenate the results.
    """
    keys = band_keys(signatures, band, rows)
    if len(keys) < 2:
        return np.empty((0, 2), dtype=np.int64)
    order = np.argsort(keys, kind="stable")
    sk = keys[order]
    new_run = np.empty(len(sk), dtype=bool)
    new_run[0] = True
    np.not_equal(sk[1:], sk[:-1], out=new_run[1:])
    run_id = np.cumsum(new_run) - 1
    first = order[new_run][run_id]
    same = np.flatnonzero(~new_run)
    star = np.stack([first[same], order[same]], axis=1)
    prev = np.stack([order[same - 1], order[same]], axis=1)
    prev = prev[prev[:, 0] != first[same]]
    pairs = np.concatenate([star, prev])
    pairs.sort(axis=1)
    return pairs


def _pair_codes(pairs: np.ndarray) -> np.ndarray:
    return (pairs[:, 0].astype(np.uint64) << np.uint64(32)) | pairs[:, 1].astype(np.uint64)


def candidate_pairs(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """Distinct candidate pairs over all bands (int64 [m, 2], sorted).

    Pairs are packed into one uint64 each, so memory is 8 bytes per pair per
    band at most and the union is one 1-D sort.
    """
    if len(signatures) >= 1 << 32:
        raise ValueError("more than 2**32 articles in one clustering")
    codes = np.unique(np.concatenate([_pair_codes(band_candidates(signatures, b, rows)) for b in range(bands)]
                                     or [np.empty(0, dtype=np.uint64)]))
    out = np.empty((len(codes), 2), dtype=np.int64)
    out[:, 0] = codes >> np.uint64(32)
    out[:, 1] = codes & np.uint64(0xFFFFFFFF)
    return out


@dataclass(frozen=True)
class DedupParams:
    """Defaults chosen on real copies (extractions of one page by different
    tools) and on the tuning half of the dev benchmark
    (``benchmarks/dedup_dev.py``): index low, then verify, so copies with
    different leftovers are found without chaining unrelated stories
    together."""

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
    # Not lower: on the real copies 0.7 finds a few more copies, but on BBC
    # it also merges rewritten follow-ups that share two thirds of their text.
    min_containment: float = 0.8
    min_shingles: int = 20
    # Versions of one text, not one template: a pair is a duplicate only if
    # this share of the smaller one's entities (numbers, names) is in the
    # larger one's, when both have at least min_entities of them.
    min_entity_containment: float = 0.7
    min_entities: int = 4
    # ... unless this share of the smaller one's shingles is in the larger:
    # then the text itself says copy, and entities in leftovers (captions,
    # a gallery's credits) that one copy kept and the other lost must not
    # split it off.
    entity_free_containment: float = 0.95
    # A cluster follows verified pairs from version to version, but every
    # member must still hold this share of its shingles in common with the
    # cluster's best article (smaller in larger) and pass the entity test
    # against it: a chain of versions stays one cluster, a chain of
    # different stories through a shared neighbour does not.
    core_containment: float = 0.5
    # Verified pairs at least this similar are the same text: followed
    # whatever the core test says (one copy of a text never goes to another
    # cluster than its twin).
    same_text_jaccard: float = 0.8
    # Canonical: among the members with at least this share of the most
    # complete member's words, the latest published.
    complete_share: float = 0.9

    def bands(self) -> tuple[int, int]:
        return self.bands_rows or lsh_params(self.lsh_threshold, self.num_perm)


def estimate(sig: np.ndarray, n: np.ndarray, i: np.ndarray, j: np.ndarray, chunk: int = 1 << 18) -> tuple[np.ndarray, np.ndarray]:
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


def cluster(
    signatures: np.ndarray,
    n_shingles: np.ndarray,
    exact_keys: list[str],
    ranks: list[tuple] | np.ndarray,
    params: DedupParams = DedupParams(),
    entities: np.ndarray | None = None,
    n_entities: np.ndarray | None = None,
) -> Clusters:
    """Cluster articles into near-duplicate groups.

    ``ranks``: :func:`rank_key` per article (smaller is better), or the
    permutation that sorts the articles best first (an int array; then
    there are no dates, and the canonical is the best-ranked member).
    ``entities`` / ``n_entities``: entity sketches (uint32 [N, ENTITY_K])
    and counts, from :func:`fingerprint`; None skips the entity test.
    The result does not depend on the order of the input.

    1. Exact copies (same ``exact_keys``) fold into their best-ranked copy.
    2. LSH, band by band, over one representative per exact group.
    3. Candidates are verified: estimated Jaccard >= ``min_jaccard``, or
       containment >= ``min_containment`` (a truncated copy); and their
       numbers and names agree (``min_entity_containment``): the same
       sentences about another match, company or town are another story.
    4. Connected components of verified pairs, then split where they chain
       different stories: the best-ranked member takes every member it
       reaches through verified pairs among members that share at least
       ``core_containment`` of their shingles with it and pass the entity
       test against it;
       the rest repeat. So the versions of an updated story, each close to
       the next, stay one cluster even where the first and the last are only
       loosely alike, while two stories joined by one article close to both
       do not.
    5. Canonical: the most complete latest version, i.e. among the members
       with at least ``complete_share`` of the most words, the latest
       published (undated counts as earliest); ties by rank. Each member's
       relation to it is recorded (:data:`RELATIONS`).
    """
    n = len(exact_keys)
    canonical = np.arange(n)
    similarity = np.ones(n)
    containment = np.ones(n)
    exact = np.zeros(n, dtype=bool)
    relation = np.zeros(n, dtype=np.int8)
    if n == 0:
        return Clusters(canonical, similarity, containment, exact, 0, 0, relation)

    # Work in rank order so that every tie is broken the same way whatever
    # the input order was.
    dated = not (isinstance(ranks, np.ndarray) and ranks.dtype.kind in "iu")
    if not dated:
        order = ranks.astype(np.int64, copy=False)
    else:
        order = np.array(sorted(range(n), key=ranks.__getitem__), dtype=np.int64)

    # 1. Exact duplicates: the best-ranked copy represents its group.
    rep_of: dict[str, int] = {}
    first_of = np.empty(n, dtype=np.int64)
    for k in order.tolist():
        first_of[k] = rep_of.setdefault(exact_keys[k], k)
    del rep_of
    is_rep = first_of[order] == order
    reps = order[is_rep]  # rank order
    exact[first_of != np.arange(n)] = True

    # 2. LSH over representatives, in rank order; 3. verify candidates.
    sig = signatures[reps]
    ns = n_shingles[reps].astype(np.float64)
    # Entity sketches stay where they are (no copy per representative):
    # the few pairs that need them index them through reps.
    ents = _Reindexed(entities, np.asarray(n_entities), reps) if entities is not None else None
    bands, rows = params.bands()
    pairs = candidate_pairs(sig, bands, rows)
    n_candidates = len(pairs)
    jac = np.empty(0)
    if len(pairs):
        jac, cont = estimate(sig, ns, pairs[:, 0], pairs[:, 1])
        ok = _similar(jac, cont, np.minimum(ns[pairs[:, 0]], ns[pairs[:, 1]]), params)
        pairs, jac, cont = pairs[ok], jac[ok], cont[ok]
        if ents is not None and len(pairs):
            ok = cont >= params.entity_free_containment
            test = np.flatnonzero(~ok)
            ok[test] = ents.same(pairs[test, 0], pairs[test, 1], params)
            pairs, jac = pairs[ok], jac[ok]
        del cont
    n_verified = len(pairs)

    # 4. Components, then split where they chain different stories.
    m = len(reps)
    rep_canon = np.arange(m)
    if n_verified:
        strong = (jac >= params.same_text_jaccard).astype(np.int8) + 1  # 2: the same text
        graph = coo_matrix((strong, (pairs[:, 0], pairs[:, 1])), shape=(m, m)).tocsr()
        graph = (graph + graph.T).tocsr()
        del pairs
        _, labels = connected_components(graph, directed=False)
        sizes = np.bincount(labels)
        multi = np.flatnonzero(sizes[labels] > 1)  # ascending = rank order
        by_label = multi[np.argsort(labels[multi], kind="stable")]
        bounds = np.flatnonzero(np.diff(labels[by_label])) + 1
        indptr, indices, weight = graph.indptr, graph.indices, graph.data
        # First, every component at once: each member against its head (the
        # best-ranked member). Most components hold together (every member
        # passes), and a pair cannot chain anything.
        starts = np.concatenate([[0], bounds])
        head_of = np.repeat(by_label[starts], np.diff(np.concatenate([starts, [len(by_label)]])))
        member = by_label != head_of
        core = np.ones(len(by_label), dtype=bool)
        core[member] = _core(sig, ns, ents, head_of[member], by_label[member], params)
        failed = np.zeros(m, dtype=bool)
        failed[head_of[~core]] = True
        whole = ~failed[head_of]
        rep_canon[by_label[whole]] = head_of[whole]
        split = by_label[~whole]
        split_bounds = np.flatnonzero(np.diff(labels[split])) + 1 if len(split) else []
        for comp in np.split(split, split_bounds) if len(split) else []:
            remaining = comp
            while len(remaining) > 1:
                head, rest = remaining[0], remaining[1:]
                core = _core(sig, ns, ents, np.full(len(rest), head), rest, params)
                allowed = set(rest[core].tolist())
                pending = set(rest.tolist())
                taken = {int(head)}
                stack = [int(head)]
                while stack:
                    x = stack.pop()
                    lo, hi = indptr[x], indptr[x + 1]
                    for y, w in zip(indices[lo:hi].tolist(), weight[lo:hi].tolist()):
                        # A member that is the same text as one taken comes
                        # along even if its own estimate against the head
                        # fell short: copies of one text stay together.
                        if y in pending and y not in taken and (y in allowed or w == 2):
                            taken.add(y)
                            stack.append(y)
                taken.discard(int(head))
                if taken:
                    rep_canon[np.fromiter(taken, dtype=np.int64)] = head
                remaining = np.array([x for x in rest.tolist() if x not in taken], dtype=np.int64)

    # 5. Canonical: the most complete latest version of each cluster.
    if dated:
        words = np.array([-r[0] for r in ranks], dtype=np.int64)[reps]
        stamp = [r[2] if not r[1] else "" for r in ranks]
        heads = np.flatnonzero(np.bincount(rep_canon, minlength=m) > 1)
        members = np.argsort(rep_canon, kind="stable")
        starts = np.searchsorted(rep_canon[members], heads)
        ends = np.searchsorted(rep_canon[members], heads, side="right")
        for h, a, b in zip(heads.tolist(), starts.tolist(), ends.tolist()):
            group = members[a:b]  # rank order, head first
            full = group[words[group] >= params.complete_share * words[h]]
            best = max(full.tolist(), key=lambda x: (stamp[reps[x]], -x))
            if best != h:
                rep_canon[group] = best

    rep_sim = np.ones(m)
    rep_cont = np.ones(m)
    folded = np.flatnonzero(rep_canon != np.arange(m))
    if len(folded):
        rep_sim[folded], rep_cont[folded] = estimate(sig, ns, rep_canon[folded], folded)

    # Map back to input indices; exact copies follow their representative.
    canonical[reps] = reps[rep_canon]
    similarity[reps] = rep_sim
    containment[reps] = rep_cont
    copies = np.flatnonzero(exact)
    canonical[copies] = canonical[first_of[copies]]
    similarity[copies] = similarity[first_of[copies]]
    containment[copies] = containment[first_of[copies]]
    exact &= canonical == first_of
    # (An exact copy of another member takes that member's relation.)
    relation = _relations(canonical, similarity, containment, exact, n_shingles,
                          [r[2] if not r[1] else "" for r in ranks] if dated else None, params)
    return Clusters(canonical, similarity, containment, exact, n_candidates, n_verified, relation)


def _similar(jac: np.ndarray, cont: np.ndarray, smaller: np.ndarray, p: DedupParams) -> np.ndarray:
    return (jac >= p.min_jaccard) | ((cont >= p.min_containment) & (smaller >= p.min_shingles))


class _Reindexed:
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


def _core(sig, ns, ents, head, rest, p: DedupParams) -> np.ndarray:
    """Which of ``rest`` hold enough in common with their ``head`` (arrays of
    one length) to be versions of its text."""
    jac, cont = estimate(sig, ns, head, rest)
    ok = (jac >= p.min_jaccard) | (cont >= p.core_containment)
    if ents is not None:
        test = np.flatnonzero(ok & (cont < p.entity_free_containment))
        ok[test] = ents.same(head[test], rest[test], p)
    return ok


def _relations(canonical, similarity, containment, exact, n_shingles, published, p: DedupParams) -> np.ndarray:
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
