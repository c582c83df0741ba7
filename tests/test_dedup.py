"""cleaners.dedup on real text: BBC stories (read in place from ../shared)
and their edited copies."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import replace

import numpy as np
import pytest
from datasketch import MinHash

from cleaners.dedup import (
    DedupParams,
    Signer,
    band_candidates,
    candidate_pairs,
    cluster,
    estimate,
    fingerprint,
    rank_key,
    text_hash,
    token_hashes,
    tokens,
)
from conftest import shared

PARAMS = DedupParams()


@pytest.fixture(scope="module")
def bbc() -> list[dict]:
    path = shared("data", "bbc-news-2225", "bbc_news.jsonl")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _sign(texts: list[str], params: DedupParams = PARAMS):
    signer = Signer(params.num_perm, params.seed)
    sigs, sizes, keys = [], [], []
    for t in texts:
        fp = fingerprint(t, params.shingle_size)
        sigs.append(signer.sign(fp.shingles))
        sizes.append(fp.shingles.size)
        keys.append(fp.exact)
    return np.stack(sigs), np.array(sizes), keys


def _cluster(texts: list[str], ids: list[str] | None = None, params: DedupParams = PARAMS):
    ids = ids or [f"a{k:04d}" for k in range(len(texts))]
    sigs, sizes, keys = _sign(texts, params)
    ranks = [rank_key(len(t.split()), None, i) for t, i in zip(texts, ids)]
    return cluster(sigs, sizes, keys, ranks, params)


def test_tokens_ignore_case_punctuation_and_quote_style():
    a = "The mayor said: \u201cWe\u2019ll vote\u201d \u2014 on Tuesday\u2026"
    b = "the Mayor said \"We'll  vote\" - on tuesday..."
    assert tokens(a) == tokens(b) == ["the", "mayor", "said", "we", "ll", "vote", "on", "tuesday"]
    assert text_hash(token_hashes(a)) == text_hash(token_hashes(b))
    assert text_hash(token_hashes(a)) != text_hash(token_hashes(b + " again"))
    # Letters of any script are word characters; typographic punctuation is not.
    assert tokens("\u00abStra\u00dfe\u00bb \u2013 \u041f\u0440\u0438\u0432\u0435\u0442, caf\u00e9!") == ["stra\u00dfe", "\u043f\u0440\u0438\u0432\u0435\u0442", "caf\u00e9"]
    # The same token hashes the same wherever it stands; different tokens differ.
    th = token_hashes("rates rose as rates fell")
    assert th[0] == th[3] and len(set(th.tolist())) == 4


def test_signature_equals_datasketch_minhash_of_the_same_shingles(bbc):
    h = fingerprint(bbc[0]["text"], 3).shingles
    ref = MinHash(num_perm=128, seed=1, scheme="affine32", hashfunc=lambda x: x)
    ref.update_batch(h.tolist())
    signer = Signer(128, 1)
    assert np.array_equal(signer.sign(h), ref.hashvalues)
    # The estimate tracks the true Jaccard of a story and its tail.
    other = fingerprint(bbc[0]["text"].split("\n\n", 2)[-1], 3).shingles
    true_j = len(np.intersect1d(h, other)) / len(np.union1d(h, other))
    sig = np.stack([signer.sign(h), signer.sign(other)])
    jac, cont = estimate(sig, np.array([h.size, other.size]), np.array([0]), np.array([1]))
    assert abs(jac[0] - true_j) < 0.15
    assert cont[0] > 0.8  # the shorter one is inside the longer one


def test_all_133_bbc_exact_pairs_and_only_versions_of_one_story(bbc):
    texts = [r["text"] for r in bbc]
    ids = [r["id"] for r in bbc]
    by_text: dict[str, list[int]] = {}
    for k, t in enumerate(texts):
        by_text.setdefault(hashlib.md5(t.encode("utf-8")).hexdigest(), []).append(k)
    exact_groups = [g for g in by_text.values() if len(g) > 1]
    assert sum(len(g) - 1 for g in exact_groups) == 133
    c = _cluster(texts, ids)
    for g in exact_groups:
        assert len({int(c.canonical[k]) for k in g}) == 1
        assert all(c.exact[k] or c.canonical[k] == k for k in g)
    # Every other merge is a version of the same story: most of the shorter
    # text's shingles are in the canonical (checked exactly, not estimated).
    for k in np.flatnonzero((c.canonical != np.arange(len(texts))) & ~c.exact):
        a = set(fingerprint(texts[k], 3).shingles.tolist())
        b = set(fingerprint(texts[c.canonical[k]], 3).shingles.tolist())
        inter = len(a & b)
        assert inter / len(a | b) >= 0.3 and inter / min(len(a), len(b)) >= 0.7, (ids[k], ids[c.canonical[k]])


def _copies(body: str, rng: random.Random) -> dict[str, str]:
    paras = [p for p in body.split("\n\n") if p.strip()]
    words = body.split(" ")
    changed = list(words)
    for i in rng.sample(range(len(words)), k=max(3, len(words) // 40)):
        changed[i] = "different"
    return {
        "boilerplate": "Menu Search Subscribe\n\n" + body + "\n\nShare this story\n\u00a9 2025 Some Site. All rights reserved.",
        "trimmed": "\n\n".join(paras[:-1]),
        "words": " ".join(changed),
        "first_half": " ".join(words[: len(words) // 2]),
    }


def test_edited_copies_join_their_story_and_different_stories_stay_apart(bbc):
    rng = random.Random(3)
    seen, stories = set(), []
    for r in bbc:  # business stories: one topic, many shared words
        paras = r["text"].split("\n\n")
        # Long enough that its last paragraph is a closing paragraph, not half the story.
        if r["category"] == "business" and r["text"] not in seen and len(paras) >= 6 and len(paras[-1].split()) < 80:
            seen.add(r["text"])
            stories.append(r)
        if len(stories) == 40:
            break
    texts, story_of, kind_of = [], [], []
    for s, r in enumerate(stories):
        texts.append(r["text"])
        story_of.append(s)
        kind_of.append("original")
        for kind, text in _copies(r["text"], rng).items():
            texts.append(text)
            story_of.append(s)
            kind_of.append(kind)
    c = _cluster(texts)
    story_of = np.array(story_of)
    # One cluster per story, holding exactly that story's texts.
    for s in range(len(stories)):
        members = np.flatnonzero(story_of == s)
        assert len({int(c.canonical[k]) for k in members}) == 1, [kind_of[k] for k in members]
        assert set(np.flatnonzero(np.isin(c.canonical, c.canonical[members])).tolist()) == set(members.tolist())
    # First halves sit at Jaccard ~0.5, on the bar: containment finds them
    # all, Jaccard alone misses many.
    half = [k for k, kind in enumerate(kind_of) if kind == "first_half"]
    assert np.all(c.containment[half] >= PARAMS.min_containment)
    assert np.all(c.similarity[half] < 0.65)
    # (Each first half beside its original alone: with the other copies, a
    # first half also reaches its story through them.)
    pairs = [k for k, kind in enumerate(kind_of) if kind in ("original", "first_half")]
    jaccard_only = _cluster([texts[k] for k in pairs], params=replace(PARAMS, min_containment=1.01))
    missed = [k for k, src in enumerate(pairs) if kind_of[src] == "first_half" and jaccard_only.canonical[k] == k]
    assert len(missed) >= len(half) // 4


def test_a_chain_of_weak_matches_does_not_become_one_cluster(bbc):
    # a ~ b ~ c ~ d, each sharing three of its four paragraphs with the
    # next; c still shares half of itself with a (core_containment), d only
    # a quarter: d must not be folded into a's cluster because c links them.
    paras = [p for r in bbc[:200] for p in r["text"].split("\n\n") if 40 <= len(p.split()) <= 60]
    p = paras[:7]
    a = "\n\n".join(p[0:4] + [p[0]])  # longest: the canonical
    b = "\n\n".join(p[1:5])
    c = "\n\n".join(p[2:6])
    d = "\n\n".join(p[3:7])
    res = _cluster([a, b, c, d], ["a", "b", "c", "d"])
    assert res.canonical[1] == 0, "b is similar to a"
    assert res.canonical[2] == 0, "c is b's neighbour and shares half of itself with a"
    assert res.canonical[3] == 3, "d shares too little with a, so it stays apart"


def test_clusters_do_not_depend_on_input_order(bbc):
    rng = random.Random(5)
    texts = [r["text"] for r in bbc[:400]]
    texts += [t[: len(t) * 2 // 3] for t in texts[:60]] + texts[100:120]
    ids = [f"d{k:04d}" for k in range(len(texts))]
    base = _cluster(texts, ids)
    groups = {frozenset(ids[j] for j in np.flatnonzero(base.canonical == base.canonical[k])) for k in range(len(ids))}
    perm = list(range(len(texts)))
    rng.shuffle(perm)
    shuffled = _cluster([texts[k] for k in perm], [ids[k] for k in perm])
    canon = {ids[perm[k]]: ids[perm[int(shuffled.canonical[k])]] for k in range(len(perm))}
    assert canon == {ids[k]: ids[int(base.canonical[k])] for k in range(len(ids))}
    assert len([g for g in groups if len(g) > 1]) >= 60


def test_canonical_rule_most_words_then_earliest_then_smallest_id():
    assert sorted([rank_key(10, "2024-03-02", "b"), rank_key(12, None, "z"), rank_key(10, "2024-03-01", "c"),
                   rank_key(10, None, "a"), rank_key(10, "2024-03-01", "a")]) == [
        rank_key(12, None, "z"), rank_key(10, "2024-03-01", "a"), rank_key(10, "2024-03-01", "c"),
        rank_key(10, "2024-03-02", "b"), rank_key(10, None, "a")]


def test_bands_are_independent_and_their_union_is_the_candidate_set(bbc):
    texts = [r["text"] for r in bbc[:300]] + [r["text"][:1500] for r in bbc[:50]]
    sigs, _, _ = _sign(texts)
    bands, rows = PARAMS.bands()
    per_band = [band_candidates(sigs, b, rows) for b in range(bands)]
    union = np.unique(np.concatenate(per_band), axis=0)
    assert np.array_equal(union, candidate_pairs(sigs, bands, rows))
    # A band computed on its own columns only gives the same pairs.
    b = 3
    alone = band_candidates(np.ascontiguousarray(sigs[:, b * rows : (b + 1) * rows]), 0, rows)
    assert np.array_equal(np.unique(alone, axis=0), np.unique(per_band[b], axis=0))
    # Each truncated copy is a candidate of its original.
    found = {tuple(p) for p in union.tolist()}
    assert all((k, 300 + k) in found for k in range(50))


@pytest.mark.parametrize("partitions", [1, 7, 64])
def test_band_keys_in_hash_partitions_give_the_candidate_pairs_of_one_process(bbc, partitions):
    """Each shard's band keys split by hash of (band, key), each partition
    paired on its own, the union: the pairs of candidate_pairs over all
    signatures at once, star and chain alike, also for a bucket of 2,000
    copies whose members arrive from every shard."""
    from cleaners.dedup.lsh import band_records, bucket_pairs, partition_of, unpack_pairs
    from cleaners.dedup.shingles import sorted_unique

    texts = [r["text"] for r in bbc[:300]] + [r["text"][:1500] for r in bbc[:50]]
    sigs, _, _ = _sign(texts)
    bands, rows = PARAMS.bands()
    # 2,000 articles equal in bands 0 and 5 only: one big bucket in each.
    rng = np.random.default_rng(7)
    big = rng.integers(0, 2**32, size=(2000, sigs.shape[1]), dtype=np.uint32)
    for b in (0, 5):
        big[:, b * rows:(b + 1) * rows] = sigs[0, b * rows:(b + 1) * rows]
    sigs = np.concatenate([sigs, big])
    # Shards of uneven sizes, each holding a scattered set of indices.
    index = rng.permutation(len(sigs))
    shards = np.split(index, [17, 400, 401, 1500])
    parts: list[list[np.ndarray]] = [[] for _ in range(partitions)]
    for rows_of_shard in shards:
        rec = band_records(sigs[rows_of_shard], rows_of_shard.astype(np.uint32), bands, rows)
        part = partition_of(rec, partitions)
        for p in range(partitions):
            parts[p].append(rec[part == p])
    codes = sorted_unique(np.concatenate([bucket_pairs(np.concatenate(chunks)) for chunks in parts]))
    expected = candidate_pairs(sigs, bands, rows)
    assert np.array_equal(unpack_pairs(codes), expected)
    # The big bucket (with article 0, whose bands it copies) costs at most
    # two pairs per member per band, not two million.
    touching = expected[expected[:, 1] >= 350]
    assert 2000 <= len(touching) <= 2 * 2 * 2000
    if partitions > 1:  # the records do spread over the partitions
        assert sum(1 for chunks in parts if sum(map(len, chunks))) > partitions // 2


def test_exact_flag_means_an_exact_copy_of_the_canonical():
    import numpy as np

    from cleaners.dedup import DedupParams, Signer, cluster, fingerprint, rank_key

    base = " ".join(f"word{i} token{i % 7} item{i % 11}" for i in range(120))
    longer = base + " " + " ".join(f"extra{i}" for i in range(40))
    texts = {"a": longer, "b": base, "c": base}  # b and c: exact copies of each other, not of a
    signer = Signer(128)
    ids = sorted(texts)
    fps = [fingerprint(texts[i], 3) for i in ids]
    sigs = np.stack([signer.sign(f.shingles) for f in fps])
    ranks = [rank_key(len(texts[i].split()), None, i) for i in ids]
    c = cluster(sigs, np.array([f.shingles.size for f in fps]), [f.exact for f in fps], ranks, DedupParams())
    assert list(c.canonical) == [0, 0, 0]
    assert not c.exact[1] and not c.exact[2]
    assert c.similarity[1] == c.similarity[2] < 1.0


def _bodies(bbc, category: str, n: int, min_paras: int = 6) -> list[dict]:
    seen, out = set(), []
    for r in bbc:
        if r["category"] == category and r["text"] not in seen and len(r["text"].split("\n\n")) >= min_paras:
            seen.add(r["text"])
            out.append(r)
        if len(out) == n:
            break
    return out


def _dated_cluster(texts: list[str], ids: list[str], published: list[str | None], params: DedupParams = PARAMS):
    signer = Signer(params.num_perm, params.seed)
    fps = [fingerprint(t, params.shingle_size) for t in texts]
    ranks = [rank_key(len(t.split()), p, i) for t, p, i in zip(texts, published, ids)]
    return cluster(np.stack([signer.sign(f.shingles) for f in fps]), np.array([f.shingles.size for f in fps]),
                   [f.exact for f in fps], ranks, params, np.stack([f.entities for f in fps]),
                   np.array([f.n_entities for f in fps]))


def test_versions_of_an_updated_story_stay_one_cluster_with_the_latest_complete_one_canonical(bbc):
    # A wire story updated through the day: paragraphs added at the top and
    # at the bottom from related stories, so the first and the last versions
    # are only loosely alike while each is close to the next.
    story, extra = _bodies(bbc, "politics", 2, min_paras=8)
    p, x = story["text"].split("\n\n"), extra["text"].split("\n\n")
    versions = [p[:5], p[:7], [x[0]] + p[:7], [x[0]] + p[:8] + [x[1]], [x[1], x[0]] + p[1:8] + [x[2], x[3]]]
    texts = ["\n\n".join(v) for v in versions] + ["\n\n".join(versions[-1][:4])]  # and a truncated reprint
    ids = [f"v{k}" for k in range(len(texts))]
    published = [f"2025-03-01T0{k}:00:00Z" for k in range(len(versions))] + ["2025-03-01T09:00:00Z"]
    first_last = _exact_jaccard(texts[0], texts[4])
    assert first_last < PARAMS.min_jaccard  # not a direct match: only the chain joins them
    c = _dated_cluster(texts, ids, published)
    assert len(set(c.canonical.tolist())) == 1
    canon = int(c.canonical[0])
    assert canon == 4, "the last version is the most complete"
    rel = [c.relation_name(k) for k in range(len(texts))]
    assert rel[4] == "canonical" and rel[5] == "truncated"
    assert set(rel[:4]) <= {"earlier_version", "truncated"} and "earlier_version" in rel[:4]


def test_stories_filled_into_one_template_stay_apart_while_their_reprints_join(bbc):
    # Market reports: the same sentences, other companies and figures.
    import re

    (template,) = _bodies(bbc, "business", 1, min_paras=6)
    names = sorted({m for r in bbc[:400] for m in re.findall(r"(?<=[a-z,] )[A-Z][a-z]+", r["text"])})
    rng = random.Random(11)
    reports = []
    for _ in range(4):
        mapping = {}
        t = re.sub(r"(?<=[a-z,] )[A-Z][a-z]+", lambda m: mapping.setdefault(m.group(0), rng.choice(names)), template["text"])
        reports.append(re.sub(r"\d+", lambda m: mapping.setdefault("#" + m.group(0), str(rng.randrange(10, 999))), t))
    # Each report with a reprint carrying a line of site furniture.
    texts = reports + [r + "\n\nShare this article" for r in reports]
    ids = [f"r{k}" for k in range(4)] + [f"r{k}-reprint" for k in range(4)]
    sims = [_exact_jaccard(reports[0], reports[k]) for k in range(1, 4)]
    assert max(sims) >= PARAMS.min_jaccard, sims  # the words alone would merge them
    c = _dated_cluster(texts, ids, [None] * len(texts))
    for k in range(4):
        assert c.canonical[k + 4] == c.canonical[k]
    assert len({int(c.canonical[k]) for k in range(4)}) == 4


def _exact_jaccard(a: str, b: str) -> float:
    sa, sb = set(fingerprint(a, 3).shingles.tolist()), set(fingerprint(b, 3).shingles.tolist())
    return len(sa & sb) / len(sa | sb)


def test_entity_sketch_counts_numbers_and_mid_sentence_names_only():
    from cleaners.dedup.shingles import _word_spans, entity_mask

    text = "Leeds beat Hull 3-1 on Monday, said Bob Smith.\nHome\nThe match was in York."
    b, s, e = _word_spans(text)
    found = [t for t, m in zip(tokens(text), entity_mask(text, b, s, e)) if m]
    assert found == ["hull", "3", "1", "monday", "bob", "smith", "york"]
    assert fingerprint(text, 3).n_entities == 7


@pytest.mark.parametrize("partitions", [1, 7])
def test_pairs_verified_per_pair_partition_give_the_clusters_of_one_process(bbc, partitions):
    """Candidate pairs split by hash of the pair (a pair in two band
    partitions lands in one pair partition), each verified with only its
    ends' rows loaded: the verified pairs and estimates of verifying all at
    once, and cluster(verified=..., rows=...) the clusters of cluster() over
    every signature, reading the rows of the articles in a verified pair only."""
    from cleaners.dedup import fingerprints
    from cleaners.dedup.clustering import representatives
    from cleaners.dedup.lsh import pair_partition, unpack_pairs
    from cleaners.dedup.verify import EntitySketches, verified_pairs, verify_some

    texts = [r["text"] for r in bbc[:300]] + [r["text"][:1500] for r in bbc[:50]]
    texts += [r["text"].replace(".", ". Updated.", 3) for r in bbc[100:140]] + texts[:10]  # versions, exact copies
    fps = fingerprints(texts, PARAMS.shingle_size)
    sigs = Signer(PARAMS.num_perm, PARAMS.seed).sign_many([f.shingles for f in fps])
    sizes = np.array([f.shingles.size for f in fps])
    ents, n_ents = np.stack([f.entities for f in fps]), np.array([f.n_entities for f in fps])
    keys = [f.exact for f in fps]
    ranks = [rank_key(len(t.split()), None, f"a{k:04d}") for k, t in enumerate(texts)]
    _o, _f, reps = representatives(keys, ranks)
    cand = candidate_pairs(sigs[reps], *PARAMS.bands())
    whole = verified_pairs(sigs[reps], sizes[reps].astype(np.float64), EntitySketches(ents, n_ents, reps), cand, PARAMS)

    asked = []

    def rows(numbers):
        asked.append(numbers)
        return sigs[reps[numbers]], ents[reps[numbers]]

    codes = (cand[:, 0].astype(np.uint64) << np.uint64(32)) | cand[:, 1].astype(np.uint64)
    part = pair_partition(codes, partitions)
    got = [verify_some(unpack_pairs(codes[part == q]), rows, sizes[reps], n_ents[reps], PARAMS) for q in range(partitions)]
    pairs = np.concatenate([g[0] for g in got])
    order = np.lexsort((pairs[:, 1], pairs[:, 0]))
    verified = (pairs[order], np.concatenate([g[1] for g in got])[order], np.concatenate([g[2] for g in got])[order], len(cand))
    for a, b in zip(verified[:3], whole):
        assert np.array_equal(a, b)  # exactly: the same floats
    assert 0 < len(whole[0]) < len(cand)

    asked.clear()
    one = cluster(sigs, sizes, keys, ranks, PARAMS, ents, n_ents)
    split = cluster(None, sizes, keys, ranks, PARAMS, None, n_ents, verified=verified, rows=rows)
    for name in ("canonical", "similarity", "containment", "exact", "relation"):
        assert np.array_equal(getattr(one, name), getattr(split, name)), name
    assert (one.candidate_pairs, one.verified_pairs) == (split.candidate_pairs, split.verified_pairs)
    assert (one.canonical != np.arange(len(texts))).sum() > 50
    # One load: the ends of the verified pairs, not every representative.
    assert len(asked) == 1 and np.array_equal(asked[0], np.unique(whole[0])) and len(asked[0]) < len(reps) // 2


@pytest.mark.parametrize("batches", [1, 3, 40])
def test_the_rule_run_per_set_of_whole_components_gives_the_clusters_of_one_run(bbc, batches):
    """clusters_of_representatives and fold_copies run on sets of whole
    components (with the exact copies of their members), each numbered in
    its own rank order, give every article what cluster() over everything
    gives: with a component of 2,000 near copies, exact copies, versions
    and ties in rank (the same words and date: the id decides)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from cleaners.dedup import fingerprints
    from cleaners.dedup.clustering import RepRows, clusters_of_representatives, fold_copies, representatives
    from cleaners.dedup.verify import EntitySketches, verified_pairs

    texts = [r["text"] for r in bbc[:200]] + [r["text"][:1500] for r in bbc[:30]]
    texts += [r["text"].replace(".", ". Updated.", 3) for r in bbc[100:130]] + texts[:10]
    words = bbc[300]["text"].split(" ")
    at = next(k for k in range(len(words) // 2, len(words)) if words[k].isalpha())
    texts += [" ".join([*words[:at], f"variant{chr(97 + k % 26)}{chr(97 + k // 26 % 26)}{chr(97 + k // 676)}",
                        *words[at + 1:]]) for k in range(2000)]
    n = len(texts)
    ids = [f"a{k:04d}" for k in range(n)]
    published = [f"2025-01-{1 + k % 3:02d}" for k in range(n)]
    fps = fingerprints(texts, PARAMS.shingle_size)
    sigs = Signer(PARAMS.num_perm, PARAMS.seed).sign_many([f.shingles for f in fps])
    sizes = np.array([f.shingles.size for f in fps])
    ents, n_ents = np.stack([f.entities for f in fps]), np.array([f.n_entities for f in fps])
    keys = [f.exact for f in fps]
    ranks = [rank_key(len(t.split()), p, i) for t, p, i in zip(texts, published, ids)]
    one = cluster(sigs, sizes, keys, ranks, PARAMS, ents, n_ents)
    assert max(np.bincount(one.canonical)) > 1900 and one.exact.sum() >= 10
    assert len({ranks[k][:3] for k in range(230 + 30 + 10, n)}) < 2000 // 10  # ties on everything but the id

    # What the corpus steps do with files: components of the verified pairs
    # over the representatives, whole components (and exact copies) to batches.
    _o, first_of, reps = representatives(keys, ranks)
    m = len(reps)
    ns = sizes[reps].astype(np.float64)
    pairs, jac, cont = verified_pairs(RepRows(sigs, reps), ns, EntitySketches(ents, n_ents, reps),
                                      candidate_pairs(RepRows(sigs, reps), *PARAMS.bands()), PARAMS)
    _c, labels = connected_components(coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(m, m)),
                                      directed=False)
    number = np.empty(n, dtype=np.int64)
    number[reps] = np.arange(m)
    number = number[first_of]  # each article's representative's number
    batch_of = labels[number] % batches
    canonical, similarity = np.full(n, -1), np.zeros(n)
    relation, exact = np.zeros(n, dtype=np.int8), np.zeros(n, dtype=bool)
    for b in range(batches):
        art = np.flatnonzero(batch_of == b)  # this batch's articles
        nums = np.unique(number[art])  # its representatives, in rank order
        local_of = np.searchsorted(nums, number[art])
        local_reps = np.searchsorted(art, reps[nums])
        keep = (batch_of[reps[pairs[:, 0]]] == b)
        lp = np.searchsorted(nums, pairs[keep])
        stamp = [published[k] for k in art.tolist()]
        rc, rs, rcont = clusters_of_representatives(
            lp, jac[keep], cont[keep], ns[nums], RepRows(sigs, reps[nums]), EntitySketches(ents, n_ents, reps[nums]),
            np.array([len(texts[k].split()) for k in reps[nums].tolist()]), [stamp[k] for k in local_reps.tolist()],
            PARAMS)
        c, s, _co, e, r = fold_copies(local_reps[local_of], local_reps, rc, rs, rcont, sizes[art], stamp, PARAMS)
        canonical[art], similarity[art], exact[art], relation[art] = art[c], s, e, r
    assert np.array_equal(canonical, one.canonical)
    assert np.array_equal(similarity, one.similarity) and np.array_equal(exact, one.exact)
    assert np.array_equal(relation, one.relation)
