"""MinHash signatures with datasketch's ``affine32`` scheme, for many
articles at once.

The permutations *are* datasketch's (``MinHash(num_perm, seed)``); a
signature equals ``datasketch.MinHash(hashfunc=<our shingle hash>)
.update_batch(...)`` (a test checks it), so signatures can be handed to
``MinHashLSH``.
"""

from __future__ import annotations

import numpy as np
from datasketch import MinHash

from .shingles import fmix32

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
        mixed = fmix32(hashes.astype(np.uint32, copy=False))
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

    def sign_many(self, shingles: list[np.ndarray], block: int = 16, chunk: int = 1 << 14) -> np.ndarray:
        """Signatures of many sets of shingle hashes at once (uint32[n,
        num_perm]), equal to :meth:`sign` of each: every article's shingles
        in one array, permuted ``block`` permutations at a time and reduced
        per article (``np.minimum.reduceat``), so numpy runs over long
        arrays instead of one short one per article. ``chunk`` bounds the
        shingles permuted at once (block x chunk x 4 bytes)."""
        n = len(shingles)
        out = np.full((n, self.num_perm), self.EMPTY, dtype=np.uint32)
        sizes = np.array([s.size for s in shingles], dtype=np.int64)
        full = np.flatnonzero(sizes)
        if not len(full):
            return out
        # Groups of whole articles of about ``chunk`` shingles.
        ends = np.cumsum(sizes[full])
        cuts = np.searchsorted(ends, np.arange(chunk, ends[-1], chunk), side="right")
        for group in np.split(full, np.unique(cuts)):
            if not len(group):
                continue
            mixed = fmix32(np.concatenate([shingles[g] for g in group.tolist()]).astype(np.uint32, copy=False))
            offsets = np.concatenate([[0], np.cumsum(sizes[group])[:-1]])
            with np.errstate(over="ignore"):
                for p in range(0, self.num_perm, block):
                    part = self._a[p : p + block, None] * mixed[None, :]
                    part += self._b[p : p + block, None]
                    out[group, p : p + block] = np.minimum.reduceat(part, offsets, axis=1).T
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
