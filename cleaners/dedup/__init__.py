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

from .canonical import RELATIONS, Clusters, rank_key
from .clustering import cluster
from .lsh import band_candidates, band_keys, candidate_pairs, lsh_params
from .params import DedupParams
from .shingles import (
    ENTITY_K,
    SIGNATURE_VERSION,
    Fingerprint,
    entity_mask,
    entity_sketch,
    fingerprint,
    fingerprints,
    shingle_hashes,
    text_hash,
    token_hashes,
    tokens,
)
from .signatures import Signer
from .verify import entity_containment, estimate

__all__ = [
    "ENTITY_K", "RELATIONS", "SIGNATURE_VERSION", "Clusters", "DedupParams", "Fingerprint", "Signer",
    "band_candidates", "band_keys", "candidate_pairs", "cluster", "entity_containment", "entity_mask",
    "entity_sketch", "estimate", "fingerprint", "fingerprints", "lsh_params", "rank_key", "shingle_hashes", "text_hash",
    "token_hashes", "tokens",
]
