"""Id resolution by hash partition of the id (pipelines.intake.resolve_steps):
whatever the number of partitions, what it decides is what the rule decides
walking every claim of the run in one process, and no partition's task
holds ids of another."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT
from pipelines import intake
from pipelines.readers import Rejected, content_hash, quarantine_ids, scan
from pipelines.store import Segment, atomic_open, index_line, seen_ids, unescape_field, write_jsonl

STORIES = sorted((ROOT / "raw" / "harbor-gazette").glob("*.txt")) + sorted((ROOT / "raw" / "techwire-today").glob("*.txt"))


def _story(i: int) -> str:
    return STORIES[i % len(STORIES)].read_text(encoding="utf-8")


def _write_jsonl(path: Path, rows: list) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")


# ---------------------------------------------------------------------------
# The rule in one process, as pipelines.intake.resolve_ids applied it before
# resolution was partitioned (6307596): every id of the run and the corpus
# in one dict. The partitioned steps must decide exactly this.

def _claims(prefix: str):
    with open(intake.part_paths(prefix)[1], encoding="utf-8") as fh:
        for row in fh:
            kind, doc_id, chash, origin, path, line, _page = row.rstrip("\n").split("\t")
            yield kind, unescape_field(doc_id), chash, unescape_field(origin), unescape_field(path), int(line) if line else None


def _one_process(prefixes, segments, staging, max_warnings=50):
    seen = seen_ids(segments)
    res = intake.Resolution()
    first_use: dict[str, str] = {}
    rejected = []
    keeps = []
    for p, prefix in enumerate(prefixes):
        keep = []
        for k, (kind, doc_id, chash, origin, path, line) in enumerate(_claims(prefix)):
            res.counts["documents"] += 1
            keep.append(False)
            if kind == "r":
                rejected.append((p, k, None))
                continue
            if doc_id in first_use:
                previous, earlier_run = (first_use[doc_id], "candidate"), False
            else:
                first_use[doc_id] = chash
                previous, earlier_run = seen.get(doc_id), True
            if previous is not None and previous[0] == chash:
                res.counts["unchanged"] += 1
                continue
            if previous is not None and previous[1] != "rejected":
                rejected.append((p, k, Rejected(origin, f"duplicate id {doc_id!r}: an earlier record holds a different "
                                                        "document under this id (the first record of an id keeps it)", path, line)))
                if earlier_run:
                    res.conflicts.append({"id": doc_id, "quarantined_as": origin})
                continue
            res.counts["updated" if previous else "new"] += 1
            keep[-1] = True
        keeps.append(np.array(keep, dtype=bool))
    records, places = [], []
    for p, k, made in rejected:
        with open(intake.part_paths(prefixes[p])[0], encoding="utf-8") as fh:
            row = json.loads(fh.readlines()[k])
        if made is None:
            r = row["rejected"]
            made = Rejected(r["id"], r["detail"], r["path"], r.get("line"), r.get("raw", ""), r.get("reason", "quarantined"))
        records.append(made)
        places.append(row["pos"])
    quarantine_ids(records, set(first_use), lambda i: seen.get(i, ("", "rejected"))[1] != "rejected")
    rows, index = [], []
    for doc, pos in zip(records, places):
        chash = content_hash(doc.detail + doc.raw, doc.path)
        if seen.get(doc.id, ("",))[0] == chash:
            res.counts["unchanged"] += 1
            continue
        if len(res.warnings) < max_warnings:
            res.warnings.append(f"quarantined {doc.id}: {doc.detail}")
        rows.append({**doc.to_dict(), "_pos": pos})
        index.append(index_line(doc.id, chash, "rejected"))
        res.counts["rejected"] += 1
    write_jsonl(Path(staging) / "rejected.jsonl", rows)
    with atomic_open(Path(staging) / "rejected.index.tsv") as fh:
        fh.write("".join(line + "\n" for line in index))
    return res, keeps


# ---------------------------------------------------------------------------

CAFE = "caf\u00e9"


def _adversarial_input(raw: Path) -> None:
    """The same id in many files (parts), the same id with other content,
    quarantined lines and their repaired versions, ids equal but for case
    or Unicode normalisation, line separators and tabs in ids, and valid
    ids equal to the names quarantined records would be renamed to."""
    _write_jsonl(raw / "01.jsonl", [
        {"id": "X", "text": _story(0)}, {"id": "X"}, {"id": "01.jsonl:4", "text": _story(1)}, "{broken json",
        {"id": "Y", "text": 5}, {"id": "Story", "text": _story(2)}, {"id": "story", "text": _story(3)},
        {"id": unicodedata.normalize("NFC", CAFE), "text": _story(4)},
        {"id": unicodedata.normalize("NFD", CAFE), "text": _story(5)},
        {"id": "R"}, {"id": "line\u2028sep\ttab\\n", "text": _story(6)}])
    _write_jsonl(raw / "02.jsonl", [
        {"id": "X", "text": _story(0)}, {"id": "X", "text": _story(7)}, {"id": "Q", "text": _story(8)}, {"id": "Q"},
        *({"id": f"Q (quarantined at 02.jsonl:4{f', {n}' if n > 1 else ''})", "text": _story(8 + n)} for n in range(1, 6))])
    for n in range(3, 12):
        _write_jsonl(raw / f"{n:02d}.jsonl", [
            {"id": "X", "text": _story(10 + n)}, {"id": f"a{n}", "text": _story(20 + n)}, {"id": "Story", "text": _story(2)},
            {"id": "R"}, {"id": "C", "text": _story(n % 3)}, {"id": f"old{n}", "text": _story(30 + n)}])
    _write_jsonl(raw / "12.jsonl", [{"id": "R", "text": _story(40)}, {"id": "R", "text": _story(41)}, "{also broken"])


def _earlier_runs(root: Path, claims: dict[str, str]) -> list[Segment]:
    """Two earlier segments (index files only, what resolution reads):
    some of this run's ids with this content, some with other content, some
    quarantined (a repaired version may take them), some filtered; the later
    segment's version of an id wins over the earlier's; and a valid id
    equal to a name a quarantined record would be renamed to."""
    one, two = root / "00001", root / "00002"
    one.mkdir(parents=True)
    two.mkdir(parents=True)
    (one / "00000.index.tsv").write_text("".join(line + "\n" for line in [
        index_line("a3", claims["a3"], "candidate"),  # unchanged
        index_line("a4", "0" * 24, "candidate"),  # a conflict
        index_line("a5", "1" * 24, "filtered"),  # a conflict too
        index_line("old6", "2" * 24, "candidate"),  # superseded by segment 2's quarantined version
        index_line("old7", claims["old7"], "filtered"),
        index_line(unicodedata.normalize("NFD", CAFE), "3" * 24, "candidate"),
        index_line("R (quarantined at 03.jsonl:4)", "4" * 24, "candidate"),  # R there must take its second name
    ]), encoding="utf-8")
    (one / "00001.index.tsv").write_text(index_line("old8", "5" * 24, "candidate") + "\n", encoding="utf-8")
    (one / "rejected.index.tsv").write_text(index_line("R", "6" * 24, "rejected") + "\n", encoding="utf-8")
    (two / "00000.index.tsv").write_text(index_line("old8", claims["old8"], "candidate") + "\n", encoding="utf-8")
    (two / "rejected.index.tsv").write_text(index_line("old6", "7" * 24, "rejected") + "\n", encoding="utf-8")
    return [Segment(one), Segment(two)]


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    """The adversarial input read into parts (one per file or two), and
    earlier segments built against its claims."""
    base = tmp_path_factory.mktemp("ids")
    _adversarial_input(base / "raw")
    found = scan(str(base / "raw"))
    planned = intake.plan_parts(found, 1)
    assert len(planned) >= 10
    prefixes = [str(base / "parts" / f"{p:05d}") for p in range(len(planned))]
    for files, prefix in zip(planned, prefixes):
        intake.read_part(files, str(Path(found.root).absolute()), prefix, 1 << 30)
    claims = {doc_id: chash for p in prefixes for kind, doc_id, chash, *_ in _claims(p) if kind == "a"}
    return base, prefixes, _earlier_runs(base / "segments", claims)


def _copy_parts(base: Path, prefixes: list[str], dest: Path) -> list[str]:
    shutil.copytree(base / "parts", dest / "parts")
    (dest / "staging").mkdir()
    return [str(dest / "parts" / Path(p).name) for p in prefixes]


@pytest.mark.parametrize("earlier", [False, True])
def test_resolution_in_hash_partitions_is_the_rule_in_one_process(parts, tmp_path, monkeypatch, earlier):
    """With 1, 7 and 64 partitions: the same kept lines per part, counts,
    id conflicts and warnings in input order, and rejected.jsonl /
    rejected.index.tsv byte for byte, as the rule walking every claim in
    one process; every partition's task holds only ids of its partition,
    and no task reads every earlier id at once."""
    base, prefixes, segments = parts
    segments = segments if earlier else []
    ref_parts = _copy_parts(base, prefixes, tmp_path / "ref")
    want, keeps = _one_process(ref_parts, segments, tmp_path / "ref" / "staging")
    assert want.counts["rejected"] > 10 and want.counts["unchanged"] > 3
    if earlier:
        assert {c["id"] for c in want.conflicts} == {"a4", "a5", unicodedata.normalize("NFD", CAFE)}
        # The repaired R takes the id a quarantined record held; a later R is a duplicate.
        assert want.counts["updated"] >= 2

    def whole_corpus(*_a):
        raise AssertionError("every earlier id read in one process")

    monkeypatch.setattr(intake, "seen_ids", whole_corpus, raising=False)
    held: list[tuple[int, int, set[str]]] = []
    real = intake._partition_ids

    def spy(r, parts_, index_prefixes):
        seen, claims = real(r, parts_, index_prefixes)
        claims = list(claims)
        held.append((r, len(index_prefixes), set(seen) | {c[3] for c in claims}))
        return seen, iter(claims)

    monkeypatch.setattr(intake, "_partition_ids", spy)
    every_id = {doc_id for p in ref_parts for _k, doc_id, *_ in _claims(p)} | {i for i in seen_ids(segments)}
    for partitions in (1, 7, 64):
        run = tmp_path / f"p{partitions}"
        got_parts = _copy_parts(base, prefixes, run)
        held.clear()
        got = intake.resolve_steps(got_parts, segments, str(run / "staging"), partitions)
        assert got.counts == want.counts, partitions
        assert got.conflicts == want.conflicts and got.warnings == want.warnings, partitions
        for ref, mine in zip(keeps, got_parts):
            assert np.array_equal(np.load(intake.part_paths(mine)[2]), ref), partitions
        for name in ("rejected.jsonl", "rejected.index.tsv"):
            assert (run / "staging" / name).read_bytes() == (tmp_path / "ref" / "staging" / name).read_bytes(), (partitions, name)
        # Nothing of the shuffle is left in the staging folder (it becomes the segment).
        assert sorted(p.name for p in (run / "staging").iterdir()) == ["rejected.index.tsv", "rejected.jsonl"]
        assert not (run / "parts" / "ids").exists()
        resolved = [(r, ids) for r, _n, ids in held]
        assert {r for r, _ in resolved} == set(range(partitions))
        for r, ids in resolved:
            assert all(intake.id_partition(i, partitions) == r for i in ids), partitions
            assert len(ids) < len(every_id) or partitions == 1
        if partitions > 1:
            assert sum(1 for _r, ids in resolved if ids) > 2
        assert all(n == (sum(1 for seg in segments for _ in seg.path.glob("*.index.tsv"))) for _r, n, _i in held)


def test_the_names_of_quarantined_records_are_asked_of_the_partitions_owning_them(parts, tmp_path, monkeypatch):
    """Renaming a quarantined record tries names until one is free: here
    02.jsonl:4's Q needs its sixth name (five are valid ids of this run),
    which takes more than the first round of questions; each question goes
    to the partition that owns the name, and only those partitions load."""
    base, prefixes, segments = parts
    asked: list[tuple[int, list[str]]] = []
    real = intake.id_names_lookup

    def spy(r, parts_, index_prefixes, prefix):
        names = [unescape_field(n) for n in Path(f"{prefix}.tsv").read_text(encoding="utf-8").split("\n")[:-1]]
        asked.append((r, names))
        return real(r, parts_, index_prefixes, prefix)

    monkeypatch.setattr(intake, "id_names_lookup", spy)
    got_parts = _copy_parts(base, prefixes, tmp_path)
    intake.resolve_steps(got_parts, segments, str(tmp_path / "staging"), 7)
    names = {n for _r, ns in asked for n in ns}
    assert "Q (quarantined at 02.jsonl:4, 6)" in names
    assert all(intake.id_partition(n, 7) == r for r, ns in asked for n in ns)
    rejected = [json.loads(line) for line in (tmp_path / "staging" / "rejected.jsonl").read_text(encoding="utf-8").splitlines()]
    assert "Q (quarantined at 02.jsonl:4, 6)" in {r["id"] for r in rejected}


def test_id_partitions_are_the_same_in_every_process():
    """The partition of an id may not depend on the process (Python salts
    str hashes per process): a worker and the driver must agree."""
    ids = ["X", "x", unicodedata.normalize("NFC", CAFE), unicodedata.normalize("NFD", CAFE), "tab\there", "line\u2028sep", ""]
    here = [intake.id_partition(i, 64) for i in ids]
    assert len(set(here)) > 3
    code = f"from pipelines import intake; print([intake.id_partition(i, 64) for i in {ids!r}])"
    for seed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}).stdout
        assert json.loads(out) == here


def _flow_input(base: Path) -> Path:
    _adversarial_input(base / "in" / "a")
    _write_jsonl(base / "in" / "b" / "01.jsonl", [{"id": "R", "text": _story(50)}, {"id": "X", "text": _story(51)},
                                                  {"id": "X"}, {"id": "a3", "text": _story(52)}, "{broken"])
    return base / "in"


def _runs(run_flow, inputs: Path, out: Path, config: Path, at_once: bool = True) -> list[dict]:
    """Nightly runs (a, then b) and, with ``at_once``, one run over both;
    the counts of their run records."""
    for d in ("a", "b"):
        run_flow(inputs / d, out / "nightly", config)
    records = sorted((out / "nightly" / "runs").glob("*.json"))
    if at_once:
        run_flow(inputs, out / "one", config)
        records += sorted((out / "one" / "runs").glob("*.json"))
    return [{k: v for k, v in json.loads(p.read_text())["counts"].items() if "seconds" not in k} for p in records]


def _same_outputs(out: Path, reference: Path, kinds=("nightly", "one")) -> None:
    for kind in kinds:
        for name in ("articles.jsonl", "dropped.jsonl"):
            assert (out / kind / name).read_bytes() == (reference / kind / name).read_bytes(), (kind, name)


@pytest.fixture(scope="module")
def flows(run_flow, tmp_path_factory):
    """The adversarial input run nightly and at once, shards of 2 articles
    (parts of one or two files: one id partition per part)."""
    base = tmp_path_factory.mktemp("ids-flow")
    inputs = _flow_input(base)
    config = base / "small.toml"
    config.write_text("[run]\nshard_size = 2\nworkers = 1\n", encoding="utf-8")
    assert len(intake.plan_parts(scan(str(inputs / "a")), 2)) > 5
    return inputs, config, base / "many", _runs(run_flow, inputs, base / "many", config)


def test_a_run_with_one_id_partition_writes_what_a_run_with_many_writes(flows, run_flow, tmp_path, monkeypatch):
    """The whole flow, nightly runs and one, with every id in one partition
    and with one partition per part: the same outputs, byte for byte, and
    the same counts in the run records."""
    inputs, config, many, counts = flows
    monkeypatch.setattr(intake, "MAX_ID_PARTITIONS", 1)
    assert _runs(run_flow, inputs, tmp_path, config) == counts
    _same_outputs(tmp_path, many)


def test_dask_resolves_ids_on_its_workers_with_the_bytes_of_processes(flows, run_flow, tmp_path, monkeypatch):
    """``executor = "dask"``, two workers, nightly runs: the same outputs
    and counts as the process executor, and no step of id resolution ran
    in the driver (its copies of the steps' insides fail; the workers
    import their own)."""
    pytest.importorskip("distributed")
    inputs, _config, many, counts = flows

    def not_here(*_args, **_kw):
        raise AssertionError("ran in the driver")

    for name in ("_save_grouped_lines", "_partition_ids", "_quarantined"):
        monkeypatch.setattr(intake, name, not_here)
    config = tmp_path / "dask.toml"
    config.write_text('[run]\nexecutor = "dask"\nworkers = 2\nshard_size = 2\n', encoding="utf-8")
    assert _runs(run_flow, inputs, tmp_path, config, at_once=False) == counts[:2]
    _same_outputs(tmp_path, many, ("nightly",))
