"""Stage 5, near-duplicates: MinHash signatures, banded LSH, verified clusters.

One module per structure, each usable on its own:

* :mod:`.shingles`: tokens, word shingles and entities of a text as hashes
  (:func:`fingerprint`);
* :mod:`.signatures`: MinHash signatures, datasketch's ``affine32`` scheme,
  a whole batch of articles at once (:class:`Signer`);
* :mod:`.lsh`: banded LSH candidate pairs, band by band;
* :mod:`.verify`: estimated Jaccard / containment and the entity test;
* :mod:`.components`: clusters that follow a story from version to version;
* :mod:`.canonical`: the canonical of a cluster and each copy's relation;
* :mod:`.clustering`: :func:`cluster`, the steps above over one batch;
* :mod:`.params`: the thresholds (:class:`DedupParams`).

Canonical rule: the most complete latest version. Articles are ranked by
:func:`rank_key` (most words, then the earliest ``published``, then the
smallest id); within a cluster, among the members with at least 90 % of the
most words, the latest published is the canonical. Each copy records how it
relates to it (:data:`RELATIONS`). The rules depend only on the articles,
never on input order, so one run over a corpus and several incremental runs
over its parts give the same clusters.
"""

import importlib

# Where each public name lives; imported on first use (PEP 562), so that a
# caller needing only the thresholds (the config check, before anything slow
# starts) does not pay for datasketch and scipy.
_HOME = {
    "RELATIONS": "canonical", "Clusters": "canonical", "rank_key": "canonical",
    "cluster": "clustering",
    "band_candidates": "lsh", "band_keys": "lsh", "candidate_pairs": "lsh", "lsh_params": "lsh",
    "DedupParams": "params",
    "ENTITY_K": "shingles", "SIGNATURE_VERSION": "shingles", "Fingerprint": "shingles", "entity_mask": "shingles",
    "entity_sketch": "shingles", "fingerprint": "shingles", "fingerprints": "shingles", "shingle_hashes": "shingles",
    "text_hash": "shingles", "token_hashes": "shingles", "tokens": "shingles",
    "Signer": "signatures",
    "entity_containment": "verify", "estimate": "verify",
}


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "ENTITY_K", "RELATIONS", "SIGNATURE_VERSION", "Clusters", "DedupParams", "Fingerprint", "Signer",
    "band_candidates", "band_keys", "candidate_pairs", "cluster", "entity_containment", "entity_mask",
    "entity_sketch", "estimate", "fingerprint", "fingerprints", "lsh_params", "rank_key", "shingle_hashes", "text_hash",
    "token_hashes", "tokens",
]
