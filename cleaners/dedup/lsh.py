"""Banded LSH: candidate pairs from signatures, one band at a time (bands
are independent, so they can be computed anywhere and concatenated), or
from hash partitions of the articles' band keys, each partition anywhere
(:func:`band_records`, :func:`partition_of`, :func:`bucket_pairs`): the
same pairs without every signature in one process."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .shingles import sorted_unique


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
    return _bucket_pairs(order, new_run)


def _bucket_pairs(members: np.ndarray, new_run: np.ndarray) -> np.ndarray:
    """The pairs of :func:`band_candidates` from buckets laid out one after
    the other: ``members`` (ascending within each bucket), ``new_run`` True
    where a bucket starts. One rule for a band in one process and for a hash
    partition of band keys (:func:`bucket_pairs`), so both give the same
    pairs."""
    run_id = np.cumsum(new_run) - 1
    first = members[new_run][run_id]
    same = np.flatnonzero(~new_run)
    star = np.stack([first[same], members[same]], axis=1)
    prev = np.stack([members[same - 1], members[same]], axis=1)
    prev = prev[prev[:, 0] != first[same]]
    pairs = np.concatenate([star, prev]).astype(np.int64, copy=False)
    pairs.sort(axis=1)
    return pairs


def _pair_codes(pairs: np.ndarray) -> np.ndarray:
    return (pairs[:, 0].astype(np.uint64) << np.uint64(32)) | pairs[:, 1].astype(np.uint64)


def unpack_pairs(codes: np.ndarray) -> np.ndarray:
    """Packed pair codes (uint64, ``i << 32 | j``) as int64 [m, 2]."""
    out = np.empty((len(codes), 2), dtype=np.int64)
    out[:, 0] = codes >> np.uint64(32)
    out[:, 1] = codes & np.uint64(0xFFFFFFFF)
    return out


def candidate_pairs(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """Distinct candidate pairs over all bands (int64 [m, 2], sorted).

    Pairs are packed into one uint64 each, so memory is 8 bytes per pair per
    band at most and the union is one 1-D sort.
    """
    if len(signatures) >= 1 << 32:
        raise ValueError("more than 2**32 articles in one clustering")
    codes = np.concatenate([_pair_codes(band_candidates(signatures, b, rows)) for b in range(bands)]
                           or [np.empty(0, dtype=np.uint64)])
    return unpack_pairs(sorted_unique(codes))


# ---------------------------------------------------------------- partitioned
#
# The same candidate pairs without every signature in one process: each
# shard's band keys go to hash partitions of (band, key), so that a bucket
# lies whole in one partition; each partition's buckets give their pairs by
# the rule above; the union of the partitions' pairs is candidate_pairs'.

# One band key record: which band, which article (its index in rank order
# among the articles clustered), the bucket key.
BAND_RECORD = np.dtype([("band", "<u4"), ("idx", "<u4"), ("key", "<u8")])


def band_records(signatures: np.ndarray, index: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """Every band key of some articles: ``signatures`` their rows,
    ``index`` their indices in the whole clustering (< 2**32)."""
    n = len(index)
    out = np.empty(n * bands, dtype=BAND_RECORD)
    for b in range(bands):
        part = out[b * n:(b + 1) * n]
        part["band"] = b
        part["idx"] = index
        part["key"] = band_keys(signatures, b, rows)
    return out


def partition_of(records: np.ndarray, partitions: int) -> np.ndarray:
    """The hash partition of each record's (band, key): equal buckets of one
    band always meet, the same key in another band (another bucket) need not."""
    with np.errstate(over="ignore"):
        h = records["key"] ^ (records["band"].astype(np.uint64) * _BAND_MULT)
        h ^= h >> np.uint64(29)
        h *= _BAND_MULT
        h ^= h >> np.uint64(32)
    return (h % np.uint64(partitions)).astype(np.int64)


def bucket_pairs(records: np.ndarray) -> np.ndarray:
    """The distinct candidate pairs (packed codes, sorted) of the buckets
    in ``records``, which must hold each of its buckets whole: the pairs
    :func:`band_candidates` gives for those buckets, whatever the records'
    order."""
    if len(records) < 2:
        return np.empty(0, dtype=np.uint64)
    order = np.lexsort((records["idx"], records["key"], records["band"]))
    r = records[order]
    new_run = np.empty(len(r), dtype=bool)
    new_run[0] = True
    new_run[1:] = (r["band"][1:] != r["band"][:-1]) | (r["key"][1:] != r["key"][:-1])
    return sorted_unique(_pair_codes(_bucket_pairs(r["idx"].astype(np.int64), new_run)))


def pair_partition(codes: np.ndarray, partitions: int) -> np.ndarray:
    """The hash partition of each packed pair code: the same pair, found by
    two bands in two band partitions, always lands in one pair partition,
    so each pair partition's pairs are distinct from every other's."""
    with np.errstate(over="ignore"):
        h = codes * _BAND_MULT
        h ^= h >> np.uint64(31)
        h *= _BAND_MULT
        h ^= h >> np.uint64(32)
    return (h % np.uint64(partitions)).astype(np.int64)
