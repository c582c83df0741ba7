"""Incremental runs into one output folder: the corpus after any sequence of
runs is the corpus one run over all the input would give, byte for byte,
with learning on (lines a later run learns are removed from earlier articles
too, which are cleaned again).

The corpora: the embedded sample (raw/) split file by file into two halves
and into seven runs, and the AEB extractor copies in sixths, fed as halves
and as thirds; every part keeps its relative path (so ids and the output
order are those of a whole run)."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest

from conftest import ROOT, shared

OUTPUTS = ("articles.jsonl", "dropped.jsonl")


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _clusters(out: Path) -> set[frozenset[str]]:
    """Cluster membership: each kept article with everything folded into it."""
    return {frozenset([a["id"], *(d["id"] for d in a["duplicates"])]) for a in _jsonl(out / "articles.jsonl")}


def _gated(out: Path) -> dict[str, str]:
    return {d["id"]: d["reason"] for d in _jsonl(out / "dropped.jsonl") if d["reason"] != "duplicate"}


def _record(result: dict) -> dict:
    return json.loads(Path(result["record"]).read_text(encoding="utf-8"))


def _changes(result: dict) -> dict:
    """What a run added and replaced, from its changes file (the record
    keeps the counts): ``kept`` ids, ``duplicates`` {id, canonical},
    ``replaced`` {old, new}."""
    record = _record(result)
    rows = _jsonl(Path(record["output"]) / record["changes"])
    changes = {"kept": [r["id"] for r in rows if r["change"] == "added_kept"],
               "duplicates": [{"id": r["id"], "canonical": r["canonical"]} for r in rows if r["change"] == "added_duplicate"],
               "replaced": [{"old": r["id"], "new": r["canonical"]} for r in rows if r["change"] == "replaced_canonical"]}
    assert record["added"] == {"kept": len(changes["kept"]), "duplicates": len(changes["duplicates"])}
    assert record["replaced_canonicals"] == len(changes["replaced"])
    return changes


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    base = tmp_path_factory.mktemp("corpus")
    files = sorted(p.relative_to(ROOT / "raw") for p in (ROOT / "raw").rglob("*") if p.is_file())
    for k, rel in enumerate(files):
        for part in ("all", "first" if k % 2 == 0 else "second"):
            (base / part / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / "raw" / rel, base / part / rel)
    return base


@pytest.fixture(scope="module")
def runs(run_flow, corpus, tmp_path_factory):
    whole = tmp_path_factory.mktemp("whole")
    inc = tmp_path_factory.mktemp("incremental")
    return {
        "whole": whole,
        "inc": inc,
        "whole_result": run_flow(corpus / "all", whole),
        "first": run_flow(corpus / "first", inc),
        "second": run_flow(corpus / "second", inc),
    }


def _same_bytes(inc: Path, whole: Path) -> None:
    for name in OUTPUTS:
        assert (inc / name).read_bytes() == (whole / name).read_bytes(), f"{name} differs from one run's"


def test_two_halves_give_the_clusters_of_one_run(runs):
    whole, inc = runs["whole"], runs["inc"]
    multi = {c for c in _clusters(whole) if len(c) > 1}
    assert len(multi) >= 4, "the sample's syndicated stories should form clusters"
    assert _clusters(inc) == _clusters(whole)
    assert _gated(inc) == _gated(whole)
    _same_bytes(inc, whole)
    # Both halves are in the corpus, and each id is listed once.
    ids = [a["id"] for a in _jsonl(inc / "articles.jsonl")] + [d["id"] for d in _jsonl(inc / "dropped.jsonl")]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted([a["id"] for a in _jsonl(whole / "articles.jsonl")] + [d["id"] for d in _jsonl(whole / "dropped.jsonl")])


def test_a_later_duplicate_is_reported_against_the_article_already_kept(runs):
    first, second = _changes(runs["first"]), _changes(runs["second"])
    kept_first = set(first["kept"])
    later = [d for d in second["duplicates"] if d["canonical"] in kept_first]
    assert later, "some copies in the second half duplicate stories kept from the first"
    dropped = {d["id"]: d for d in _jsonl(runs["inc"] / "dropped.jsonl")}
    for d in later:
        assert dropped[d["id"]]["reason"] == "duplicate"
        assert dropped[d["id"]]["canonical"] == d["canonical"]
    # Articles of the first run are not listed again as additions of the second.
    assert not set(second["kept"]) & kept_first


def test_rerun_over_seen_input_changes_nothing(runs, run_flow, corpus):
    out = runs["whole"]
    before = {name: (out / name).read_bytes() for name in ("articles.jsonl", "dropped.jsonl")}
    segments = sorted(p.name for p in (out / "state" / "segments").iterdir())
    result = run_flow(corpus / "all", out)
    again = _record(result)
    assert again["counts"]["new"] == 0 and again["counts"]["updated"] == 0
    assert again["counts"]["unchanged"] == again["counts"]["documents"] > 0
    assert again["segment"] is None and _changes(result) == {"kept": [], "duplicates": [], "replaced": []}
    assert sorted(p.name for p in (out / "state" / "segments").iterdir()) == segments
    for name, data in before.items():
        assert (out / name).read_bytes() == data, f"{name} changed on a rerun"


def test_a_more_complete_later_copy_replaces_the_canonical(runs, run_flow, tmp_path):
    # The cleaned body of the sample's largest story, first without its last
    # two paragraphs, the next day whole.
    story = max(_jsonl(runs["whole"] / "articles.jsonl"), key=lambda a: len(a["duplicates"]))
    paras = [p for p in story["text"].split("\n\n") if p.strip()]
    assert len(paras) >= 5
    text, short = "\n\n".join(paras), "\n\n".join(paras[:-2])
    (tmp_path / "day1").mkdir()
    (tmp_path / "day2").mkdir()
    (tmp_path / "day1" / "feed.jsonl").write_text(json.dumps({"id": "early-short", "text": short}) + "\n", encoding="utf-8")
    (tmp_path / "day2" / "feed.jsonl").write_text(json.dumps({"id": "later-full", "text": text}) + "\n", encoding="utf-8")
    out = tmp_path / "out"

    day1 = _changes(run_flow(tmp_path / "day1", out))
    assert day1["kept"] == ["early-short"]
    day2 = _changes(run_flow(tmp_path / "day2", out))
    assert day2["replaced"] == [{"old": "early-short", "new": "later-full"}]
    assert day2["kept"] == ["later-full"]
    (kept,) = _jsonl(out / "articles.jsonl")
    assert kept["id"] == "later-full"
    assert [d["id"] for d in kept["duplicates"]] == ["early-short"]
    # No dates: the shorter copy, all of it in the canonical, is a truncated one.
    assert kept["duplicates"][0]["relation"] == "truncated"
    (dropped,) = _jsonl(out / "dropped.jsonl")
    assert dropped["id"] == "early-short" and dropped["reason"] == "duplicate" and dropped["canonical"] == "later-full"
    assert dropped["relation"] == "truncated" and "truncated" in dropped["detail"]


def test_the_sample_fed_file_by_file_in_seven_runs_gives_one_runs_bytes(sample_run, run_flow, tmp_path):
    whole = sample_run[0]
    files = sorted(p.relative_to(ROOT / "raw") for p in (ROOT / "raw").rglob("*") if p.is_file())
    for k, rel in enumerate(files):
        (tmp_path / f"run-{k % 7}" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / "raw" / rel, tmp_path / f"run-{k % 7}" / rel)
    out = tmp_path / "out"
    records = [_record(run_flow(tmp_path / f"run-{k}", out)) for k in range(7)]
    _same_bytes(out, whole)
    # Later runs changed what is learned for sources seen before, and the
    # articles of those sources holding the lines were cleaned again.
    assert sum(r["recleaned"]["articles"] for r in records) > 0
    assert all(r["recleaned"]["because"] for r in records if r["recleaned"]["articles"])


# ---------------------------------------------------------------- AEB copies

EXTRACTORS = ("trafilatura", "newspaper", "readability", "goose3", "boilerpipe", "justext")


@pytest.fixture(scope="module")
def aeb(run_flow, tmp_path_factory):
    """The 1,050 extractor outputs of the AEB pages with the page's URL and
    its host as source (as a crawl would give them), shuffled, in six files;
    one run over all six, then the same files as halves and thirds into two
    more folders."""
    aeb = shared("data", "article-extraction-benchmark")
    truth = json.loads((aeb / "ground-truth.json").read_text(encoding="utf-8"))
    records = []
    for name in EXTRACTORS:
        raw = json.loads((aeb / "output" / f"{name}.json").read_text(encoding="utf-8"))
        for item, d in sorted((raw["output"] if "version" in raw else raw).items()):
            text = (d or {}).get("articleBody") or ""
            if text.strip():
                url = truth[item]["url"]
                records.append({"id": f"{item}:{name}", "text": text, "url": url,
                                "source": urlparse(url).hostname.removeprefix("www.")})
    random.Random(19).shuffle(records)
    base = tmp_path_factory.mktemp("aeb")
    sixth = -(-len(records) // 6)
    for k in range(6):
        for folder in ("all", f"half-{k // 3}", f"third-{k // 2}"):
            (base / folder).mkdir(exist_ok=True)
            with open(base / folder / f"part-{k}.jsonl", "w", encoding="utf-8") as fh:
                fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records[k * sixth:(k + 1) * sixth])
    outs = {"whole": base / "out-whole", "halves": base / "out-halves", "thirds": base / "out-thirds"}
    run_flow(base / "all", outs["whole"])
    records = {"halves": [_record(run_flow(base / f"half-{k}", outs["halves"])) for k in range(2)],
               "thirds": [_record(run_flow(base / f"third-{k}", outs["thirds"])) for k in range(3)]}
    return outs, records


@pytest.mark.parametrize("split", ["halves", "thirds"])
def test_aeb_copies_in_parts_give_one_runs_bytes(aeb, split):
    outs, records = aeb
    learned = [a for a in _jsonl(outs["whole"] / "articles.jsonl") if any(e["reason"] == "learned" for e in a["edits"])]
    assert len(learned) >= 10, "one run learns lines that recur across a site's pages"
    _same_bytes(outs[split], outs["whole"])
    later = records[split][1:]
    assert all(r["recleaned"]["articles"] > 0 for r in later), "each later part changes what is learned"
    # Only what a changed line touches is cleaned again, not the corpus.
    assert all(r["recleaned"]["articles"] < r["counts"]["corpus_kept"] / 2 for r in later)


def test_a_nightly_run_killed_while_cleaning_again_then_rerun_gives_one_runs_bytes(runs, run_flow, corpus, tmp_path):
    """SIGKILL the second half's run once it has cleaned earlier articles
    again (into its staging folder, not committed): the rerun starts over
    and gives one run's bytes."""
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "out"
    run_flow(corpus / "first", out)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["NEWSCLEAN_HOME"] = str(tmp_path / "home")
    run = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "run", "--input", str(corpus / "second"), "--output", str(out)],
                           cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not list((out / "state").glob(".staging-*/r*.candidates.jsonl")):
        assert run.poll() is None, f"the run ended before it was killed: {run.communicate()[1][-2000:]}"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    run.send_signal(signal.SIGKILL)
    run.communicate(timeout=60)
    assert run.returncode == -9
    assert json.loads((out / "state" / "manifest.json").read_text())["segments"] == ["00001"]
    again = _record(run_flow(corpus / "second", out))
    assert again["recleaned"]["articles"] > 0
    _same_bytes(out, runs["whole"])


def test_the_line_index_holds_the_lines_the_learned_step_looks_up_after_a_trim(tmp_path):
    """A footer glued to an end mark is looked up without it: the article's
    line table must index that line too (a probe row, not counted), or a
    later run that learns the footer would not clean this article again."""
    from cleaners.boilerplate import line_key, strip_boilerplate
    from cleaners.boilerplate.learned import line_table, trimmed_lines
    from pipelines.config import load_config

    # End marks are trimmed by an opt-in site file (no default rule does it).
    (tmp_path / "run.toml").write_text('[boilerplate]\nsite_rules = ["sites/goloadup.com.toml"]\n')
    rules = load_config(tmp_path / "run.toml").ruleset()
    site = "goloadup.com"
    footer = "Ledger tip line: our desk reads every message."
    body = ["The Portville harbor board voted on Monday to raise ferry fares by 6 percent from June, saying the money will pay for two new vessels.",
            "Commuters who cross the bay every day will pay about $1.10 more per week, according to figures presented at the meeting."]
    text = "\n\n".join([*body, footer + " ■"])
    learned = strip_boilerplate(text, source=site, rules=rules, learned=frozenset({line_key(footer)}))
    assert footer not in learned.text and "learned" in [e.reason for e in learned.edits]
    plain = strip_boilerplate(text, source=site, rules=rules)
    assert footer in trimmed_lines(text, plain.edits)
    table = line_table("ledger", text.split("\n"), 0, trimmed_lines(text, plain.edits))
    probe = table[table["key"] == int(line_key(footer), 16)]
    assert len(probe) == 1 and not probe["counted"][0]


def test_a_folder_cleaned_under_one_configuration_refuses_a_run_under_another(sample_run, run_flow, tmp_path):
    """A nightly folder keeps its earlier articles as they were cleaned. A run
    under other cleaning settings would add articles cleaned differently to
    them: outputs no single run gives. It is refused, the folder untouched;
    how a run is executed, deduplicated or reported may change."""
    from pipelines.store import OutputError

    out = tmp_path / "out"
    shutil.copytree(sample_run[0], out, symlinks=True)
    articles = (out / "articles.jsonl").read_bytes()
    strict = tmp_path / "strict.toml"
    strict.write_text("[quality]\nmin_words = 5000\n")
    with pytest.raises(OutputError, match="cleaned under another configuration"):
        run_flow(ROOT / "raw", out, config=strict)
    assert (out / "articles.jsonl").read_bytes() == articles
    # What the refused run would have left standing: the sample's articles,
    # none of which one run under these settings keeps.
    run_flow(ROOT / "raw", tmp_path / "one", config=strict)
    assert articles.strip() and not (tmp_path / "one" / "articles.jsonl").read_bytes().strip()
    other_run = tmp_path / "other-run.toml"
    other_run.write_text("[run]\nshard_size = 7\n[dedup]\nlsh_threshold = 0.3\n")
    run_flow(ROOT / "raw", out, config=other_run)
