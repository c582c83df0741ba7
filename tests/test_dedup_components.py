"""Clusters that follow a story from version to version
(cleaners/dedup/components.py), on real BBC text."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from cleaners.dedup import DedupParams, Signer, cluster, fingerprint, rank_key
from cleaners.dedup.components import INSIDE, SAME_TEXT, VERIFIED, version_graph
from conftest import shared

PARAMS = DedupParams()


@pytest.fixture(scope="module")
def stories() -> list[list[str]]:
    """Paragraph lists of distinct politics stories with long paragraphs."""
    path = shared("data", "bbc-news-2225", "bbc_news.jsonl")
    out, seen = [], set()
    for line in path.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        paras = [p for p in r["text"].split("\n\n") if p.strip()]
        if r["category"] == "politics" and r["text"] not in seen and len(paras) >= 6 and len(paras[0].split()) >= 25:
            seen.add(r["text"])
            out.append(paras)
    return out


def _dated(texts: list[str], params: DedupParams = PARAMS):
    signer = Signer(params.num_perm, params.seed)
    fps = [fingerprint(t, params.shingle_size) for t in texts]
    ranks = [rank_key(len(t.split()), f"2025-03-01T{k:02d}:00:00Z", f"v{k}") for k, t in enumerate(texts)]
    return cluster(np.stack([signer.sign(f.shingles) for f in fps]), np.array([f.shingles.size for f in fps]),
                   [f.exact for f in fps], ranks, params, np.stack([f.entities for f in fps]),
                   np.array([f.n_entities for f in fps]))


def _containment(small: str, large: str) -> float:
    a, b = set(fingerprint(small, 3).shingles.tolist()), set(fingerprint(large, 3).shingles.tolist())
    return len(a & b) / len(a)


def _chain(stories):
    """A story through four versions, each one edit from the last: a
    paragraph added below, then a development on top (the second paragraph
    dropped), then the lede dropped for two more on top and background
    below; and a copy cut short from the first version (its first two
    paragraphs)."""
    p, o = stories[0], stories[1]
    versions = [p[:5], p[:6], [o[1], p[0]] + p[2:6], [o[2], o[1]] + p[2:6] + [o[3]]]
    return ["\n\n".join(v) for v in versions] + ["\n\n".join(p[:2])]


def test_a_copy_cut_short_from_an_early_version_joins_though_the_latest_dropped_its_lede(stories):
    texts = _chain(stories)
    cut, latest = texts[4], texts[3]
    # The cut copy is all in the first version, but too little of it is in
    # the latest to pass the core test itself.
    assert _containment(cut, texts[0]) >= 0.95
    assert _containment(cut, latest) < PARAMS.core_containment
    c = _dated(texts)
    assert c.canonical.tolist() == [3, 3, 3, 3, 3]
    # Without the inside rule it is cut off from its story.
    alone = _dated(texts, replace(PARAMS, inside_containment=1.01))
    assert alone.canonical.tolist() == [3, 3, 3, 3, 4]


def test_a_text_that_shares_a_passage_with_a_version_but_is_not_inside_it_stays_out(stories):
    texts = _chain(stories)[:4]
    # Another story quoting the first version's two opening paragraphs in
    # its middle: it shares that passage, it is not inside any version.
    q, p = stories[3], stories[0]
    other = "\n\n".join(q[:2] + p[:2] + q[2:5])
    assert _containment(other, texts[0]) < PARAMS.min_containment
    c = _dated(texts + [other])
    assert c.canonical.tolist() == [3, 3, 3, 3, 4]


def test_version_graph_marks_the_shorter_text_inside_the_longer_one_only():
    pairs = np.array([[0, 1], [1, 2], [0, 2]])
    jac = np.array([0.3, 0.9, 0.2])
    cont = np.array([0.95, 0.97, 0.5])
    ns = np.array([100.0, 400.0, 410.0])
    g = version_graph(pairs, jac, cont, ns, 3, PARAMS).toarray()
    assert g[0, 1] == VERIFIED | INSIDE and g[1, 0] == VERIFIED  # 0 is the shorter one, almost all in 1
    assert g[1, 2] == VERIFIED | SAME_TEXT | INSIDE and g[2, 1] == VERIFIED | SAME_TEXT
    assert g[0, 2] == g[2, 0] == VERIFIED  # verified, but not inside
