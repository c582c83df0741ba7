"""Fingerprints and signatures of a whole shard at once
(cleaners/dedup/shingles.py ``fingerprints``, signatures.py ``sign_many``)
equal those of one article at a time, byte for byte."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cleaners.dedup import Signer, fingerprint, fingerprints
from conftest import shared

# Texts where batching could go wrong: empty, shorter than a shingle,
# capitals after runs of spaces and quotes (the look-back), non-ASCII whose
# lower() changes its UTF-8 length (İ: 2 bytes, i̇: 3), typographic quotes.
EDGES = [
    "", "x", "a b", "   ", "\n\nAb Cd 12", "          Spaced Out Here", "x -- - -- - -- -- Dash After", "** > # 'Quoted' Name",
    "İstanbul'da Ankara 2024 İzmir and Émile Zoë", "\u201cQuoted\u201d \u2014 Text\u2026 \u00dcn\u00efcode x Straße",
]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    path = shared("data", "bbc-news-2225", "bbc_news.jsonl")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[:400]]
    return [t for r in rows for t in (r["text"], r["title"])] + EDGES


def _equal(a, b) -> bool:
    return (a.shingles.dtype == b.shingles.dtype and np.array_equal(a.shingles, b.shingles) and a.exact == b.exact
            and a.tokens == b.tokens and np.array_equal(a.entities, b.entities) and a.n_entities == b.n_entities)


@pytest.mark.parametrize("batch_bytes", [1 << 19, 3000])  # one batch; many, split between any two texts
def test_fingerprints_of_a_shard_equal_one_at_a_time(texts, batch_bytes):
    for k in (3, 5):
        one = [fingerprint(t, k) for t in texts]
        many = fingerprints(texts, k, batch_bytes=batch_bytes)
        assert len(many) == len(texts)
        assert all(_equal(a, b) for a, b in zip(one, many))


def test_a_text_whose_lowercase_is_longer_keeps_its_entities_and_the_rest_theirs():
    texts = ["İstanbul Hosts Ankara Summit on 12 March", "The talks in Geneva ended, said Maria Lopez on 3 May"]
    one = [fingerprint(t, 3) for t in texts]
    many = fingerprints(texts, 3)
    assert [f.n_entities for f in many] == [f.n_entities for f in one]
    assert many[1].n_entities == 5  # Geneva, Maria, Lopez, 3, May: the capitals still count after İ


def test_signatures_of_a_shard_equal_one_at_a_time(texts):
    signer = Signer(128, 1)
    shingles = [f.shingles for f in fingerprints(texts, 3)]
    one = np.stack([signer.sign(s) for s in shingles])
    for chunk in (1 << 14, 500):  # groups of whole articles, several or one per group
        many = signer.sign_many(shingles, chunk=chunk)
        assert many.dtype == one.dtype and many.tobytes() == one.tobytes()
    assert (signer.sign_many([np.empty(0, np.uint32)]) == Signer.EMPTY).all()
    assert signer.sign_many([]).shape == (0, 128)
