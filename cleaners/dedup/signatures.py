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

    def to_minhash(self, signature: np.ndarray) -> MinHash:
        """The same signature as a datasketch object (for MinHashLSH & co)."""
        return MinHash(
            num_perm=self.num_perm,
            seed=self.seed,
            hashvalues=signature,
            permutations=(self._a, self._b),
            scheme="affine32",
        )
