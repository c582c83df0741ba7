"""The quality report, built by real runs of the flow over the sample corpus:
its figures agree with the output files, it flags a source whose boilerplate
jumped, ``newsclean report`` rebuilds it identically, and it opens in a real
headless Chromium with every chart drawn, no console error and no network.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from pipelines.report import REPORT_SCHEMA_VERSION, build

ROOT = Path(__file__).resolve().parent.parent

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
    "funnel", "drop-reasons", "languages", "boilerplate-share", "removals-by-source", "top-removed-lines",
    "cluster-sizes", "similarity", "lengths", "trend-boilerplate", "trend-runs",
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
        assert [m["id"] for m in c["members"]] == [m["id"] for m in by_id[c["canonical"]]["duplicates"]]
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


def test_report_opens_in_headless_chromium_with_every_chart_drawn(two_runs, browser, tmp_path):
    page = two_runs / "report.html"
    rep = json.loads((two_runs / "report.json").read_text())
    for domain in ("Page", "Runtime", "Log", "Network"):
        browser.call(f"{domain}.enable")
    browser.call("Page.navigate", url=page.resolve().as_uri())
    browser.wait_event("Page.loadEventFired", timeout=60)
    time.sleep(0.5)  # late console messages

    info = browser.call("Runtime.evaluate", returnByValue=True, expression="""(() => {
        const charts = [...document.querySelectorAll('figure.chart')].map(f => {
            const svgs = f.querySelectorAll('svg');
            const r = svgs.length ? svgs[0].getBoundingClientRect() : {width: 0, height: 0};
            return {name: f.dataset.chart, svgs: svgs.length, width: r.width, height: r.height,
                    marks: svgs.length ? svgs[0].querySelectorAll('path, use, rect, text').length : 0};
        });
        return {title: document.title, charts,
                sections: [...document.querySelectorAll('section h2')].map(h => h.textContent),
                removed: [...document.querySelectorAll('.example .rm')].map(e => e.textContent),
                height: document.documentElement.scrollHeight};
    })()""")["result"]["value"]

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
    assert {"Drop reasons", "Language mix", "Boilerplate per source", "Duplicates", "Run history"} <= set(info["sections"])
    # Each removed line of the examples is highlighted.
    removed = {e["text"].strip() for ex in rep["examples"] for e in ex["edits"]
               if e["reason"] not in ("mojibake", "markdown", "encoding", "whitespace")}
    assert removed and removed <= {t.strip() for t in info["removed"]}

    metrics = browser.call("Page.getLayoutMetrics")["cssContentSize"]
    shot = browser.call("Page.captureScreenshot", timeout=60, format="png", captureBeyondViewport=True,
                        clip={"x": 0, "y": 0, "width": metrics["width"], "height": metrics["height"], "scale": 1})
    png = base64.b64decode(shot["data"])
    (tmp_path / "report.png").write_bytes(png)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 100_000
    assert int.from_bytes(png[16:20], "big") >= 1000 and int.from_bytes(png[20:24], "big") >= info["height"] - 1
