"""The quality report, built by real runs of the flow over the sample corpus:
its figures agree with the output files (and its typed result with
docs/report-schema.md), it flags a source whose boilerplate jumped,
``newsclean report`` rebuilds it identically, a chart is drawn again only when
its data changed, the page says nothing silly about what is not there, and it
opens in a real headless Chromium at desktop and phone widths with every chart
drawn and legible, no table wider than the page, no console error and no
network (screenshots in tests/artifacts/).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import time
import typing
from collections import Counter
from pathlib import Path

import pytest

from pipelines.report import REPORT_SCHEMA_VERSION, Report, build, figures
from pipelines.report.charts import Charts
from pipelines.report.page import Page

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"

# The sample's oyster story as the same site serves it again after a redesign
# that appends a long block of teasers.
REDESIGN_TEASERS = [
    "Ferry timetable changes for the spring season start next week",
    "Portville council delays the vote on the harbour parking plan",
    "Five places to watch the tall ships arrive this summer",
    "Fishermen's co-op elects a new board after a close vote",
    "Lighthouse museum reopens after a winter of repairs and new exhibits",
    "High school rowing team heads to the state finals in May",
    "Harbor Gazette readers pick their favourite chowder on Front Street",
    "Storm drains on Cannery Street to be replaced before the rainy season",
    "Weekend weather: sun, light winds and a chilly start on Saturday",
    "Bay cleanup volunteers plan a second shoreline sweep in April",
]

CHARTS = {
    "funnel", "languages", "boilerplate-share", "removals-by-source", "cluster-sizes", "similarity", "lengths",
    "length-pairs", "trend-boilerplate", "trend-runs",
}


@pytest.fixture(scope="module")
def two_runs(run_flow, tmp_path_factory):
    """The sample, then a nightly run that finds one new page."""
    base = tmp_path_factory.mktemp("report")
    src, out = base / "input", base / "out"
    shutil.copytree(ROOT / "raw", src)
    run_flow(src, out)
    page = (src / "harbor-gazette" / "oyster-season.txt").read_text(encoding="utf-8")
    redesigned = page.replace("Related:\n", "Related:\n\n" + "\n\n".join(REDESIGN_TEASERS) + "\n\n")
    assert redesigned != page
    (src / "harbor-gazette" / "oyster-season-redesign.txt").write_text(redesigned, encoding="utf-8")
    run_flow(src, out)
    return out


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_report_figures_agree_with_the_output_files(two_runs):
    out = two_runs
    rep = json.loads((out / "report.json").read_text())
    kept, dropped = _jsonl(out / "articles.jsonl"), _jsonl(out / "dropped.jsonl")
    runs = [json.loads(p.read_text()) for p in sorted((out / "runs").glob("*.json"))]
    s = rep["summary"]

    assert rep["schema_version"] == REPORT_SCHEMA_VERSION
    assert (s["documents"], s["kept"], s["dropped"]) == (len(kept) + len(dropped), len(kept), len(dropped))
    assert rep["drop_reasons"] == dict(Counter(d["reason"] for d in dropped))
    counts = [stage["count"] for stage in rep["funnel"]]
    assert counts[0] == s["documents"] and counts[-1] == len(kept)
    assert counts == sorted(counts, reverse=True)
    assert counts[0] - counts[1] == s["quarantined"] == rep["drop_reasons"]["quarantined"]
    assert counts[2] - counts[3] == s["duplicates"] == rep["drop_reasons"]["duplicate"]

    assert sum(r["kept"] for r in rep["languages"]) == len(kept)
    assert sum(r["duplicate"] for r in rep["languages"]) == s["duplicates"]
    assert {r["language"] for r in rep["languages"]} >= {"en", "de", "fr", "es", "ru"}

    # Clusters: sizes and members are those of articles.jsonl.
    d = rep["duplicates"]
    assert sum(int(k) * v for k, v in d["cluster_sizes"].items()) == len(kept) + s["duplicates"]
    by_id = {a["id"]: a for a in kept}
    sizes = [c["size"] for c in d["largest"]]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] >= 3
    for c in d["largest"]:
        assert [m["id"] for m in c["members"]] == [m["id"] for m in by_id[c["canonical"]]["duplicates"]][:20]
    assert sum(d["similarity_histogram"]["similarity"]) == s["duplicates"]
    assert sum(d["relations"].values()) == s["duplicates"]
    assert set(d["relations"]) <= {"exact", "near", "earlier_version", "later_version", "truncated", "containing"}

    # Boilerplate shares add up over the run records.
    before, removed = Counter(), Counter()
    for r in runs:
        before.update(r["words_before"])
        removed.update(r["words_removed"])
    for row in rep["sources"]:
        if row["words_before"]:
            assert row["boilerplate_share"] == round(removed[row["source"]] / before[row["source"]], 4)
    assert s["boilerplate_share"] == round(sum(removed.values()) / sum(before.values()), 4)
    lines = {r["line"] for r in rep["removed_lines"]["top"]}
    assert "© 2024 Harbor Gazette. All rights reserved." in lines
    # One row, so one reason, per removed line of a source, even when articles
    # removed it for different reasons (a copyright line goes with a trailing
    # "Related" section in some articles, as a footer in others).
    reasons_seen: dict[tuple, set] = {}
    for a in kept:
        for e in a["edits"]:
            reasons_seen.setdefault((a["source"], e.get("text")), set()).add(e["reason"])
    assert [k for k, v in reasons_seen.items() if v == {"related", "footer"}]
    for table in [rep["removed_lines"]["top"]] + list(rep["removed_lines"]["by_source"].values()):
        keys = [(r["source"], r["line"]) for r in table]
        assert len(keys) == len(set(keys)), table
    ledger = [r for r in rep["removed_lines"]["top"] if r["line"] == "© 2024 The Daily Ledger. All rights reserved."]
    assert len(ledger) == 1 and ledger[0]["count"] == 5

    # Per source: articles and drops as the corpus holds them.
    by_src = {r["source"]: r for r in rep["sources"]}
    dropped_by_src: dict[str, Counter] = {}
    for d in dropped:
        if d.get("source"):
            dropped_by_src.setdefault(d["source"], Counter())[d["reason"]] += 1
    assert dropped_by_src, "the sample has pages dropped by a gate"
    for src, row in by_src.items():
        drops = dropped_by_src.get(src, Counter())
        assert row["kept"] == sum(a["source"] == src for a in kept)
        assert row["articles"] == row["kept"] + sum(drops.values())
        assert row["dropped"] == dict(drops)
        assert row["body_lost"] == drops["empty"] + drops["too_short"]
        assert not set(row["removals"]) & {"mojibake", "markdown"}
    latest = runs[-1]
    for src, before in latest["words_before"].items():
        assert by_src[src]["latest_share"] == round(latest["words_removed"].get(src, 0) / before, 4)

    lengths = rep["lengths"]
    assert lengths["before"]["count"] == lengths["after"]["count"] == len(kept)
    assert lengths["after"]["median"] < lengths["before"]["median"]
    assert sum(lengths["histogram"]["after"]) == len(kept)

    assert [r["run_id"] for r in rep["runs"]] == [r["run_id"] for r in runs]
    assert rep["runs"][1]["counts"]["new"] == 1
    assert rep["examples"], "the first run removed lines, so it has examples"


def test_trends_flag_a_source_whose_boilerplate_share_jumped(two_runs, tmp_path):
    """Run history where one site's share rises by 15 points in the last run;
    a small site with the same rise and a site with a 5-point rise are not
    flagged (too few words to mean anything; within normal variation)."""
    from pipelines.report import JUMP_MIN_WORDS, JUMP_POINTS

    out = tmp_path / "out"
    out.mkdir()
    for name in ("articles.jsonl", "dropped.jsonl"):
        shutil.copy(two_runs / name, out / name)
    first = json.loads(sorted((two_runs / "runs").glob("*.json"))[0].read_text())
    big = max(first["words_before"], key=first["words_before"].get)
    steady = next(s for s in first["words_before"] if s != big and first["words_before"][s] >= JUMP_MIN_WORDS)
    small = next(s for s in first["words_before"] if first["words_before"][s] < JUMP_MIN_WORDS)
    (out / "runs").mkdir()
    for night in range(3):
        rec = json.loads(json.dumps(first))
        rec["run_id"] = f"2024031{night + 1}T020000000000Z"
        rec["started"] = f"2024-03-1{night + 1}T02:00:00+00:00"
        if night == 2:
            for src, points in ((big, JUMP_POINTS + 5), (small, JUMP_POINTS + 5), (steady, JUMP_POINTS - 5)):
                rec["words_removed"][src] = round(rec["words_removed"][src] + rec["words_before"][src] * points / 100)
        (out / "runs" / f"{rec['run_id']}.json").write_text(json.dumps(rec))
    build(out)
    rep = json.loads((out / "report.json").read_text())
    (jump,) = rep["trends"]["jumps"]
    before = first["words_removed"][big] / first["words_before"][big]
    assert (jump["source"], jump["run_id"]) == (big, "20240313T020000000000Z")
    assert jump["previous_mean"] == round(before, 4)
    assert abs(jump["change_points"] - (JUMP_POINTS + 5)) < 0.2
    page = (out / "report.html").read_text(encoding="utf-8")
    assert f"<b>{big}</b>: boilerplate share rose" in page
    assert f"<b>{small}</b>: boilerplate" not in page and f"<b>{steady}</b>: boilerplate" not in page


def test_report_json_is_the_typed_report_and_the_schema_doc_names_every_field(two_runs):
    rep = json.loads((two_runs / "report.json").read_text())
    typed = figures(two_runs).to_json()
    for r in [rep, typed]:
        for row in r["runs"] + [r["latest_run"]]:
            row["timings"].pop("report", None)
    assert typed == rep

    doc = (ROOT / "docs" / "report-schema.md").read_text(encoding="utf-8")
    doc = doc[doc.index("## report.json"):doc.index("## runs/")]
    rows = [line for line in doc.splitlines() if line.startswith("| `")]

    def row(key: str) -> str:
        (found,) = [r for r in rows if r.startswith(f"| `{key}`")]
        return found

    for f in dataclasses.fields(Report):
        assert any(r.startswith((f"| `{f.name}`", f"| `{f.name}.")) for r in rows), f"{f.name} is not documented"

    hints = typing.get_type_hints(Report)

    def fields(section: str) -> list[str]:
        t = hints[section]
        return [x.name for x in dataclasses.fields(t.__args__[0] if typing.get_args(t) else t)]

    for name in fields("summary"):
        assert f"`summary.{name}`" in doc, f"summary.{name} is not documented"
    for name in fields("duplicates"):
        assert f"`duplicates.{name}`" in doc, f"duplicates.{name} is not documented"
    for name in fields("lengths"):
        assert f"`lengths.{name}`" in doc, f"lengths.{name} is not documented"
    for section in ("sources", "runs", "examples"):
        for name in fields(section):
            assert f"`{name}`" in row(section), f"{section}[].{name} is not documented"
    for name in ("source", "run_id", "share", "previous_mean", "change_points"):
        assert f"`{name}`" in row("trends.jumps")


def test_a_chart_is_drawn_again_only_when_its_data_changed(two_runs):
    rep = figures(two_runs)
    first = Charts()
    page = Page(rep, first).render()
    assert sorted(first.drawn) == sorted(CHARTS) and not first.reused

    again = Charts(page)
    assert Page(rep, again).render() == page
    assert not again.drawn and sorted(again.reused) == sorted(CHARTS)

    rep.lengths.histogram.after[0] += 1
    changed = Charts(page)
    new = Page(rep, changed).render()
    assert changed.drawn == ["lengths"] and new != page
    assert new == Page(rep, Charts()).render(), "a reused chart is the chart drawn anew"


def _copy_outputs(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for name in ("articles.jsonl", "dropped.jsonl"):
        shutil.copy(src / name, dst / name)
    shutil.copytree(src / "runs", dst / "runs")
    return dst


def test_before_and_after_says_which_runs_its_examples_come_from(two_runs, tmp_path):
    out = _copy_outputs(two_runs, tmp_path / "out")
    last = json.loads(sorted((out / "runs").glob("*.json"))[-1].read_text())
    quiet = {**last, "run_id": "29991231T000000000000Z", "started": "2999-12-31T00:00:00+00:00", "examples": []}
    (out / "runs" / f"{quiet['run_id']}.json").write_text(json.dumps(quiet))
    build(out)
    page = (out / "report.html").read_text(encoding="utf-8")
    examples = json.loads((out / "report.json").read_text())["examples"]
    assert examples and quiet["run_id"] not in {e["run_id"] for e in examples}
    assert "The latest run removed nothing to show, so these are the articles of earlier runs" in page
    assert "The articles of the latest run where" not in page


def test_a_run_without_copies_says_so(run_flow, tmp_path):
    """HTML pages of one site, none a copy of another."""
    src = tmp_path / "in"
    shutil.copytree(ROOT / "raw" / "lakeside-times", src / "lakeside-times")
    run_flow(src, tmp_path / "out")
    rep = json.loads((tmp_path / "out" / "report.json").read_text())
    assert rep["summary"]["kept"] >= 2 and rep["summary"]["duplicates"] == 0
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert f"No input article was a copy of another: each of the {rep['summary']['kept']} kept articles" in page
    assert "0 input articles" not in page and "into 0 kept" not in page
    assert "data-chart='similarity'" not in page and "data-chart='cluster-sizes'" not in page


def test_report_command_rebuilds_the_same_report_without_rerunning(two_runs, tmp_path):
    from typer.testing import CliRunner

    from pipelines.cli import app

    copy = tmp_path / "out"
    shutil.copytree(two_runs, copy)
    old_json, old_html = (copy / "report.json").read_bytes(), (copy / "report.html").read_bytes()
    (copy / "report.json").unlink()
    (copy / "report.html").unlink()
    # (The report files live in the current generation too: see pipelines/store.py.)
    state = sorted(p.relative_to(copy) for p in copy.rglob("*") if p.name not in ("report.json", "report.html"))
    result = CliRunner().invoke(app, ["report", str(copy)])
    assert result.exit_code == 0, result.output
    new, old = json.loads((copy / "report.json").read_text()), json.loads(old_json)
    # A run record gains the report's own build time after the report is built.
    for rep in (new, old):
        for timings in [rep["latest_run"]["timings"]] + [r["timings"] for r in rep["runs"]]:
            timings.pop("report", None)
    assert new == old
    assert (copy / "report.html").read_bytes() == old_html
    assert sorted(p.relative_to(copy) for p in copy.rglob("*") if p.name not in ("report.json", "report.html")) == state


def test_report_of_a_run_with_nothing_kept_still_opens(run_flow, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "empty.txt").write_bytes(b"")
    run_flow(src, tmp_path / "out")
    rep = json.loads((tmp_path / "out" / "report.json").read_text())
    assert rep["summary"]["kept"] == 0 and rep["drop_reasons"] == {"quarantined": 1}
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "data-chart='funnel'" in page and "data-chart='lengths'" not in page


# --------------------------------------------------------------------------
# In a real browser


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class DevTools:
    """The few Chrome DevTools Protocol calls the test needs, over one
    websocket to the browser with flattened page sessions."""

    def __init__(self, ws_url: str):
        from websockets.sync.client import connect

        self.ws = connect(ws_url, max_size=None, open_timeout=30)
        self.next_id = 0
        self.events: list[dict] = []
        self.session: str | None = None

    def call(self, method: str, timeout: float = 30, **params):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params}
        if self.session and not method.startswith(("Target.", "Browser.")):
            msg["sessionId"] = self.session
        self.ws.send(json.dumps(msg))
        deadline = time.monotonic() + timeout
        while True:
            reply = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_event(self, method: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        for i, e in enumerate(self.events):
            if e.get("method") == method:
                return self.events[i]
        while True:
            e = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            self.events.append(e)
            if e.get("method") == method:
                return e

    def close(self) -> None:
        self.ws.close()


@pytest.fixture
def browser(tmp_path):
    if not CHROMIUM:
        if os.environ.get("NEWSCLEAN_REQUIRE_BROWSER"):
            pytest.fail("chromium is not installed but NEWSCLEAN_REQUIRE_BROWSER is set (.ci/run installs it)")
        pytest.skip("chromium is not installed (Debian: apt-get install chromium; .ci/run does this)")
    profile = tmp_path / "chromium-profile"
    log = open(tmp_path / "chromium.log", "w")
    proc = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
         "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm
         "--hide-scrollbars", "--window-size=1280,900", f"--user-data-dir={profile}", "--remote-debugging-port=0",
         "about:blank"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    dt = None
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and len(port_file.read_text().split()) >= 2):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("chromium did not start:\n" + (tmp_path / "chromium.log").read_text()[-3000:])
            time.sleep(0.2)
        port, path = port_file.read_text().split()[:2]
        dt = DevTools(f"ws://127.0.0.1:{port}{path}")
        target = dt.call("Target.createTarget", url="about:blank")["targetId"]
        dt.session = dt.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        yield dt
        dt.call("Browser.close")
        proc.wait(20)
    finally:
        if dt:
            dt.close()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        log.close()


PAGE_INFO = """(() => {
    const charts = [...document.querySelectorAll('figure.chart')].map(f => {
        const svgs = f.querySelectorAll('svg');
        const r = svgs.length ? svgs[0].getBoundingClientRect() : {width: 0, height: 0};
        // Text size on screen: the font size in the SVG's units times its scale.
        const fonts = svgs.length ? [...svgs[0].querySelectorAll('text')].map(t => {
            const m = t.getScreenCTM();
            return parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b);
        }) : [];
        return {name: f.dataset.chart, svgs: svgs.length, width: r.width, height: r.height,
                marks: svgs.length ? svgs[0].querySelectorAll('path, use, rect, text').length : 0,
                smallest_text: fonts.length ? Math.min(...fonts) : 0};
    });
    const wide = sel => [...document.querySelectorAll(sel)].filter(e => e.scrollWidth > e.clientWidth)
        .map(e => ({what: e.className || e.tagName, text: e.textContent.slice(0, 80), scroll: e.scrollWidth, client: e.clientWidth}));
    const history = document.querySelector('#history table');
    const config = history ? [...history.querySelectorAll('th')].pop() : null;
    return {title: document.title, charts,
            sections: [...document.querySelectorAll('section h2')].map(h => h.textContent),
            removed: [...document.querySelectorAll('.example .rm')].map(e => e.textContent),
            tables: document.querySelectorAll('.table').length,
            overflowing: wide('.table').concat(wide('section'), wide('figure.chart'), wide('.example .col')),
            page: {scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth},
            config: config && {text: config.textContent, right: config.getBoundingClientRect().right,
                               visible: history.parentElement.getBoundingClientRect().right},
            height: document.documentElement.scrollHeight};
})()"""


def _open_at(browser: DevTools, page: Path, width: int) -> dict:
    browser.call("Emulation.setDeviceMetricsOverride", width=width, height=900, deviceScaleFactor=1, mobile=width < 600)
    browser.events.clear()
    browser.call("Page.navigate", url=page.resolve().as_uri())
    browser.wait_event("Page.loadEventFired", timeout=60)
    time.sleep(0.5)  # late console messages
    return browser.call("Runtime.evaluate", returnByValue=True, expression=PAGE_INFO)["result"]["value"]


def _screenshot(browser: DevTools, info: dict, name: str, tmp_path: Path) -> bytes:
    metrics = browser.call("Page.getLayoutMetrics")["cssContentSize"]
    shot = browser.call("Page.captureScreenshot", timeout=60, format="png", captureBeyondViewport=True,
                        clip={"x": 0, "y": 0, "width": metrics["width"], "height": metrics["height"], "scale": 1})
    png = base64.b64decode(shot["data"])
    ARTIFACTS.mkdir(exist_ok=True)
    for folder in (tmp_path, ARTIFACTS):
        (folder / name).write_bytes(png)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 100_000
    assert int.from_bytes(png[20:24], "big") >= info["height"] - 1
    return png


@pytest.mark.parametrize("width", [1280, 390])
def test_report_opens_in_headless_chromium_legible_at_desktop_and_phone_widths(two_runs, browser, tmp_path, width):
    """No console error, no request beyond the file, every chart drawn with
    its smallest text at least 9 px on screen, no table, section or chart
    wider than its box, and the whole page no wider than the window.
    Screenshots: tests/artifacts/report-<width>.png."""
    page = two_runs / "report.html"
    rep = json.loads((two_runs / "report.json").read_text())
    for domain in ("Page", "Runtime", "Log", "Network"):
        browser.call(f"{domain}.enable")
    info = _open_at(browser, page, width)
    png = _screenshot(browser, info, f"report-{width}.png", tmp_path)

    errors = [e for e in browser.events if e.get("method") == "Runtime.exceptionThrown"
              or (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "assert"))
              or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")]
    assert not errors, errors
    requests = [e["params"]["request"]["url"] for e in browser.events if e.get("method") == "Network.requestWillBeSent"]
    assert requests and all(u.startswith(("file:", "data:")) for u in requests), f"the page fetched {requests}"

    assert info["title"] == "newsclean quality report"
    assert {c["name"] for c in info["charts"]} == CHARTS
    for c in info["charts"]:
        assert c["svgs"] == 1 and c["width"] > 250 and c["height"] > 120 and c["marks"] > 10, c
        assert c["smallest_text"] >= 9, c
    assert {"Drop reasons", "Language mix", "Per source", "Duplicates", "Run history"} <= set(info["sections"])
    assert info["tables"] >= 8
    assert not info["overflowing"], info["overflowing"]
    assert info["page"]["scroll"] <= info["page"]["client"] == width
    assert int.from_bytes(png[16:20], "big") == width
    if width >= 1000:
        # The run history's last column is in view, not cut off.
        assert info["config"]["text"] == "config" and info["config"]["right"] <= info["config"]["visible"] + 0.5
    # Each removed line of the examples is highlighted.
    removed = {e["text"].strip() for ex in rep["examples"] for e in ex["edits"]
               if e["reason"] not in ("mojibake", "markdown", "encoding", "whitespace")}
    assert removed and removed <= {t.strip() for t in info["removed"]}


def test_a_large_cluster_lists_its_first_copies_and_counts_them_all():
    """A story copied a thousand times: the report lists the first twenty
    copies (articles.jsonl keeps every one) and counts them all."""
    import importlib

    fig = importlib.import_module("pipelines.report.figures")
    kept = fig._Kept()
    dups = [{"id": f"copy-{k:04d}", "similarity": 0.9, "containment": 1.0, "exact": k % 2 == 0} for k in range(1000)]
    kept.add({"id": "wire-story", "title": "Ferry fares rise", "source": "wire", "language": "en", "text": "x" * 500,
              "raw_chars": 900, "duplicates": dups})
    (c,) = kept.largest
    assert c.size == 1001 and [m["id"] for m in c.members] == [d["id"] for d in dups[:20]]
