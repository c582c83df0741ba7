"""The quality report: ``report.json`` (figures) and ``report.html`` (one
self-contained page of charts), built from an output folder alone, so
``newsclean report DIR`` can rebuild it without rerunning anything.
"""

from __future__ import annotations

import html
import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

from .store import atomic_open, read_jsonl, write_json

REPORT_SCHEMA_VERSION = 1


def _runs(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((out / "runs").glob("*.json"))]


def figures(out: str | Path) -> dict[str, Any]:
    """Every figure the report shows, as plain data (the report.json body)."""
    out = Path(out)
    runs = _runs(out)
    kept = 0
    languages: Counter = Counter()
    edits_by_reason: Counter = Counter()
    cluster_sizes: Counter = Counter()
    clusters: list[dict] = []
    lengths: list[tuple[int, int]] = []
    removed_lines: Counter = Counter()
    kept_whole = []
    for a in read_jsonl(out / "articles.jsonl"):
        kept += 1
        languages[a.get("language") or "und"] += 1
        for e in a.get("edits", []):
            edits_by_reason[e["reason"]] += 1
            if e["reason"] not in ("mojibake", "markdown") and e.get("text"):
                removed_lines[(a.get("source") or "(none)", e["reason"], e["text"][:160])] += 1
        size = 1 + len(a.get("duplicates", []))
        cluster_sizes[size] += 1
        if size > 1:
            clusters.append({"canonical": a["id"], "title": a.get("title", ""), "size": size, "members": a["duplicates"]})
        lengths.append((a.get("raw_chars") or 0, len(a.get("text", ""))))
        if "kept_whole" in (a.get("flags") or []):
            kept_whole.append(a["id"])
    dropped: Counter = Counter()
    quarantined = []
    for d in read_jsonl(out / "dropped.jsonl"):
        dropped[d["reason"]] += 1
        if d["reason"] == "quarantined":
            quarantined.append({"id": d["id"], "detail": d.get("detail", "")})
    clusters.sort(key=lambda c: (-c["size"], c["canonical"]))
    last = runs[-1] if runs else {}
    words_before: Counter = Counter()
    words_removed: Counter = Counter()
    for r in runs:
        words_before.update(r.get("words_before", {}))
        words_removed.update(r.get("words_removed", {}))
    total = kept + sum(dropped.values())
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "corpus": {
            "documents": total,
            "kept": kept,
            "dropped": dict(dropped.most_common()),
            "quarantined": quarantined,
            "languages": dict(languages.most_common()),
            "edits_by_reason": dict(edits_by_reason.most_common()),
            "cluster_sizes": {str(k): v for k, v in sorted(cluster_sizes.items())},
            "largest_clusters": clusters[:10],
            "boilerplate_share_by_source": {
                s: round(words_removed[s] / words_before[s], 4) for s in sorted(words_before) if words_before[s]
            },
            "top_removed_lines": [
                {"source": s, "reason": r, "line": line, "count": n}
                for (s, r, line), n in sorted(removed_lines.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
            ],
            "chars_before_after": lengths,
            "kept_whole": kept_whole,
        },
        "latest_run": {k: last.get(k) for k in ("run_id", "started", "finished", "counts", "timings", "skipped_files", "replaced_canonicals")},
        "examples": last.get("examples", []),
        "runs": [{"run_id": r["run_id"], "counts": r["counts"], "timings": r["timings"]} for r in runs],
    }


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _bar(labels: list[str], values: list[float], title: str, horizontal: bool = True) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, max(1.6, 0.35 * len(labels) + 0.8)))
    if horizontal:
        ax.barh(labels[::-1], values[::-1], color="#3b6ea5")
    else:
        ax.bar(labels, values, color="#3b6ea5")
    ax.set_title(title, loc="left", fontsize=11)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def render_html(fig_data: dict[str, Any]) -> str:
    c = fig_data["corpus"]
    run = fig_data["latest_run"]
    counts = (run or {}).get("counts") or {}
    charts = []
    funnel = [("documents", c["documents"]), ("readable", c["documents"] - c["dropped"].get("quarantined", 0)),
              ("passed gates", c["kept"] + c["dropped"].get("duplicate", 0)), ("kept", c["kept"])]
    charts.append(("Funnel", _bar([k for k, _ in funnel], [v for _, v in funnel], "Articles through the stages")))
    if c["dropped"]:
        charts.append(("Drop reasons", _bar(list(c["dropped"]), list(c["dropped"].values()), "Why articles were dropped")))
    if c["languages"]:
        charts.append(("Languages", _bar(list(c["languages"]), list(c["languages"].values()), "Language of kept articles")))
    if c["edits_by_reason"]:
        charts.append(("Removals", _bar(list(c["edits_by_reason"]), list(c["edits_by_reason"].values()), "Edits by reason")))
    share = c["boilerplate_share_by_source"]
    if share:
        charts.append(("Boilerplate share", _bar(list(share), [v * 100 for v in share.values()], "Boilerplate share of words per source (%)")))
    if c["cluster_sizes"]:
        charts.append(("Cluster sizes", _bar(list(c["cluster_sizes"]), list(c["cluster_sizes"].values()), "Duplicate cluster sizes (articles per cluster)", horizontal=False)))
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>newsclean report</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}"
        ".chart{margin:1em 0}.removed{background:#fdd;text-decoration:line-through}</style></head><body>",
        "<h1>newsclean report</h1>",
        f"<p><b>{c['kept']}</b> articles kept of <b>{c['documents']}</b> documents; "
        f"dropped: {html.escape(json.dumps(c['dropped']))}.</p>",
    ]
    if counts:
        parts.append(f"<p>Latest run {html.escape(str(run.get('run_id')))}: {counts.get('new', 0)} new, "
                     f"{counts.get('unchanged', 0)} already processed, {counts.get('quarantined', 0)} quarantined, "
                     f"{run.get('timings', {}).get('wall')} s.</p>")
    for name, svg in charts:
        parts.append(f"<div class='chart' data-chart='{html.escape(name)}'>{svg}</div>")
    if c["top_removed_lines"]:
        parts.append("<h2>Most removed lines</h2><table><tr><th>source</th><th>reason</th><th>line</th><th>count</th></tr>")
        for r in c["top_removed_lines"]:
            parts.append(f"<tr><td>{html.escape(r['source'])}</td><td>{r['reason']}</td><td>{html.escape(r['line'])}</td><td>{r['count']}</td></tr>")
        parts.append("</table>")
    if c["largest_clusters"]:
        parts.append("<h2>Largest duplicate clusters</h2>")
        for cl in c["largest_clusters"]:
            members = ", ".join(f"{html.escape(m['id'])} ({m['similarity']:.2f})" for m in cl["members"])
            parts.append(f"<p><b>{html.escape(cl['canonical'])}</b> — {html.escape(cl['title'] or '')}: {members}</p>")
    if c["quarantined"]:
        parts.append("<h2>Quarantined input</h2><ul>")
        parts += [f"<li>{html.escape(q['id'])}: {html.escape(q['detail'])}</li>" for q in c["quarantined"]]
        parts.append("</ul>")
    for ex in fig_data["examples"]:
        removed = {e["text"] for e in ex["edits"] if e.get("text")}
        lines = [f"<div class='removed'>{html.escape(l)}</div>" if l in removed else f"<div>{html.escape(l)}</div>" for l in ex["before"].split("\n")]
        parts.append(f"<h3>Before / after: {html.escape(ex['id'])}</h3>" + "".join(lines))
    parts.append("</body></html>")
    return "\n".join(parts)


def build(out: str | Path) -> dict[str, Any]:
    """Write report.json and report.html into ``out``; return the figures."""
    out = Path(out)
    data = figures(out)
    write_json(out / "report.json", data)
    with atomic_open(out / "report.html") as fh:
        fh.write(render_html(data))
    return {"json": str(out / "report.json"), "html": str(out / "report.html")}
