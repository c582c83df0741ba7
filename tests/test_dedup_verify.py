"""Verification of candidate pairs (cleaners/dedup/verify.py) and the
canonical of a cluster (cleaners/dedup/canonical.py), on real BBC text."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import numpy as np
import pytest

from cleaners.dedup import DedupParams, Signer, fingerprints
from cleaners.dedup.canonical import most_complete_latest
from cleaners.dedup.verify import EntitySketches, verified_pairs
from conftest import shared

PARAMS = DedupParams()


@pytest.fixture(scope="module")
def report() -> str:
    path = shared("data", "bbc-news-2225", "bbc_news.jsonl")
    for line in path.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        if r["category"] == "business" and len(re.findall(r"\d+", r["text"])) >= 8:
            return r["text"]
    raise AssertionError("no business story with figures")


def _verify(texts: list[str], pairs: list[tuple[int, int]], params: DedupParams = PARAMS):
    fps = fingerprints(texts, params.shingle_size)
    sig = Signer(params.num_perm, params.seed).sign_many([f.shingles for f in fps])
    ns = np.array([f.shingles.size for f in fps], dtype=np.float64)
    ents = EntitySketches(np.stack([f.entities for f in fps]), np.array([f.n_entities for f in fps]), np.arange(len(texts)))
    return verified_pairs(sig, ns, ents, np.array(pairs, dtype=np.int64), params)[0].tolist()


def test_a_reprint_is_verified_and_the_same_sentences_with_other_figures_are_not(report):
    other = re.sub(r"\d+", lambda m: str(int(m.group(0)) + 7), report)  # the next day's figures
    reprint = "Most read\n\n" + report + "\n\nShare this article"
    assert _verify([report, reprint, other], [(0, 1), (0, 2)]) == [[0, 1]]
    # Without the entity test the other report would pass on its words.
    assert _verify([report, reprint, other], [(0, 1), (0, 2)], replace(PARAMS, min_entity_containment=0.0)) == [[0, 1], [0, 2]]


@pytest.fixture(scope="module")
def essay() -> str:
    """A long story with few numbers and names."""
    path = shared("data", "bbc-news-2225", "bbc_news.jsonl")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    fps = fingerprints([r["text"] for r in rows], 3)
    return next(r["text"] for r, f in zip(rows, fps) if f.shingles.size >= 500 and f.n_entities <= 10)


def test_a_copy_almost_all_inside_is_not_judged_on_entities(essay):
    # Each copy with its own caption of names and numbers (leftovers): the
    # rest is the same text, so the captions' entities must not split them.
    report = essay
    a = report + "\n\nPictured: John Smith, Acme, Paris, Lyon, 14 May 2018, 7 June 2019, Jane Doe, Reuters, AFP, Getty."
    b = report + "\n\nPictured: Carl Berg, Zeta, Oslo, Bergen, 3 July 2016, 9 March 2015, Ann Lee, Kyodo, EPA, PA."
    fps = fingerprints([a, b], 3)
    sa, sb = set(fps[0].shingles.tolist()), set(fps[1].shingles.tolist())
    assert len(sa & sb) / min(len(sa), len(sb)) >= PARAMS.entity_free_containment
    assert _verify([a, b], [(0, 1)]) == [[0, 1]]
    # Judged on entities, the two captions would split them.
    assert _verify([a, b], [(0, 1)], replace(PARAMS, entity_free_containment=1.01)) == []


def test_the_canonical_is_the_latest_of_the_nearly_most_complete_members():
    # One cluster of four in rank order (most words first): the latest of
    # those with >= 90 % of the most words wins; a later but short one does not.
    head_of = np.zeros(4, dtype=np.int64)
    words = np.array([1000, 950, 600, 990])
    stamps = ["2025-03-01T08", "2025-03-01T10", "2025-03-01T12", ""]
    assert most_complete_latest(head_of, words, stamps, PARAMS).tolist() == [1, 1, 1, 1]
    # Two clusters stay two.
    head_of = np.array([0, 0, 2, 2])
    assert most_complete_latest(head_of, words, stamps, PARAMS).tolist() == [1, 1, 2, 2]
