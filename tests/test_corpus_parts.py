"""The corpus-wide steps as step functions over shard files (issue 20):
dedup reads each shard's sidecar, never its articles' JSON; the write is per
shard, merged by position in the driver; the run record keeps counts, the
ids a run added or replaced are in its changes file; and a Dask cluster,
which runs both steps on its workers, writes the bytes the local executor
writes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _same_outputs(out: Path, reference: Path) -> None:
    for name in ("articles.jsonl", "dropped.jsonl"):
        assert (out / name).read_bytes() == (reference / name).read_bytes(), f"{name} differs"


def _config(tmp_path: Path, text: str) -> Path:
    cfg = tmp_path / "run.toml"
    cfg.write_text(text, encoding="utf-8")
    return cfg


def _dedup(out: Path, work: Path, verify: bool = True):
    from pipelines.config import load_config
    from pipelines.corpus import dedup_steps
    from pipelines.store import State

    return dedup_steps(State.open(out, verify=verify).segments, load_config(None), True, str(out), str(work), None)


def test_dedup_reads_sidecars_and_no_article_json(sample_run, tmp_path, monkeypatch):
    import pipelines.corpus as corpus
    import pipelines.store as store

    out, result = sample_run
    record = json.loads(Path(result["record"]).read_text(encoding="utf-8"))
    assert list((out / "state" / "segments").glob("*/*.dedup.arrow")), "clean_shard writes a sidecar per shard"
    real = store.read_jsonl

    def no_candidates(path):
        assert not str(path).endswith(".candidates.jsonl"), f"dedup parsed {path}"
        return real(path)

    monkeypatch.setattr(corpus, "read_jsonl", no_candidates)
    monkeypatch.setattr(store, "read_jsonl", no_candidates)
    counts = _dedup(out, tmp_path / "work")
    c = record["counts"]
    assert (counts.clusters, counts.duplicates, counts.candidate_pairs, counts.verified_pairs) == (
        c["clusters"], c["duplicates"], c["lsh_candidate_pairs"], c["lsh_verified_pairs"])
    assert counts.duplicates > 0


def test_a_shard_without_sidecar_is_read_from_its_json_with_the_same_result(sample_run, tmp_path):
    """Segments written before sidecars (format 2) carry ``_dedup`` in the
    candidates' JSON instead; dedup reads them there, to the same clusters."""
    from pipelines.store import State, dumps

    out = tmp_path / "out"
    shutil.copytree(sample_run[0], out, symlinks=True)
    new = _dedup(out, tmp_path / "with-sidecars")
    for seg in State.open(out).segments:
        for shard in seg.shards():
            side = seg.load_sidecar(shard)
            rows = _jsonl(seg.candidates(shard))
            for k, row in enumerate(rows):
                assert row["id"] == side["id"][k] and "_dedup" not in row
                row["_dedup"] = {"words": side["words"][k], "shingles": side["shingles"][k], "exact": side["exact"][k],
                                 "entities": side["entities"][k].tobytes().hex(), "n_entities": side["n_entities"][k]}
            seg.candidates(shard).write_text("".join(dumps(r) + "\n" for r in rows), encoding="utf-8")
            seg.sidecar(shard).unlink()
    old = _dedup(out, tmp_path / "from-json", verify=False)  # the files differ from the manifest's now
    assert old == new
    for path in sorted((tmp_path / "with-sidecars").iterdir()):
        assert (tmp_path / "from-json" / path.name).read_bytes() == path.read_bytes(), path.name


def test_the_record_keeps_counts_and_the_changes_file_the_ids(sample_run):
    out, result = sample_run
    record = json.loads(Path(result["record"]).read_text(encoding="utf-8"))
    assert all(isinstance(v, int) for v in record["added"].values()) and isinstance(record["replaced_canonicals"], int)
    changes = _jsonl(out / record["changes"])
    kept = {a["id"] for a in _jsonl(out / "articles.jsonl")}
    dups = {d["id"]: d["canonical"] for d in _jsonl(out / "dropped.jsonl") if d["reason"] == "duplicate"}
    # One run over the sample added everything it kept or folded.
    assert sorted(r["id"] for r in changes if r["change"] == "added_kept") == sorted(kept)
    assert {r["id"]: r["canonical"] for r in changes if r["change"] == "added_duplicate"} == dups
    assert record["added"] == {"kept": len(kept), "duplicates": len(dups)}
    # The work folder of the write is gone; kept.json is under state/.
    assert not list((out / "generations").glob("*/.parts"))
    assert sorted(json.loads((out / "state" / "kept.json").read_text(encoding="utf-8"))) == sorted(kept)


def test_merging_parts_in_groups_gives_the_same_bytes(sample_run, run_flow, tmp_path, monkeypatch):
    """Past the merge's fan-in, parts are merged in groups first: small
    shards and a fan-in of 2 give a merge of merges, and the same bytes."""
    import pipelines.corpus as corpus

    merged = []
    real = corpus._merged

    def counting(paths, work):
        merged.append(len(paths))
        return real(paths, work)

    monkeypatch.setattr(corpus, "MERGE_FAN_IN", 2)
    monkeypatch.setattr(corpus, "_merged", counting)
    out = tmp_path / "out"
    run_flow(ROOT / "raw", out, _config(tmp_path, "[run]\nshard_size = 10\nworkers = 1\n"))
    assert max(merged) > 4
    _same_outputs(out, sample_run[0])


def test_dask_runs_dedup_and_write_on_its_workers_with_the_bytes_of_processes(sample_run, run_flow, tmp_path, monkeypatch):
    """``executor = "dask"`` on a local cluster of two workers, shards of 10
    articles: the outputs are byte for byte those of the process executor,
    neither the LSH shuffle, nor dedup, nor the part writer ran in this (the
    driver) process, and the statistics merged by a tree of pairs on the
    workers are those of the process executor's run."""
    pytest.importorskip("distributed")
    import pipelines.corpus as corpus
    import pipelines.tasks as tasks

    def not_here(*_args, **_kw):
        raise AssertionError("ran in the driver")

    # The workers import the module themselves: only the driver's copy fails.
    for name in ("clusters_of_representatives", "connected_components", "_write_part", "representatives", "band_records",
                 "bucket_pairs"):
        monkeypatch.setattr(corpus, name, not_here)
    monkeypatch.setattr(tasks, "TREE_FAN_IN", 2)
    out = tmp_path / "out"
    result = run_flow(ROOT / "raw", out, _config(tmp_path, '[run]\nexecutor = "dask"\nworkers = 2\nshard_size = 10\n'))
    _same_outputs(out, sample_run[0])
    record = json.loads(Path(result["record"]).read_text(encoding="utf-8"))
    reference = json.loads(Path(sample_run[1]["record"]).read_text(encoding="utf-8"))
    for key in ("clusters", "duplicates", "lsh_candidate_pairs", "lsh_verified_pairs"):
        assert record["counts"][key] == reference["counts"][key], key
    assert record["added"] == reference["added"]
    assert record["counts"]["lsh_partitions"] > 2 and record["counts"]["lsh_shuffled_bytes"] > 0
    for key in ("edits", "edits_by_source", "words_before", "words_removed", "removed_lines", "languages", "examples"):
        assert record[key] == reference[key], key


@pytest.fixture(scope="module")
def small_shards(run_flow, tmp_path_factory):
    """The sample at 10 articles per shard: several shards to partition."""
    base = tmp_path_factory.mktemp("small-shards")
    run_flow(ROOT / "raw", base / "out", _config(base, "[run]\nshard_size = 10\nworkers = 1\n"))
    return base / "out"


def _files(work: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(work.iterdir())}


def _one_process(segments, cfg) -> dict[str, tuple]:
    """What cluster() over every active candidate's signature in one process
    (LSH, verification and the clustering rule there) makes of each id:
    (canonical, similarity, containment, exact, relation)."""
    from cleaners.dedup import cluster, rank_key
    from pipelines.corpus import _active, _latest_versions

    a = _active(segments, _latest_versions(segments))
    sigs, ents = [], []
    for si, shard, keep, candidates in a.rows:
        seg = segments[si]
        sigs.append(seg.load_signatures(shard, candidates, cfg.dedup.num_perm)[keep])
        ents.append(seg.load_sidecar(shard)["entities"][keep])
    col = {name: a.table.column(name).to_pylist() for name in ("id", "words", "published", "exact", "shingles", "n_entities")}
    ids = col["id"]
    # The ranks as Python tuples (rank_key), not as the plan's Arrow sort.
    ranks = [rank_key(w, p, i) for w, p, i in zip(col["words"], col["published"], ids)]
    c = cluster(np.concatenate(sigs), np.array(col["shingles"]), col["exact"], ranks, cfg.dedup.params(),
                np.concatenate(ents), np.array(col["n_entities"]))
    return {ids[k]: (ids[int(c.canonical[k])], round(float(c.similarity[k]), 4), round(float(c.containment[k]), 4),
                     bool(c.exact[k]), c.relation_name(k)) for k in range(len(ids))}


def _assigned(segments, work: Path) -> dict[str, tuple]:
    """The same, read back from the per-shard assignment files dedup wrote;
    every kept article's list of copies checked against its copies' entries."""
    got, lists = {}, {}
    for si, seg in enumerate(segments):
        for shard in seg.shards():
            rows = json.loads((work / f"{si:05d}-{shard}.assign.json").read_text(encoding="utf-8"))["rows"]
            for doc_id, e in zip(seg.load_sidecar(shard)["id"], rows):
                if e is None:
                    continue
                if "duplicates" in e:
                    got[doc_id] = (doc_id, 1.0, 1.0, False, "canonical")
                    lists[doc_id] = e["duplicates"]
                else:
                    got[doc_id] = (e["canonical"], e["similarity"], e["containment"], e["exact"], e["relation"])
    for canon, dups in lists.items():
        mine = sorted(({"id": i, "similarity": g[1], "containment": g[2], "exact": g[3], "relation": g[4]}
                       for i, g in got.items() if g[0] == canon and i != canon), key=lambda d: (-d["similarity"], d["id"]))
        assert dups == mine, canon
    return got


def test_dedup_from_hash_partitions_is_dedup_in_one_process(small_shards, tmp_path, monkeypatch):
    """Band keys shuffled into 1, 7 or 64 hash partitions, pairs found and
    verified per partition, components clustered in batches: every file
    dedup writes is the same bytes whatever the partitions, and what it
    assigns each article is what cluster() over every signature in one
    process assigns; no process runs LSH or verification over every
    signature, and the batches read the signatures of the articles in a
    verified pair only."""
    import cleaners.dedup.clustering as clustering
    import pipelines.corpus as corpus
    from pipelines.config import load_config
    from pipelines.store import State

    segments, cfg = State.open(small_shards).segments, load_config(None)
    expected = _one_process(segments, cfg)

    def not_here(*_a, **_k):
        raise AssertionError("LSH or verification over all signatures in one process")

    monkeypatch.setattr(clustering, "candidate_pairs", not_here)
    monkeypatch.setattr(clustering, "verified_pairs", not_here)
    loaded = []
    real_batch = corpus.dedup_batch

    def spy(b, comp, segments, groups, rows, params, dest):
        def counted(numbers):
            loaded.append(numbers)
            return rows(numbers)
        counted.where = rows.where
        return real_batch(b, comp, segments, groups, counted, params, dest)

    monkeypatch.setattr(corpus, "dedup_batch", spy)
    first = None
    for partitions in (1, 7, 64):
        work = tmp_path / f"p{partitions}"
        loaded.clear()
        c = corpus.dedup_steps(segments, cfg, True, str(small_shards), str(work), None, partitions)
        assert c.partitions == partitions and c.candidate_pairs > c.verified_pairs > 0 and c.duplicates > 0
        assert c.clusters == len({v[0] for v in expected.values()}) and c.articles == len(expected)
        # 16 bytes per band key, 28 bands, one key per article indexed.
        assert c.shuffled_bytes > 16 * 28 * (c.articles - c.exact) // 2
        assert _assigned(segments, work) == expected
        first = first or _files(work)
        assert _files(work) == first, partitions
        # Only the ends of verified pairs, each once, fewer than the articles indexed.
        ends = np.concatenate(loaded)
        assert len(ends) == len(np.unique(ends)) < c.articles - c.exact
        assert c.verified_pairs >= len(ends) // 2
    assert len(list((small_shards / "state" / "segments").glob("*/*.signatures.npy"))) > 3


def _shard_stats(rng, k: int):
    from collections import Counter

    from pipelines.stages import ShardStats

    src = [f"s{rng.randrange(4)}" for _ in range(3)]
    return ShardStats(
        articles=rng.randrange(1, 20), candidates=rng.randrange(10),
        dropped=Counter({r: rng.randrange(1, 4) for r in rng.sample(["short", "language", "furniture"], 2)}),
        edits=Counter({r: rng.randrange(1, 9) for r in rng.sample(["rules", "learned", "classifier", "mojibake"], 3)}),
        edits_by_source={s: Counter({"rules": rng.randrange(1, 5)}) for s in src},
        words_before=Counter({s: rng.randrange(100, 900) for s in src}),
        words_removed=Counter({s: rng.randrange(0, 90) for s in src}),
        removed_lines=Counter({(s, "rules", f"line {rng.randrange(30)}"): rng.randrange(1, 6) for s in src}),
        languages=Counter({"en": rng.randrange(1, 9)}),
        timings=Counter({"boilerplate": 0.25 * rng.randrange(1, 9)}),
        # Ties in removed words, and an id seen in two shards.
        examples=[{"id": f"a{rng.randrange(40):03d}", "removed_words": rng.randrange(5), "shard": k} for _ in range(3)],
    )


def test_the_tree_reduce_of_shard_statistics_is_the_flat_merge(monkeypatch):
    """Statistics merged in groups, level by level, then once more: the
    same counters (in the same order), examples and top removed lines as
    merging every shard's in one call."""
    import random

    import pipelines.tasks as tasks

    rng = random.Random(3)
    parts = [_shard_stats(rng, k) for k in range(61)]
    flat = tasks.merge_stats(parts, 45, 7, 10)
    calls = []
    real = tasks.merge_shard_stats

    def counting(group, examples):
        calls.append(len(group))
        return real(group, examples)

    monkeypatch.setattr(tasks, "merge_shard_stats", counting)
    for fan_in in (2, 3, 8):
        monkeypatch.setattr(tasks, "TREE_FAN_IN", fan_in)
        calls.clear()
        new = tasks.tree_reduce(tasks.merge_shard_stats, parts[:45], "merge", 7)
        old = tasks.tree_reduce(tasks.merge_shard_stats, parts[45:], "merge", 7)
        assert len(new) <= fan_in and max(calls) <= fan_in and len(calls) > 45 // fan_in
        tree = tasks.merge_stats(new + old, len(new), 7, 10)
        for t, f in zip(tree, flat):
            assert t.timings == pytest.approx(f.timings)  # float sums: the grouping may move the last bit
            t.timings = f.timings
            assert t == f
            assert list(t.edits.items()) == list(f.edits.items())
            assert [e["shard"] for e in t.examples] == [e["shard"] for e in f.examples]


def test_the_tree_reduce_of_line_statistics_learns_what_the_flat_merge_learns(monkeypatch, tmp_path):
    import random

    import pipelines.tasks as tasks
    from cleaners.boilerplate import SourceLineStats
    from pipelines.config import load_config

    cfg = load_config(None)
    b = cfg.boilerplate
    rng = random.Random(5)
    parts = []
    for k in range(23):
        stats = SourceLineStats(b.learn_min_articles, b.learn_min_share)
        for row in range(12):
            # The story line is the longest (the article's fingerprint); digits
            # would not tell stories apart (line keys read them as 0).
            story = " ".join(rng.choice(["rain", "vote", "match", "court", "fire", "bank", "storm"]) for _ in range(12))
            lines = [f"Follow us on site {'abc'[rng.randrange(3)]}", story, "Share this page"]
            stats.observe(f"s{rng.randrange(3)}", lines[:rng.randrange(1, 4)], row)
        parts.append((stats, {"extract": 0.5, "repair": 0.25}))
    (tmp_path / "flat").mkdir()
    learned, _plan, seconds = tasks.learn_corpus(parts, [], str(tmp_path / "flat"), cfg)
    assert learned and seconds == {"extract": 11.5, "repair": 5.75}
    monkeypatch.setattr(tasks, "TREE_FAN_IN", 2)
    reduced = tasks.tree_reduce(tasks.merge_line_stats, parts, "merge", cfg)
    assert len(reduced) == 2
    (tmp_path / "tree").mkdir()
    assert tasks.learn_corpus(reduced, [], str(tmp_path / "tree"), cfg)[::2] == (learned, seconds)


def _letters(k: int) -> str:
    out = ""
    while True:
        k, d = divmod(k, 26)
        out += chr(97 + d)
        if not k:
            return out


@pytest.fixture(scope="module")
def copies_corpus(run_flow, tmp_path_factory):
    """BBC stories, some with a copy, one of them in 2,000 near copies (one word differs; the
    same words and a few dates, so ranks tie and ids decide; every tenth
    cut short; each word in two copies, an exact copy, far apart in the
    input), and another in three exact copies at the start, middle and end:
    at 250 articles per shard, copies in every shard. Each copy has a
    source of its own, so no line is learned as boilerplate."""
    from conftest import shared

    path = shared("data", "bbc-news-2225", "bbc_news.jsonl")
    bbc = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[:62]]
    rows = [{"id": f"base-{k:03d}", "title": r["title"], "text": r["text"], "source": f"src-{k}",
             "published": f"2025-02-{1 + k % 28:02d}"} for k, r in enumerate(bbc[:60])]
    words = bbc[60]["text"].split(" ")
    at = next(k for k in range(len(words) // 2, len(words)) if "\n" not in words[k] and words[k].isalpha())
    for k in range(2000):
        text = " ".join([*words[:at], f"variant{_letters(k % 1500)}", *words[at + 1:]])
        if k % 10 == 3:
            paras = text.split("\n\n")
            text = "\n\n".join(paras[:len(paras) * 2 // 3])
        rows.append({"id": f"copy-{k:04d}", "title": bbc[60]["title"], "text": text, "source": f"wire-{k}",
                     "published": f"2025-03-{1 + k % 4:02d}"})
    # Small components too: a copy cut short of every third story, an exact
    # copy of every other third, at the end (other shards).
    for k, r in enumerate(bbc[:40]):
        paras = r["text"].split("\n\n")
        if k % 3 == 0 and len(paras) > 3:
            rows.append({**rows[k], "id": f"cut-{k:03d}", "text": "\n\n".join(paras[:len(paras) * 2 // 3]),
                         "source": f"cut-{k}", "published": "2025-02-28"})
        elif k % 3 == 1:
            rows.append({**rows[k], "id": f"again-{k:03d}", "source": f"again-{k}"})
    for where, name in ((5, "exact-a"), (1000, "exact-b"), (len(rows), "exact-c")):
        rows.insert(where, {"id": name, "title": bbc[61]["title"], "text": bbc[61]["text"], "source": name,
                            "published": "2025-04-01"})
    base = tmp_path_factory.mktemp("copies")
    (base / "in").mkdir()
    (base / "in" / "feed.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    run_flow(base / "in", base / "out", _config(base, "[run]\nshard_size = 250\nworkers = 2\n"))
    return base / "out"


def test_components_in_1_3_or_50_batches_give_the_clusters_of_one_process(copies_corpus, tmp_path, monkeypatch):
    """A component of 2,000 copies, rank ties, exact copies across shards:
    the components grouped into 1, 3 or 50 batches, each clustered on its
    own, assign every article what cluster() over every signature in one
    process assigns, and write the same bytes; a batch reads the sidecars
    of its members' shards only, and the signatures of its members in a
    verified pair only."""
    import pipelines.corpus as corpus
    from pipelines.config import load_config
    from pipelines.store import State

    segments, cfg = State.open(copies_corpus).segments, load_config(None)
    expected = _one_process(segments, cfg)
    big = {v[0] for k, v in expected.items() if k.startswith("copy-")}
    assert len(big) <= 3 and sum(1 for v in expected.values() if v[0] in big) > 1900
    assert {expected[f"exact-{x}"] for x in "bc"} == {("exact-a", 1.0, 1.0, True, "exact")}
    groups = len(segments[0].shards())
    assert groups >= 8

    comps, reads, batch_of_read = [], [], [None]
    real_components, real_batch, real_features = corpus.dedup_components, corpus.dedup_batch, corpus._features

    def components(*args):
        comps.append(real_components(*args))
        return comps[-1]

    def batch(b, comp, segments, groups, rows, params, dest):
        members = corpus._slices(b, [comp.members], "members", corpus.MEMBER)
        mine = {(groups[u][0], groups[u][1]) for u in np.unique(members["unit"]).tolist()}

        def counted(numbers):
            assert set(numbers.tolist()) <= set(members["number"].tolist())
            reads.append(numbers)
            return rows(numbers)
        counted.where = rows.where
        batch_of_read[0] = set()
        out = real_batch(b, comp, segments, groups, counted, params, dest)
        assert batch_of_read[0] == mine, "a batch read a sidecar none of its members is in"
        batch_of_read[0] = None
        return out

    def features(seg, shard):
        if batch_of_read[0] is not None:
            batch_of_read[0].add((next(k for k, s in enumerate(segments) if s.path == seg.path), shard))
        return real_features(seg, shard)

    monkeypatch.setattr(corpus, "dedup_components", components)
    monkeypatch.setattr(corpus, "dedup_batch", batch)
    monkeypatch.setattr(corpus, "_features", features)
    first = None
    for batches in (1, 3, 50):
        work = tmp_path / f"b{batches}"
        comps.clear()
        reads.clear()
        c = corpus.dedup_steps(segments, cfg, True, str(copies_corpus), str(work), None, None, batches)
        (comp,) = comps
        assert comp.batches == batches if batches < 50 else 3 < comp.batches <= batches
        assert max(comp.articles) > 1900  # the copies' component is never cut
        assert _assigned(segments, work) == expected
        assert c.clusters == len({v[0] for v in expected.values()})
        first = first or _files(work)
        assert _files(work) == first, batches
        ends = np.concatenate(reads)
        assert len(ends) == len(np.unique(ends)) and c.verified_pairs > 1000


def test_the_plan_ranks_and_groups_in_arrow_as_rank_key_does_in_python():
    """lsh_plan numbers articles from Arrow columns (sort_indices, exact keys
    as dictionary codes): the same order and representatives as rank_key
    tuples and string keys, with ties in words and dates, undated articles,
    an empty date and ids outside ASCII (Arrow compares UTF-8 bytes)."""
    import random

    import pyarrow as pa
    import pyarrow.compute as pc

    from cleaners.dedup import rank_key
    from cleaners.dedup.clustering import representatives
    from pipelines.corpus import _rank_order

    rng = random.Random(4)
    n = 3000
    ids = [f"{rng.choice(['a', 'b', 'é', 'Z', 'ж', '𝔘'])}{rng.randrange(10**6)}-{k}" for k in range(n)]
    words = [rng.choice([120, 120, 121, 400, 7]) for _ in range(n)]
    published = [rng.choice([None, "", "2024-03-01", "2024-03-01T08:00:00Z", "2023-12-31"]) for _ in range(n)]
    exact = [f"{rng.randrange(600):032x}" for _ in range(n)]
    want = representatives(exact, [rank_key(w, p, i) for w, p, i in zip(words, published, ids)])
    t = pa.table({"words": pa.array(words, pa.int64()), "published": pa.array(published, pa.string()),
                  "id": pa.array(ids, pa.string())})
    codes = pc.dictionary_encode(pa.array(exact)).indices.to_numpy().astype(np.int64)
    got = representatives(codes, _rank_order(t))
    for a, b in zip(want, got):
        assert np.array_equal(a, b)
    assert 300 < len(want[2]) < n  # exact copies grouped
