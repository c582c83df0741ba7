"""The whole pipeline on the embedded sample (raw/): every input accounted
for, syndicated copies clustered by story, bad input quarantined, reruns
byte-identical. Expectations about the sample live in
tests/data/sample_expectations.json, written together with the sample."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from cleaners.repair import strip_markdown
from conftest import DATA, ROOT
from pipelines.readers import read_documents, scan

EXPECT = json.loads((DATA / "sample_expectations.json").read_text(encoding="utf-8"))


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _input_ids() -> list[str]:
    ids = []
    for doc in read_documents(scan(ROOT / "raw")):
        ids.append(doc.id)
    return ids


@pytest.fixture(scope="module")
def sample(sample_run):
    out, result = sample_run
    return {
        "out": out,
        "result": result,
        "articles": {a["id"]: a for a in _jsonl(out / "articles.jsonl")},
        "dropped": {d["id"]: d for d in _jsonl(out / "dropped.jsonl")},
    }


@pytest.fixture(scope="module")
def undeduped(run_flow, tmp_path_factory):
    out = tmp_path_factory.mktemp("nodedup")
    run_flow(ROOT / "raw", out, dedup=False)
    return {a["id"]: a for a in _jsonl(out / "articles.jsonl")}, {d["id"]: d for d in _jsonl(out / "dropped.jsonl")}


def test_every_input_article_appears_exactly_once(sample):
    kept, dropped = list(sample["articles"]), list(sample["dropped"])
    inputs = _input_ids()
    assert len(inputs) >= 44
    assert sorted(kept + dropped) == sorted(inputs), "each input id must be kept or dropped, once"
    assert not set(kept) & set(dropped)


def test_sample_has_what_the_issue_asks_for():
    txt = list((ROOT / "raw").rglob("*.txt"))
    jsonl = list((ROOT / "raw").rglob("*.jsonl")) + list((ROOT / "raw").rglob("*.jsonl.gz"))
    assert len(txt) >= 20 and len(jsonl) >= 2
    good = [d for d in read_documents(scan(ROOT / "raw")) if hasattr(d, "edits")]
    assert len(good) >= 40


def test_syndicated_copies_cluster_by_story_and_nothing_else(sample):
    canonical_of = {}
    for a in sample["articles"].values():
        canonical_of[a["id"]] = a["id"]
        for dup in a["duplicates"]:
            canonical_of[dup["id"]] = a["id"]
            assert 0.0 < dup["similarity"] <= 1.0
    story_ids = set()
    for story, ids in EXPECT["stories"].items():
        canons = {canonical_of.get(i) for i in ids}
        assert len(canons) == 1 and None not in canons, f"{story} split over {canons}"
        story_ids |= set(ids)
    # No article outside the stories is folded into anything.
    for a in sample["articles"].values():
        members = {a["id"], *(d["id"] for d in a["duplicates"])}
        if len(members) > 1:
            assert members <= story_ids
            matching = [set(ids) for ids in EXPECT["stories"].values() if a["id"] in ids]
            assert matching and members == matching[0]
    for group in EXPECT["distinct_same_event"]:
        assert all(i in sample["articles"] and not sample["articles"][i]["duplicates"] for i in group)


def test_duplicates_are_dropped_with_their_canonical(sample):
    for d in sample["dropped"].values():
        if d["reason"] == "duplicate":
            canon = sample["articles"][d["canonical"]]
            assert d["id"] in {m["id"] for m in canon["duplicates"]}
            assert d["canonical"] in d["detail"]


def test_bad_input_is_quarantined_with_a_readable_reason(sample):
    dropped = sample["dropped"]
    for doc_id, kind in EXPECT["bad"].items():
        assert doc_id in dropped, doc_id
        if kind == "empty_text":
            assert dropped[doc_id]["reason"] == "empty"
        else:
            assert dropped[doc_id]["reason"] == "quarantined"
            assert len(dropped[doc_id]["detail"]) > 10
    assert "broken JSON" in dropped[next(i for i, k in EXPECT["bad"].items() if k == "broken_json")]["detail"]
    assert "text" in dropped[next(i for i, k in EXPECT["bad"].items() if k == "no_text")]["detail"]
    run = json.loads(Path(sample["result"]["record"]).read_text())
    assert run["counts"]["quarantined"] == sum(1 for k in EXPECT["bad"].values() if k != "empty_text")
    assert run["skipped_files"] == EXPECT["unsupported"]


def test_languages_and_too_short(sample, undeduped):
    kept, dropped = undeduped
    for doc_id, lang in EXPECT["non_english"].items():
        art = kept.get(doc_id)
        assert art is not None, f"{doc_id} dropped: {dropped.get(doc_id)}"
        assert art["language"] == lang
        assert 0.5 < art["language_prob"] <= 1.0
    for doc_id in EXPECT["too_short"]:
        assert dropped[doc_id]["reason"] == "too_short"
    english = [a for a in kept.values() if a["id"] not in EXPECT["non_english"]]
    assert all(a["language"] == "en" for a in english)


def test_leftovers_removed_and_genuine_text_kept(undeduped):
    kept, _ = undeduped
    for doc_id, snippets in EXPECT["must_remove"].items():
        art = kept[doc_id]
        for snippet in snippets:
            # Compare as the cleaner sees it (markdown already stripped); a
            # snippet that is all markup (a bare URL line) is checked as is.
            plain = strip_markdown(snippet)[0].strip("*[]( )#") or snippet
            assert plain not in art["text"], f"{doc_id}: left {snippet!r}"
    for doc_id, snippets in EXPECT["must_keep"].items():
        for snippet in snippets:
            assert snippet in kept[doc_id]["text"], f"{doc_id}: lost {snippet!r}"


def test_offtopic_inserts_removed_with_reason(undeduped):
    kept, _ = undeduped
    for doc_id, phrase in EXPECT["offtopic"].items():
        art = kept[doc_id]
        assert phrase not in art["text"]
        assert any(e["reason"] == "offtopic" and phrase in e["text"] for e in art["edits"])


def test_mojibake_repaired(undeduped):
    kept, _ = undeduped
    for doc_id in EXPECT["mojibake"]:
        text = kept[doc_id]["text"]
        for marker in ("â€", "Ã©", "Ã¨", "Â"):
            assert marker not in text, f"{doc_id} still has {marker!r}"
        assert any(e["reason"] == "mojibake" for e in kept[doc_id]["edits"])
    for doc_id in EXPECT["legacy_encoding"]:
        assert "é" in kept[doc_id]["text"] or "é" in kept[doc_id]["title"]


def test_no_dedup_keeps_every_article_that_passes(sample, undeduped):
    kept, dropped = undeduped
    n_dup = sum(1 for d in sample["dropped"].values() if d["reason"] == "duplicate")
    assert len(kept) == len(sample["articles"]) + n_dup
    assert not any(d["reason"] == "duplicate" for d in dropped.values())
    assert all(a["duplicates"] == [] for a in kept.values())


def test_rerun_is_byte_identical(sample, run_flow, tmp_path):
    first = (sample["out"] / "articles.jsonl").read_bytes()
    # Into a fresh folder ...
    run_flow(ROOT / "raw", tmp_path)
    assert (tmp_path / "articles.jsonl").read_bytes() == first
    # ... and again into the same folder: nothing new, nothing changes.
    run_flow(ROOT / "raw", tmp_path)
    assert (tmp_path / "articles.jsonl").read_bytes() == first
    runs = sorted((tmp_path / "runs").glob("*.json"))
    last = json.loads(runs[-1].read_text())
    assert last["counts"]["new"] == 0 and last["counts"]["unchanged"] == last["counts"]["documents"]


def test_a_rerun_with_nothing_new_leaves_the_outputs_standing_until_the_config_changes(sample, run_flow, tmp_path):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(sample["out"], out, symlinks=True)
    current = os.readlink(out / "current")
    report = (out / "report.html").stat()
    result = run_flow(ROOT / "raw", out)
    record = json.loads(Path(result["record"]).read_text())
    # Nothing new, same configuration: no new generation, no report rebuilt;
    # the run is recorded, naming the outputs it left current.
    assert os.readlink(out / "current") == current and record["generation"] == Path(current).name
    assert (out / "report.html").stat().st_mtime_ns == report.st_mtime_ns
    assert len(list((out / "runs").glob("*.json"))) == 2
    assert (result["kept"], result["dropped"]) == (sample["result"]["kept"], sample["result"]["dropped"])
    # Another output format: the same rows are written again, as Parquet too.
    cfg = tmp_path / "run.toml"
    cfg.write_text('[output]\nformats = ["jsonl", "parquet"]\n', encoding="utf-8")
    run_flow(ROOT / "raw", out, config=cfg)
    assert os.readlink(out / "current") != current and (out / "current" / "articles.parquet").exists()
    assert (out / "articles.jsonl").read_bytes() == (sample["out"] / "articles.jsonl").read_bytes()


def test_outputs_are_complete_records(sample):
    for a in sample["articles"].values():
        assert set(a) >= {"id", "title", "text", "language", "url", "source", "duplicates", "edits"}
        assert all({"reason", "text"} <= set(e) for e in a["edits"])
    assert (sample["out"] / "report.json").exists() and (sample["out"] / "report.html").exists()
    # No temporary files left behind by the atomic writers.
    assert not list(sample["out"].glob(".*.jsonl.*"))


def test_a_learned_shard_is_repaired_once(tmp_path):
    """Learning rewrites its shard repaired so that cleaning skips repair: the
    result must be what cleaning the raw shard gives, with each repair
    recorded once (a second ftfy or markdown pass would add edits)."""
    from pipelines.config import load_config
    from pipelines.stages import clean_shard, learn_shard

    cfg = load_config(None)
    rows = [json.dumps({"article": doc.to_dict(), "hash": str(i)})
            for i, doc in enumerate(read_documents(scan(ROOT / "raw"))) if hasattr(doc, "text")]
    for name in ("learned", "plain"):
        (tmp_path / f"{name}.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    stats, _ = learn_shard(str(tmp_path / "learned.jsonl"), cfg)
    learned = stats.learned()
    assert any(learned.values()), "the sample has recurring lines to learn"
    for name in ("learned", "plain"):
        clean_shard(str(tmp_path / f"{name}.jsonl"), str(tmp_path / f"out-{name}"), cfg, learned)
    for kind in ("candidates.jsonl", "filtered.jsonl", "index.tsv"):
        assert (tmp_path / f"out-learned.{kind}").read_bytes() == (tmp_path / f"out-plain.{kind}").read_bytes(), kind
    repaired = [r for r in _jsonl(tmp_path / "out-learned.candidates.jsonl") if any(e["reason"] == "mojibake" for e in r["edits"])]
    assert repaired, "the sample has mojibake"
    for r in repaired:
        lines = [e["text"] for e in r["edits"] if e["reason"] in ("mojibake", "markdown")]
        assert len(lines) == len(set(lines)), r["id"]


@pytest.mark.parametrize("executor", ["processes", "prefect"])
def test_the_command_gives_the_flows_output_and_starts_a_server_only_for_prefect_tasks(sample, tmp_path, executor):
    """`newsclean run` as a newcomer types it (no Prefect settings): a local
    run, no server; with shards as Prefect tasks (``executor = "prefect"``)
    it starts Prefect's temporary API server itself and leaves none behind.
    Either way it writes what the flow writes."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["NEWSCLEAN_HOME"] = str(tmp_path / "home")
    out = tmp_path / "out"
    (tmp_path / "run.toml").write_text(f'[run]\nexecutor = "{executor}"\n', encoding="utf-8")
    p = subprocess.run([str(Path(sys.executable).parent / "newsclean"), "run", "--input", str(ROOT / "raw"), "--output", str(out),
                        "--config", str(tmp_path / "run.toml"), "--profile"],
                       env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    assert (out / "articles.jsonl").read_bytes() == (sample["out"] / "articles.jsonl").read_bytes()
    assert "stage time shares" in p.stdout
    server = re.search(r"temporary API server at (http://127\.0\.0\.1:\d+)/api", p.stderr)
    if executor == "processes":
        assert server is None and "Flow run" not in p.stderr, p.stderr[-3000:]
        assert not list((tmp_path / "home").rglob("*.db"))  # no Prefect database either
        return
    assert server, p.stderr[-3000:]
    with pytest.raises(OSError):
        urllib.request.urlopen(server.group(1) + "/api/health", timeout=2)


def test_learning_while_reading_on_many_shards_gives_the_same_corpus(sample, run_flow, tmp_path):
    """Small shards on two workers: parts read on the pool, ids resolved once,
    shards cut and learned from on the pool; the corpus is the one the
    one-shard run gives."""
    cfg = tmp_path / "small-shards.toml"
    rules = (ROOT / "configs" / "rules.toml").as_posix()
    cfg.write_text(f'[run]\nshard_size = 8\nworkers = 2\n\n[boilerplate]\nrules = "{rules}"\n', encoding="utf-8")
    out = tmp_path / "out"
    run_flow(ROOT / "raw", out, config=cfg)
    assert (out / "articles.jsonl").read_bytes() == (sample["out"] / "articles.jsonl").read_bytes()
    assert (out / "dropped.jsonl").read_bytes() == (sample["out"] / "dropped.jsonl").read_bytes()
