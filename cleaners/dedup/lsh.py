"""Banded LSH: candidate pairs from signatures, one band at a time (bands
are independent, so they can be computed anywhere and concatenated)."""

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
    codes = np.concatenate([_pair_codes(band_candidates(signatures, b, rows)) for b in range(bands)]
                           or [np.empty(0, dtype=np.uint64)])
    codes = sorted_unique(codes)
    out = np.empty((len(codes), 2), dtype=np.int64)
    out[:, 0] = codes >> np.uint64(32)
    out[:, 1] = codes & np.uint64(0xFFFFFFFF)
    return out
