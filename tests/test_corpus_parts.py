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
    from pipelines.corpus import dedup_corpus
    from pipelines.store import State

    return dedup_corpus(State.open(out, verify=verify).segments, load_config(None), True, str(out), str(work), None)


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
    and neither dedup nor the part writer ran in this (the driver) process."""
    pytest.importorskip("distributed")
    import pipelines.corpus as corpus

    def not_here(*_args, **_kw):
        raise AssertionError("ran in the driver")

    # The workers import the module themselves: only the driver's copy fails.
    monkeypatch.setattr(corpus, "cluster", not_here)
    monkeypatch.setattr(corpus, "_write_part", not_here)
    out = tmp_path / "out"
    result = run_flow(ROOT / "raw", out, _config(tmp_path, '[run]\nexecutor = "dask"\nworkers = 2\nshard_size = 10\n'))
    _same_outputs(out, sample_run[0])
    record = json.loads(Path(result["record"]).read_text(encoding="utf-8"))
    reference = json.loads(Path(sample_run[1]["record"]).read_text(encoding="utf-8"))
    assert record["counts"]["clusters"] == reference["counts"]["clusters"]
    assert record["added"] == reference["added"]
