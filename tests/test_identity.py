"""Document identity under hostile ids and names: one rule for every id,
within a run and across runs, and every input document accounted for."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

from conftest import ROOT

STORIES = sorted((ROOT / "raw" / "harbor-gazette").glob("*.txt")) + sorted((ROOT / "raw" / "techwire-today").glob("*.txt"))


def _story(i: int) -> str:
    return STORIES[i].read_text(encoding="utf-8")


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _outputs(out: Path) -> tuple[dict, dict]:
    return {a["id"]: a for a in _jsonl(out / "articles.jsonl")}, {d["id"]: d for d in _jsonl(out / "dropped.jsonl")}


def _record(result) -> dict:
    return json.loads(Path(result["record"]).read_text())


def _write_jsonl(path: Path, rows: list) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")


def test_ids_and_paths_with_tabs_newlines_and_returns_survive_runs(run_flow, tmp_path):
    raw = tmp_path / "raw"
    _write_jsonl(raw / "feed.jsonl", [{"id": "a\tb", "text": _story(0)}, {"id": "line\nbreak", "text": _story(1)},
                                      {"id": "cr\rid\\t", "text": _story(2)}])
    (raw / "site").mkdir()
    (raw / "site" / "tab\there.txt").write_text(_story(3), encoding="utf-8")
    (raw / "site" / "new\nline.txt").write_text(_story(4), encoding="utf-8")
    out = tmp_path / "out"
    first = run_flow(raw, out)
    kept, dropped = _outputs(out)
    want = {"a\tb", "line\nbreak", "cr\rid\\t", "site/tab\there.txt", "site/new\nline.txt"}
    assert set(kept) | set(dropped) == want
    # The index stores them escaped: one line per document.
    index = "".join(p.read_text(encoding="utf-8") for p in (out / "state" / "segments").rglob("*.index.tsv"))
    assert len(index.splitlines()) == 5 and all(len(line.split("\t")) == 3 for line in index.splitlines())
    # A rerun recognises every one of them, and later runs on the folder still work.
    again = _record(run_flow(raw, out))
    assert again["counts"]["unchanged"] == 5 and again["counts"]["new"] == 0
    clean = tmp_path / "clean"
    (clean / "more.txt").parent.mkdir()
    (clean / "more.txt").write_text(_story(5), encoding="utf-8")
    later = run_flow(clean, out)
    assert later["kept"] + later["dropped"] == 6 and first["kept"] + first["dropped"] == 5


def test_a_file_name_that_is_not_utf8_is_read_and_reported_escaped(run_flow, tmp_path):
    raw = tmp_path / "raw"
    (raw / "site").mkdir(parents=True)
    name = os.path.join(os.fsencode(raw / "site"), b"caf\xe9-\xff.txt")
    with open(name, "wb") as fh:
        fh.write(_story(0).encode())
    (raw / "site" / "plain.txt").write_text(_story(1), encoding="utf-8")
    out = tmp_path / "out"
    run_flow(raw, out)
    kept, dropped = _outputs(out)
    assert set(kept) | set(dropped) == {"site/caf\\xe9-\\xff.txt", "site/plain.txt"}


def test_a_quarantined_record_never_displaces_a_valid_one(run_flow, tmp_path):
    raw = tmp_path / "raw"
    _write_jsonl(raw / "feed.jsonl", [
        {"id": "X", "text": _story(0)},
        {"id": "X"},  # no text: quarantined, but the id is X's
        {"id": "feed.jsonl:4", "text": _story(1)},  # an explicit id equal to a generated one
        "{broken json",  # line 4: its generated id is taken by the record above
        {"id": "Y", "text": 5},
    ])
    _write_jsonl(raw / "later.jsonl", [{"id": "X", "text": _story(2)}])  # a valid duplicate id
    out = tmp_path / "out"
    result = run_flow(raw, out)
    kept, dropped = _outputs(out)
    assert kept["X"]["text"] in _story(0) or kept["X"]["title"] in _story(0)
    assert "feed.jsonl:4" in kept
    q = {k: v for k, v in dropped.items() if v["reason"] == "quarantined"}
    assert set(q) == {"X (quarantined at feed.jsonl:2)", "feed.jsonl:4 (quarantined at feed.jsonl:4)", "Y", "later.jsonl:1"}
    assert "duplicate id 'X'" in q["later.jsonl:1"]["detail"]
    assert result["kept"] + result["dropped"] == 6
    # The quarantined records keep their own, unchanged names on a rerun.
    assert _record(run_flow(raw, out))["counts"]["unchanged"] == 6
    assert _outputs(out) == (kept, dropped)


def test_the_same_id_in_two_runs_is_decided_as_in_one_run_and_recorded(run_flow, tmp_path):
    a, b = tmp_path / "in" / "a", tmp_path / "in" / "b"
    _write_jsonl(a / "feed.jsonl", [{"id": "story-1", "text": _story(0)}, {"id": "story-2", "text": _story(1)}])
    _write_jsonl(b / "feed.jsonl", [{"id": "story-1", "text": _story(2)}, {"id": "story-3", "text": _story(3)}])
    one = tmp_path / "one"
    run_flow(tmp_path / "in", one)
    nightly = tmp_path / "nightly"
    run_flow(a, nightly)
    second = _record(run_flow(b, nightly))
    kept1, dropped1 = _outputs(one)
    kept2, dropped2 = _outputs(nightly)
    assert kept1 == kept2 and "story-1" in kept2
    assert kept2["story-1"]["title"] in _story(0)
    # The second story-1 is quarantined in both, under where it was read.
    assert {d["reason"] for d in dropped1.values()} == {d["reason"] for d in dropped2.values()} == {"quarantined"}
    (conflict,) = dropped2.values()
    assert "duplicate id 'story-1'" in conflict["detail"]
    assert second["id_conflicts"] == [{"id": "story-1", "quarantined_as": conflict["id"]}]


def test_an_empty_gzip_file_is_quarantined_as_empty(run_flow, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "empty.jsonl.gz").write_bytes(b"")
    with gzip.open(raw / "nothing.jsonl.gz", "wb") as fh:
        fh.write(b"")
    _write_jsonl(raw / "ok.jsonl", [{"id": "ok", "text": _story(0)}])
    out = tmp_path / "out"
    run_flow(raw, out)
    kept, dropped = _outputs(out)
    assert set(kept) == {"ok"}
    assert dropped["empty.jsonl.gz"]["detail"] == "empty file (0 bytes)"
    assert "no records" in dropped["nothing.jsonl.gz"]["detail"]
