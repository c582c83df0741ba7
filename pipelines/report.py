"""The quality report: ``report.json`` (figures) and ``report.html`` (one
self-contained page of charts and tables), built from an output folder alone
(``articles.jsonl``, ``dropped.jsonl``, ``runs/*.json``), so
``newsclean report DIR`` rebuilds it without rerunning anything.

The schema of ``report.json`` is documented in ``docs/report-schema.md``;
bump :data:`REPORT_SCHEMA_VERSION` when a field changes meaning or goes away.

Charts are matplotlib figures rendered to SVG and inlined: the page needs no
script, font or network to open, and prints as it shows.
"""

from __future__ import annotations

import html
import io
import json
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from cleaners.reasons import CHANGE_REASONS, REASONS
from cleaners.reasons import meaning as reason_meaning

from .formats.writers import read_corpus
from .store import atomic_open, current_generation, link_outputs, write_json

REPORT_SCHEMA_VERSION = 2

# A source's boilerplate share in the latest run that exceeds its average over
# earlier runs by this many percentage points is flagged: a site redesign or a
# scraper change usually shows up this way first.
JUMP_POINTS = 10.0
# ... provided the run saw enough of that source for a share to mean something.
JUMP_MIN_WORDS = 200
LARGEST_CLUSTERS = 10
TOP_LINES = 20
LINES_PER_SOURCE = 3
TABLE_SOURCES = 30
QUARANTINE_LISTED = 50
SCATTER_POINTS = 2000
TREND_SOURCES = 8
EXAMPLES = 5

LANGUAGE_NAMES = {
    "en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian", "pt": "Portuguese",
    "nl": "Dutch", "ru": "Russian", "uk": "Ukrainian", "pl": "Polish", "sv": "Swedish", "da": "Danish",
    "no": "Norwegian", "fi": "Finnish", "cs": "Czech", "tr": "Turkish", "ar": "Arabic", "zh-cn": "Chinese",
    "ja": "Japanese", "ko": "Korean", "und": "undetermined",
}


# --------------------------------------------------------------------------
# Figures (report.json)


def _runs(out: Path, run: dict | None = None) -> list[dict]:
    runs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((out / "runs").glob("*.json"))]
    if run is not None:
        runs = [r for r in runs if r.get("run_id") != run.get("run_id")] + [run]
    return sorted(runs, key=lambda r: (r.get("started") or "", r.get("run_id") or ""))


def _share(removed: float, before: float) -> float | None:
    return round(removed / before, 4) if before else None


def _quantiles(values: np.ndarray) -> dict[str, float]:
    if not values.size:
        return {"count": 0, "mean": 0, "p10": 0, "median": 0, "p90": 0}
    p10, p50, p90 = np.percentile(values, [10, 50, 90])
    return {"count": int(values.size), "mean": round(float(values.mean()), 1), "p10": round(float(p10), 1),
            "median": round(float(p50), 1), "p90": round(float(p90), 1)}


def figures(out: str | Path, generation: str | Path | None = None, run: dict | None = None) -> dict[str, Any]:
    """Every figure the report shows, as plain data (the report.json body).

    Streams the output files once and keeps only counters, two integer arrays
    of lengths and bounded lists, so it stays cheap on large corpora. The
    articles and dropped entries are those of ``generation`` (default: the
    current one), the runs those of ``out/runs`` and ``run`` (the record of a
    run whose outputs are not committed yet, so not in ``out/runs``).
    """
    out = Path(out)
    runs = _runs(out, run)
    data = Path(generation) if generation else current_generation(out)

    kept = 0
    lang_kept: Counter = Counter()
    lang_dup: Counter = Counter()
    lang_dropped: Counter = Counter()
    kept_by_source: Counter = Counter()
    sizes: Counter = Counter()
    largest: list[dict] = []
    sims: list[float] = []
    conts: list[float] = []
    exact = 0
    relations: Counter = Counter()
    before_len: list[int] = []
    after_len: list[int] = []
    for a in read_corpus(data, "articles"):
        kept += 1
        lang = a.get("language") or "und"
        members = a.get("duplicates") or []
        lang_kept[lang] += 1
        lang_dup[lang] += len(members)
        kept_by_source[a.get("source") or "(none)"] += 1
        sizes[1 + len(members)] += 1
        for m in members:
            sims.append(float(m.get("similarity", 0)))
            conts.append(float(m.get("containment", 0)))
            exact += bool(m.get("exact"))
            relations[m.get("relation") or ("exact" if m.get("exact") else "near")] += 1
        if members:
            largest.append({"canonical": a["id"], "title": a.get("title") or "", "source": a.get("source"),
                            "language": a.get("language"), "size": 1 + len(members), "members": members})
            largest.sort(key=lambda c: (-c["size"], c["canonical"]))
            del largest[LARGEST_CLUSTERS:]
        before_len.append(int(a.get("raw_chars") or 0))
        after_len.append(len(a.get("text") or ""))

    drops: Counter = Counter()
    quarantined: list[dict] = []
    for d in read_corpus(data, "dropped"):
        drops[d["reason"]] += 1
        if d["reason"] == "quarantined":
            if len(quarantined) < QUARANTINE_LISTED:
                quarantined.append({"id": d["id"], "detail": d.get("detail", "")})
        elif d["reason"] != "duplicate":
            lang_dropped[d.get("language") or "und"] += 1

    documents = kept + sum(drops.values())
    readable = documents - drops.get("quarantined", 0)
    passed = readable - sum(n for r, n in drops.items() if r not in ("quarantined", "duplicate"))
    funnel = [
        {"stage": "documents read", "count": documents},
        {"stage": "readable", "count": readable},
        {"stage": "passed the language and length gates", "count": passed},
        {"stage": "kept, one per story", "count": kept},
    ]

    # Per source, over every run (each run cleans only what was new to it).
    words_before: Counter = Counter()
    words_removed: Counter = Counter()
    removals: dict[str, Counter] = defaultdict(Counter)
    lines: Counter = Counter()
    for r in runs:
        words_before.update(r.get("words_before") or {})
        words_removed.update(r.get("words_removed") or {})
        for src, reasons in (r.get("edits_by_source") or {}).items():
            removals[src].update({k: v for k, v in reasons.items() if k not in CHANGE_REASONS})
        for row in r.get("removed_lines") or []:
            lines[(row["source"], row["reason"], row["line"])] += row["count"]
    sources = [
        {"source": s, "words_before": words_before[s], "words_removed": words_removed[s],
         "boilerplate_share": _share(words_removed[s], words_before[s]),
         "removals": dict(removals[s].most_common()), "kept": kept_by_source.get(s, 0)}
        for s in sorted(set(words_before) | set(kept_by_source))
    ]
    sources.sort(key=lambda s: (-(s["boilerplate_share"] or 0), s["source"]))
    ranked = sorted(lines.items(), key=lambda kv: (-kv[1], kv[0]))
    by_source: dict[str, list[dict]] = defaultdict(list)
    for (src, reason, line), n in ranked:
        if len(by_source[src]) < LINES_PER_SOURCE:
            by_source[src].append({"line": line, "reason": reason, "count": n})

    edges = np.round(np.linspace(0, 1, 21), 2)
    sims_a, conts_a = np.array(sims), np.array(conts)

    b_arr, a_arr = np.array(before_len, dtype=np.int64), np.array(after_len, dtype=np.int64)
    hi = max(int(b_arr.max()) if b_arr.size else 1, 2)
    lo = max(1, int(min(a_arr.min(), b_arr.min()) * 0.9)) if a_arr.size else 1
    len_edges = np.unique(np.round(np.geomspace(lo, hi * 1.05, 25)).astype(int))
    step = max(1, -(-b_arr.size // SCATTER_POINTS))

    run_rows = []
    for r in runs:
        wb, wr = r.get("words_before") or {}, r.get("words_removed") or {}
        run_rows.append({
            "run_id": r.get("run_id"), "started": r.get("started"), "finished": r.get("finished"),
            "config_hash": r.get("config_hash"), "deployment": (r.get("prefect") or {}).get("deployment"),
            "counts": r.get("counts") or {}, "timings": r.get("timings") or {},
            "added": {k: len(v) for k, v in (r.get("added") or {}).items()},
            "sources": {s: {"words_before": wb[s], "words_removed": wr.get(s, 0), "boilerplate_share": _share(wr.get(s, 0), wb[s])}
                        for s in sorted(wb)},
        })

    last = runs[-1] if runs else {}
    # The latest runs' examples first (a quiet night may have none or one).
    examples: list[dict] = []
    for r in reversed(runs):
        examples += [{**e, "run_id": r.get("run_id")} for e in r.get("examples") or []][: EXAMPLES - len(examples)]
        if len(examples) >= EXAMPLES:
            break
    total_before, total_removed = sum(words_before.values()), sum(words_removed.values())
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "summary": {
            "documents": documents, "kept": kept, "dropped": sum(drops.values()),
            "duplicates": drops.get("duplicate", 0), "quarantined": drops.get("quarantined", 0),
            "filtered": readable - passed, "languages": len(lang_kept), "sources": len(sources), "runs": len(runs),
            "words_before": total_before, "words_removed": total_removed,
            "boilerplate_share": _share(total_removed, total_before),
        },
        "funnel": funnel,
        "drop_reasons": dict(drops.most_common()),
        "quarantined": quarantined,
        "languages": [
            {"language": lang, "kept": lang_kept[lang], "duplicate": lang_dup[lang], "dropped": lang_dropped[lang]}
            for lang in sorted(set(lang_kept) | set(lang_dropped), key=lambda l: (-(lang_kept[l] + lang_dup[l] + lang_dropped[l]), l))
        ],
        "sources": sources,
        "removed_lines": {
            "top": [{"source": s, "reason": r, "line": line, "count": n} for (s, r, line), n in ranked[:TOP_LINES]],
            "by_source": dict(sorted(by_source.items())),
        },
        "duplicates": {
            "clusters": kept,
            "duplicates": len(sims),
            "exact": exact,
            # how each copy relates to its kept article (cleaners.dedup.RELATIONS)
            "relations": dict(sorted(relations.items(), key=lambda kv: (-kv[1], kv[0]))),
            "cluster_sizes": {str(k): v for k, v in sorted(sizes.items())},
            "largest": largest,
            "similarity_histogram": {
                "edges": edges.tolist(),
                "similarity": np.histogram(sims_a, edges)[0].tolist(),
                "containment": np.histogram(conts_a, edges)[0].tolist(),
            },
        },
        "lengths": {
            "unit": "characters",
            "before": _quantiles(b_arr),
            "after": _quantiles(a_arr),
            "histogram": {"edges": len_edges.tolist(), "before": np.histogram(b_arr, len_edges)[0].tolist(),
                          "after": np.histogram(a_arr, len_edges)[0].tolist()},
            "sample": [[int(b), int(a)] for b, a in zip(b_arr[::step], a_arr[::step])],
        },
        "examples": examples,
        "runs": run_rows,
        "trends": {"jumps": _jumps(run_rows)},
        "latest_run": {k: last.get(k) for k in ("run_id", "started", "finished", "input", "config_hash", "counts",
                                                 "timings", "skipped_files", "replaced_canonicals", "prefect")},
    }


def _jumps(runs: list[dict]) -> list[dict]:
    """Sources whose share in the latest run that saw them rose by at least
    JUMP_POINTS over their mean in earlier runs."""
    history: dict[str, list[tuple[str, float, int]]] = defaultdict(list)
    for r in runs:
        for src, v in r["sources"].items():
            if v["boilerplate_share"] is not None and v["words_before"] >= JUMP_MIN_WORDS:
                history[src].append((r["run_id"], v["boilerplate_share"], v["words_before"]))
    jumps = []
    for src, points in sorted(history.items()):
        if len(points) < 2:
            continue
        run_id, share, _ = points[-1]
        before = sum(p[1] for p in points[:-1]) / (len(points) - 1)
        change = (share - before) * 100
        if change >= JUMP_POINTS:
            jumps.append({"source": src, "run_id": run_id, "share": share, "previous_mean": round(before, 4),
                          "change_points": round(change, 1)})
    return sorted(jumps, key=lambda j: -j["change_points"])


# --------------------------------------------------------------------------
# Charts


BLUE, RED, GREEN, GREY, AMBER = "#2f6690", "#c8553d", "#3a7d44", "#9aa5b1", "#e0a458"
PALETTE = ["#2f6690", "#c8553d", "#3a7d44", "#e0a458", "#7d5ba6", "#3a9ea5", "#b35c8a", "#6b705c", "#d4a017", "#5c7aa5",
           "#a05a2c", "#4f772d", "#e07a9f", "#1b998b", "#8d99ae", "#f4a261", "#2b2d42", "#9c6644"]

_RC = {
    "svg.fonttype": "none",  # text stays text: small, selectable, searchable
    "svg.hashsalt": "newsclean",  # stable element ids: rebuilding gives the same file
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Helvetica", "Arial"],
    "font.size": 9.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#8a949e",
    "axes.labelcolor": "#333",
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.grid": True,
    "grid.color": "#e6e9ec",
    "grid.linewidth": 0.8,
    "axes.axisbelow": True,
    "xtick.color": "#555",
    "ytick.color": "#555",
    "legend.frameon": False,
    "figure.facecolor": "white",
}


class _Charts:
    """Renders figures to inline SVG, each with its own id prefix so that
    several SVGs in one page never share an element id."""

    def __init__(self) -> None:
        self.n = 0

    def figure(self, width: float = 9.6, height: float = 3.0):
        from matplotlib.figure import Figure

        return Figure(figsize=(width, height), layout="constrained")

    def svg(self, fig, label: str) -> str:
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
        text = buf.getvalue()
        text = text[text.index("<svg"):]
        text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
        self.n += 1
        prefix = f"c{self.n}-"
        text = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', text)
        text = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", text)
        text = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}{m.group(1)}"', text)
        # Scale with the page instead of a fixed size in points.
        m = re.search(r'<svg[^>]*?\swidth="([\d.]+)pt"\s+height="([\d.]+)pt"', text)
        if m:
            w = float(m.group(1))
            text = text.replace(m.group(0), m.group(0).replace(f'width="{m.group(1)}pt" height="{m.group(2)}pt"',
                                                              f'style="width:100%;max-width:{w * 4 / 3:.0f}px;height:auto"'), 1)
        return text.replace("<svg ", f'<svg role="img" aria-label="{html.escape(label)}" ', 1)


def _whole(axis) -> None:
    """Counts are whole numbers: no 0.5 ticks on small charts."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def _label_bars(ax, bars, fmt, horizontal=True):
    for b in bars:
        v = b.get_width() if horizontal else b.get_height()
        if horizontal:
            ax.annotate(fmt(v), (v, b.get_y() + b.get_height() / 2), xytext=(3, 0), textcoords="offset points",
                        va="center", fontsize=8.5, color="#333")
        else:
            ax.annotate(fmt(v), (b.get_x() + b.get_width() / 2, v), xytext=(0, 2), textcoords="offset points",
                        ha="center", va="bottom", fontsize=8.5, color="#333")


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _hbar(ch: _Charts, labels, values, title, color=BLUE, fmt=lambda v: f"{v:,.0f}", xlabel="", label="", width=9.6) -> str:
    fig = ch.figure(width, max(1.5, 0.3 * len(labels) + 0.9))
    ax = fig.subplots()
    bars = ax.barh(range(len(labels)), values, color=color, height=0.65)
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.grid(axis="y", visible=False)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.margins(x=0.12)
    _label_bars(ax, bars, fmt)
    if all(float(v).is_integer() for v in values):
        _whole(ax.xaxis)
    return ch.svg(fig, label or title)


def chart_funnel(ch: _Charts, f: dict) -> str:
    stages = f["funnel"]
    top = stages[0]["count"] or 1
    fig = ch.figure(9.6, 2.4)
    ax = fig.subplots()
    colors = [GREY, BLUE, BLUE, GREEN]
    for i, s in enumerate(stages):
        ax.barh(i, s["count"], left=(top - s["count"]) / 2, color=colors[i], height=0.7)
        ax.text(top / 2, i, f"{s['count']:,}  ({s['count'] / top:.0%})", ha="center", va="center",
                color="white", fontsize=9.5, fontweight="bold")
    ax.set_yticks(range(len(stages)), [s["stage"] for s in stages])
    ax.invert_yaxis()
    ax.set_xticks([])
    ax.grid(False)
    ax.spines[["bottom", "left"]].set_visible(False)
    ax.set_title("Articles through the stages")
    return ch.svg(fig, "Funnel of articles through the stages")


def chart_drops(ch: _Charts, f: dict) -> str:
    d = f["drop_reasons"]
    return _hbar(ch, list(d), list(d.values()), "Why input articles were not kept", color=RED, width=7.5)


def chart_languages(ch: _Charts, f: dict) -> str:
    rows = f["languages"][:15]
    labels = [f"{LANGUAGE_NAMES.get(r['language'], r['language'])} ({r['language']})" for r in rows]
    fig = ch.figure(7.5, max(1.6, 0.32 * len(rows) + 1.1))
    ax = fig.subplots()
    y = np.arange(len(rows))
    left = np.zeros(len(rows))
    for key, color, name in (("kept", GREEN, "kept"), ("duplicate", AMBER, "folded into a kept copy"), ("dropped", RED, "dropped by a gate")):
        vals = np.array([r[key] for r in rows], dtype=float)
        if vals.any():
            ax.barh(y, vals, left=left, color=color, height=0.65, label=name)
        left += vals
    for yi, total in zip(y, left):
        ax.annotate(f"{total:,.0f}", (total, yi), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8.5)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.grid(axis="y", visible=False)
    ax.margins(x=0.1)
    ax.legend(loc="lower right", fontsize=8.5)
    _whole(ax.xaxis)
    ax.set_title("Articles per detected language")
    return ch.svg(fig, "Language mix")


def chart_boilerplate_share(ch: _Charts, f: dict) -> str:
    rows = [s for s in f["sources"] if s["boilerplate_share"] is not None][:25]
    return _hbar(ch, [s["source"] for s in rows], [s["boilerplate_share"] * 100 for s in rows],
                 "Boilerplate share per source", color=RED, fmt=lambda v: f"{v:.1f}%",
                 xlabel="% of the words read", label="Boilerplate share per source", width=4.8)


def chart_removals_by_source(ch: _Charts, f: dict) -> str:
    rows = [s for s in f["sources"] if s["removals"]][:25]
    reasons = Counter()
    for s in rows:
        reasons.update(s["removals"])
    order = [r for r, _ in reasons.most_common()]
    legend_rows = -(-len(order) // 3)
    fig = ch.figure(4.8, 0.3 * len(rows) + 1.2 + 0.2 * legend_rows)
    ax = fig.subplots()
    y = np.arange(len(rows))
    left = np.zeros(len(rows))
    for i, reason in enumerate(order):
        vals = np.array([s["removals"].get(reason, 0) for s in rows], dtype=float)
        ax.barh(y, vals, left=left, color=PALETTE[i % len(PALETTE)], height=0.65, label=reason)
        left += vals
    ax.set_yticks(y, [s["source"] for s in rows])
    ax.invert_yaxis()
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("lines removed")
    _whole(ax.xaxis)
    fig.legend(loc="outside lower center", ncols=min(3, len(order)), fontsize=8)
    ax.set_title("What was removed, per source")
    return ch.svg(fig, "Removed lines per source and reason")


def chart_top_lines(ch: _Charts, f: dict) -> str:
    """Long labels: each line is written above its bar rather than as a tick
    label, so the bars keep the full width."""
    rows = f["removed_lines"]["top"][:15]
    fig = ch.figure(9.6, 0.45 * len(rows) + 0.8)
    ax = fig.subplots()
    y = np.arange(len(rows))
    bars = ax.barh(y, [r["count"] for r in rows], color=RED, height=0.32)
    for yi, r in zip(y, rows):
        ax.text(0, yi - 0.22, _short(r["line"], 95), va="bottom", ha="left", fontsize=8.5, color="#1f2933")
        ax.annotate(f"{r['source']} · {r['reason']}", (1, yi - 0.22), xycoords=("axes fraction", "data"),
                    va="bottom", ha="right", fontsize=7.5, color="#6b7785")
    _label_bars(ax, bars, lambda v: f"{v:,.0f}")
    _whole(ax.xaxis)
    ax.set_ylim(len(rows) - 0.5, -0.75)
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    ax.grid(axis="y", visible=False)
    ax.margins(x=0.05)
    ax.set_xlabel("articles it was removed from")
    ax.set_title("Most removed lines")
    return ch.svg(fig, "Most removed lines")


def chart_cluster_sizes(ch: _Charts, f: dict) -> str:
    sizes = f["duplicates"]["cluster_sizes"]
    fig = ch.figure(4.6, 2.8)
    ax = fig.subplots()
    bars = ax.bar([str(k) for k in sizes], list(sizes.values()), color=[GREY if k == "1" else AMBER for k in sizes])
    _label_bars(ax, bars, lambda v: f"{v:,.0f}", horizontal=False)
    ax.set_xlabel("articles in the cluster")
    _whole(ax.yaxis)
    ax.set_ylabel("clusters")
    ax.grid(axis="x", visible=False)
    ax.margins(y=0.15)
    ax.set_title("Cluster sizes")
    return ch.svg(fig, "Duplicate cluster sizes")


def chart_similarity(ch: _Charts, f: dict) -> str:
    h = f["duplicates"]["similarity_histogram"]
    edges = np.array(h["edges"])
    width = edges[1] - edges[0]
    fig = ch.figure(4.6, 2.8)
    ax = fig.subplots()
    ax.bar(edges[:-1], h["similarity"], width=width * 0.48, align="edge", color=BLUE, label="similarity (Jaccard)")
    ax.bar(edges[:-1] + width * 0.5, h["containment"], width=width * 0.48, align="edge", color=AMBER, label="containment")
    ax.set_xlim(0, 1)
    ax.set_xlabel("to the kept copy")
    ax.set_ylabel("duplicates")
    _whole(ax.yaxis)
    ax.grid(axis="x", visible=False)
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title("How close the copies are")
    return ch.svg(fig, "Similarity of duplicates to their kept copy")


def chart_lengths(ch: _Charts, f: dict) -> str:
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    L = f["lengths"]
    edges = np.array(L["histogram"]["edges"], dtype=float)
    fig = ch.figure(9.6, 3.2)
    ax1, ax2 = fig.subplots(1, 2)
    ax1.stairs(L["histogram"]["before"], edges, fill=True, color=GREY, alpha=0.6, label="before (as read)")
    ax1.stairs(L["histogram"]["after"], edges, color=BLUE, linewidth=1.8, label="after cleaning")
    ax1.set_xscale("log")
    ax1.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax1.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax1.xaxis.set_minor_formatter(NullFormatter())
    ax1.set_xlabel("characters per kept article")
    ax1.set_ylabel("articles")
    _whole(ax1.yaxis)
    ax1.legend(fontsize=8, loc="upper left")
    ax1.set_title("Length distribution")
    pts = np.array(L["sample"], dtype=float).reshape(-1, 2)
    ax2.scatter(pts[:, 0], pts[:, 1], s=12, color=BLUE, alpha=0.6, edgecolors="none")
    hi = max(float(pts.max()) if pts.size else 1.0, 1.0) * 1.05
    ax2.plot([0, hi], [0, hi], color="#888", linewidth=0.8, linestyle="--")
    ax2.text(hi * 0.97, hi * 0.9, "nothing removed", ha="right", va="top", fontsize=7.5, color="#777", rotation=0)
    ax2.set_xlim(0, hi)
    ax2.set_ylim(0, hi)
    ax2.set_xlabel("before (characters)")
    ax2.set_ylabel("after (characters)")
    ax2.set_title("Each article")
    return ch.svg(fig, "Text length before and after cleaning")


def chart_trend_share(ch: _Charts, f: dict) -> str:
    runs = f["runs"]
    totals: Counter = Counter()
    for r in runs:
        for s, v in r["sources"].items():
            totals[s] += v["words_before"]
    jumped = {j["source"] for j in f["trends"]["jumps"]}
    shown = sorted(jumped) + [s for s, _ in totals.most_common() if s not in jumped]
    shown = shown[:TREND_SOURCES]
    fig = ch.figure(9.6, 3.2)
    ax = fig.subplots()
    x = np.arange(len(runs))
    for i, src in enumerate(shown):
        ys = [r["sources"].get(src, {}).get("boilerplate_share") for r in runs]
        xs = [xi for xi, v in zip(x, ys) if v is not None]
        vs = [v * 100 for v in ys if v is not None]
        ax.plot(xs, vs, marker="o", markersize=4, color=PALETTE[i % len(PALETTE)],
                linewidth=2.4 if src in jumped else 1.3, label=src + (" (jumped)" if src in jumped else ""))
    ax.set_xticks(x, _run_labels(runs), rotation=30 if len(runs) > 4 else 0, ha="right" if len(runs) > 4 else "center")
    ax.set_ylabel("% of words removed")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7.5, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title("Boilerplate share per source, run by run")
    return ch.svg(fig, "Boilerplate share per source across runs")


def chart_trend_runs(ch: _Charts, f: dict) -> str:
    runs = f["runs"]
    fig = ch.figure(9.6, 3.0)
    ax = fig.subplots()
    x = np.arange(len(runs))
    bottom = np.zeros(len(runs))
    for key, color, name in (("new", GREEN, "new"), ("updated", AMBER, "updated"), ("quarantined", RED, "quarantined"),
                             ("unchanged", "#d5dbe1", "already processed")):
        vals = np.array([r["counts"].get(key, 0) for r in runs], dtype=float)
        ax.bar(x, vals, bottom=bottom, color=color, label=name, width=0.6)
        bottom += vals
    ax.plot(x, [r["counts"].get("corpus_kept", 0) for r in runs], color=BLUE, marker="o", label="corpus size (kept)")
    ax.set_xticks(x, _run_labels(runs), rotation=30 if len(runs) > 4 else 0, ha="right" if len(runs) > 4 else "center")
    ax.set_ylabel("documents")
    _whole(ax.yaxis)
    ax.grid(axis="x", visible=False)
    ax.legend(fontsize=7.5, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title("What each run read")
    return ch.svg(fig, "Documents read per run")


def _run_labels(runs: list[dict]) -> list[str]:
    """Start times as short as keeps them apart: "03-11 02:00", with seconds
    only when two runs started in the same minute."""
    starts = [(r.get("started") or r.get("run_id") or "").replace("T", " ") for r in runs]
    short = [s[5:16] for s in starts]
    return short if len(set(short)) == len(short) else [s[5:19] for s in starts]


# --------------------------------------------------------------------------
# The page


CSS = """
:root{--ink:#1f2933;--muted:#5f6b76;--line:#e3e7eb;--bg:#f6f7f9;--blue:#2f6690;--red:#c8553d;--green:#3a7d44;--amber:#e0a458}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:var(--bg)}
header{background:#17324d;color:#fff;padding:28px 0 20px}
header h1{margin:0 0 4px;font-size:26px;font-weight:650}
header p{margin:0;color:#c9d6e3}
.wrap{max-width:1080px;margin:0 auto;padding:0 24px}
nav{position:sticky;top:0;z-index:2;background:#fff;border-bottom:1px solid var(--line)}
nav .wrap{display:flex;flex-wrap:wrap;gap:4px 18px;padding-top:8px;padding-bottom:8px}
nav a{color:var(--blue);text-decoration:none;font-size:14px}
nav a:hover{text-decoration:underline}
main{padding:8px 0 48px}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:20px 24px;margin:20px 0}
h2{margin:0 0 4px;font-size:20px}
h3{font-size:16px;margin:18px 0 6px}
p.lead{margin:0 0 14px;color:var(--muted);max-width:860px}
.cards{display:grid;grid-template-columns:repeat(4,1fr);gap:12px;margin:20px 0 0}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:12px 14px}
.card .n{font-size:26px;font-weight:650;line-height:1.2}
.card .l{color:var(--muted);font-size:13px}
.card.kept .n{color:var(--green)}.card.dup .n{color:#b07a1f}.card.drop .n{color:var(--red)}.card.bp .n{color:var(--red)}
.alert{border-left:4px solid var(--red);background:#fdf1ee;padding:10px 14px;border-radius:4px;margin:14px 0}
.note{border-left:4px solid var(--blue);background:#eef4f9;padding:10px 14px;border-radius:4px;margin:14px 0}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(400px,1fr));gap:18px;align-items:start}
figure.chart{margin:8px 0 14px}
figure.chart figcaption{color:var(--muted);font-size:13px;margin-top:4px}
table.data{border-collapse:collapse;width:100%;font-size:14px;margin:8px 0 4px}
table.data th,table.data td{padding:5px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
table.data th{background:#f0f3f6;font-weight:600;font-size:13px;color:#3e4c59}
table.data td.num,table.data th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.data tr:nth-child(even) td{background:#fafbfc}
.scroll{overflow-x:auto}
.small{font-size:12px}.muted{color:var(--muted)}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
.pill{display:inline-block;padding:0 7px;border-radius:10px;font-size:12px;background:#eef1f4;color:#3e4c59;margin-right:4px;white-space:nowrap}
.pill.red{background:#fbe3dd;color:#8a2d1a}.pill.exact{background:#fcefd6;color:#7a5410}
details{margin:8px 0}
summary{cursor:pointer;font-weight:600}
.example{display:grid;grid-template-columns:1fr 1fr;gap:16px;margin:10px 0 4px}
.example .col{border:1px solid var(--line);border-radius:6px;padding:10px 12px;background:#fcfcfd;font-size:14px;overflow-wrap:anywhere}
.example .col h4{margin:0 0 6px;font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
.example .ln{white-space:pre-wrap;margin:0 0 6px}
.example .rm{background:#fbe3dd;text-decoration:line-through;text-decoration-color:#c8553d88;color:#7a2c1c;border-radius:3px;padding:0 3px}
.example .why{font-size:11px;color:#8a2d1a;text-decoration:none;margin-left:6px;font-style:italic}
.legend span{margin-right:14px}
footer{color:var(--muted);font-size:13px;text-align:center;padding:0 0 30px}
@media (max-width:760px){.grid2,.example{grid-template-columns:1fr}.cards{grid-template-columns:repeat(2,1fr)}}
@media print{nav{display:none}section{break-inside:avoid}}
"""


def _e(x: Any) -> str:
    return html.escape("" if x is None else str(x))


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v * 100:.1f}%"


def _table(head: list[str], rows: list[list[Any]], num: set[int] = frozenset()) -> str:
    th = "".join(f"<th class='num'>{_e(h)}</th>" if i in num else f"<th>{_e(h)}</th>" for i, h in enumerate(head))
    body = []
    for r in rows:
        cells = "".join(f"<td class='num'>{c}</td>" if i in num else f"<td>{c}</td>" for i, c in enumerate(r))
        body.append(f"<tr>{cells}</tr>")
    return f"<table class='data'><thead><tr>{th}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _figure(name: str, svg: str, caption: str = "") -> str:
    cap = f"<figcaption>{caption}</figcaption>" if caption else ""
    return f"<figure class='chart' data-chart='{_e(name)}'>{svg}{cap}</figure>"


def _example_html(ex: dict) -> str:
    removals: dict[str, list[str]] = defaultdict(list)
    partial: list[tuple[str, str]] = []
    for e in ex.get("edits", []):
        if e["reason"] in CHANGE_REASONS or not e.get("text"):
            continue
        removals[e["text"].strip()].append(e["reason"])
    before_lines = []
    for line in ex["before"].split("\n"):
        if not line.strip():
            continue
        key = line.strip()
        if removals.get(key):
            reason = removals[key].pop(0)
            before_lines.append(f"<p class='ln'><span class='rm'>{_e(line)}</span><span class='why'>{_e(reason)}</span></p>")
            continue
        # A removal inside a line (e.g. a dateline glued to the first sentence).
        for text, reasons in removals.items():
            if reasons and text and text in line:
                i = line.index(text)
                reason = reasons.pop(0)
                before_lines.append(f"<p class='ln'>{_e(line[:i])}<span class='rm'>{_e(text)}</span>{_e(line[i + len(text):])}"
                                    f"<span class='why'>{_e(reason)}</span></p>")
                break
        else:
            before_lines.append(f"<p class='ln'>{_e(line)}</p>")
    after = "".join(f"<p class='ln'>{_e(p)}</p>" for p in ex["after"].split("\n") if p.strip())
    n_removed = sum(1 for e in ex.get("edits", []) if e["reason"] not in CHANGE_REASONS)
    reasons = Counter(e["reason"] for e in ex.get("edits", []) if e["reason"] not in CHANGE_REASONS)
    pills = "".join(f"<span class='pill red'>{_e(r)} ×{n}</span>" for r, n in reasons.most_common())
    return (f"<summary>{_e(ex['id'])} <span class='pill'>{_e(ex.get('source') or 'no source')}</span>"
            f"<span class='pill'>{n_removed} removals, {ex.get('removed_words', 0)} words</span></summary>"
            f"<div>{pills}</div>"
            f"<div class='example'><div class='col'><h4>As read (after encoding repair)</h4>{''.join(before_lines)}</div>"
            f"<div class='col'><h4>Cleaned</h4>{after}</div></div>")


def render_html(f: dict[str, Any]) -> str:
    """The page. Charts are drawn under the report's own matplotlib style,
    without touching the caller's global settings."""
    import matplotlib

    with matplotlib.rc_context(_RC):
        return _render(f)


def _render(f: dict[str, Any]) -> str:
    ch = _Charts()
    s = f["summary"]
    last = f["latest_run"] or {}
    counts = last.get("counts") or {}
    sections: list[tuple[str, str, str]] = []  # (anchor, title, body)

    # --- overview
    cards = [
        ("", s["documents"], "documents read"),
        ("kept", s["kept"], "articles kept"),
        ("dup", s["duplicates"], "copies folded into kept articles"),
        ("drop", s["filtered"], "dropped by language/length gates"),
        ("drop", s["quarantined"], "unreadable inputs quarantined"),
        ("bp", _pct(s["boilerplate_share"]), "of words removed as boilerplate"),
        ("", s["languages"], "languages among kept articles"),
        ("", s["runs"], "runs in the history"),
    ]
    overview = ["<div class='cards'>"]
    for cls, n, label in cards:
        n = f"{n:,}" if isinstance(n, int) else n
        overview.append(f"<div class='card {cls}'><div class='n'>{_e(n)}</div><div class='l'>{_e(label)}</div></div>")
    overview.append("</div>")
    alerts = []
    for j in f["trends"]["jumps"]:
        alerts.append(f"<div class='alert'><b>{_e(j['source'])}</b>: boilerplate share rose to <b>{_pct(j['share'])}</b> in run "
                      f"{_e(j['run_id'])}, from {_pct(j['previous_mean'])} on average before (+{j['change_points']:.1f} points). "
                      "A site redesign or a scraper change is the usual cause; see the trends below.</div>")
    if s["quarantined"]:
        alerts.append(f"<div class='alert'><b>{s['quarantined']:,}</b> input document(s) could not be read and were quarantined; "
                      "<a href='#drops'>see which and why</a>.</div>")

    # --- funnel
    if s["documents"]:
        body = [_figure("funnel", chart_funnel(ch, f),
                        "Each bar is what is left after a stage; the percentages are of the documents read.")]
        rows = []
        for prev, cur in zip(f["funnel"], f["funnel"][1:]):
            rows.append([_e(cur["stage"]), f"{cur['count']:,}", f"{prev['count'] - cur['count']:,}"])
        body.append(_table(["stage", "articles", "lost at this stage"], rows, {1, 2}))
        sections.append(("funnel", "From raw input to a clean corpus",
                         "<p class='lead'>Every input document ends up either as a kept article in <code>articles.jsonl</code> "
                         "or as a line of <code>dropped.jsonl</code> with its reason. Unreadable input is quarantined first; "
                         "the language and length gates drop what is not a usable article; near-duplicate detection keeps one "
                         "article per story.</p>" + "".join(body)))

    # --- drops
    if f["drop_reasons"]:
        body = [_figure("drop-reasons", chart_drops(ch, f))]
        body.append(_table(["reason", "articles", "meaning"],
                           [[f"<code>{_e(r)}</code>", f"{n:,}", _e(reason_meaning(r))] for r, n in f["drop_reasons"].items()], {1}))
        if f["quarantined"]:
            body.append("<h3>Quarantined input</h3>")
            body.append(_table(["input", "why it could not be read"],
                               [[f"<span class='mono'>{_e(q['id'])}</span>", _e(q["detail"])] for q in f["quarantined"]]))
        sections.append(("drops", "Drop reasons", "<p class='lead'>Why input articles did not make it into the corpus.</p>" + "".join(body)))

    # --- languages
    if f["languages"]:
        sections.append(("languages", "Language mix",
                         "<p class='lead'>Language detected on the start of each cleaned text. Copies folded into a kept "
                         "article count under the kept article's language.</p>" + _figure("languages", chart_languages(ch, f))))

    # --- boilerplate
    srcs = [x for x in f["sources"] if x["boilerplate_share"] is not None]
    if srcs:
        body = ["<div class='grid2'>", _figure("boilerplate-share", chart_boilerplate_share(ch, f),
                                               "Words removed by cleaning ÷ words read, over all runs.")]
        if any(x["removals"] for x in srcs):
            body.append(_figure("removals-by-source", chart_removals_by_source(ch, f),
                                "Number of lines removed, by reason code."))
        body.append("</div>")
        body.append(_table(["source", "words read", "words removed", "share", "kept articles", "main reasons"],
                           [[_e(x["source"]), f"{x['words_before']:,}", f"{x['words_removed']:,}", _pct(x["boilerplate_share"]), f"{x['kept']:,}",
                             " ".join(f"<span class='pill'>{_e(r)} {n}</span>" for r, n in list(x["removals"].items())[:4])]
                            for x in srcs], {1, 2, 3, 4}))
        legend = ", ".join(f"<code>{_e(k)}</code> {_e(v)}" for k, v in ((c, r.meaning) for c, r in REASONS.items() if r.kind == "removal")
                           if any(k in x["removals"] for x in srcs))
        body.append(f"<details><summary>What the reason codes mean</summary><p>{legend}.</p></details>")
        sections.append(("boilerplate", "Boilerplate per source",
                         "<p class='lead'>How much of each site's text was furniture rather than article: footers, related links, "
                         "bylines, share prompts, lines the site repeats on every page, and spliced-in paragraphs.</p>" + "".join(body)))

    # --- removed lines
    rl = f["removed_lines"]
    if rl["top"]:
        body = [_figure("top-removed-lines", chart_top_lines(ch, f), "Counted over every article cleaned, duplicates included.")]
        body.append("<h3>Most removed lines per source</h3>")
        rows = []
        biggest = {x["source"] for x in sorted(f["sources"], key=lambda x: -x["words_before"])[:TABLE_SOURCES]}
        for src, items in rl["by_source"].items():
            if src not in biggest:
                continue
            for i, it in enumerate(items):
                rows.append([f"<b>{_e(src)}</b>" if i == 0 else "", f"<span class='mono'>{_e(_short(it['line'], 140))}</span>",
                             f"<code>{_e(it['reason'])}</code>", f"{it['count']:,}"])
        body.append(_table(["source", "line", "reason", "times"], rows, {3}))
        sections.append(("lines", "Most removed lines",
                         "<p class='lead'>The exact lines cleaning removed most often. A line you recognise as real article "
                         "text here would be a rule to fix in <code>configs/rules.toml</code>.</p>" + "".join(body)))

    # --- duplicates
    d = f["duplicates"]
    if d["clusters"]:
        body = ["<div class='grid2'>", _figure("cluster-sizes", chart_cluster_sizes(ch, f),
                                               "Most stories arrive once; syndicated ones arrive several times.")]
        if d["duplicates"]:
            body.append(_figure("similarity", chart_similarity(ch, f),
                                "Jaccard similarity of word shingles, and the share of the copy contained in the kept text."))
        body.append("</div>")
        if d["largest"]:
            body.append("<h3>Largest clusters</h3>")
            rows = []
            for c in d["largest"]:
                members = "<br>".join(
                    f"<span class='mono'>{_e(m['id'])}</span> <span class='pill'>sim {m.get('similarity', 0):.2f}</span>"
                    f"<span class='pill'>cont {m.get('containment', 0):.2f}</span>"
                    + ("<span class='pill exact'>exact copy</span>" if m.get("exact") else
                       (f"<span class='pill'>{_e(m['relation'].replace('_', ' '))}</span>" if m.get("relation") else ""))
                    for m in c["members"])
                rows.append([f"{c['size']}", f"<b>{_e(c['title'] or '(untitled)')}</b><br><span class='mono'>{_e(c['canonical'])}</span>"
                             f" <span class='pill'>{_e(c['source'] or 'no source')}</span>", members])
            body.append(_table(["size", "kept article", "copies folded into it"], rows, {0}))
        sections.append(("duplicates", "Duplicates",
                         f"<p class='lead'>{d['duplicates']:,} input articles were copies of another ({d['exact']:,} exact after "
                         f"normalisation); they were folded into {sum(v for k, v in d['cluster_sizes'].items() if k != '1'):,} kept "
                         "articles, each of which lists them in its <code>duplicates</code> field"
                         + (" (" + ", ".join(f"{n:,} {_e(k.replace('_', ' '))}" for k, n in d.get("relations", {}).items()) + ")"
                            if d.get("relations") else "") + ".</p>" + "".join(body)))

    # --- lengths
    L = f["lengths"]
    if L["before"]["count"]:
        body = [_figure("lengths", chart_lengths(ch, f),
                        "Left: distribution over kept articles (log scale). Right: one dot per article; the further below the "
                        "dashed line, the more was removed.")]
        body.append(_table(["characters", "10th percentile", "median", "90th percentile", "mean"],
                           [[k, f"{L[k]['p10']:,.0f}", f"{L[k]['median']:,.0f}", f"{L[k]['p90']:,.0f}", f"{L[k]['mean']:,.0f}"]
                            for k in ("before", "after")], {1, 2, 3, 4}))
        sections.append(("lengths", "Text length before and after",
                         "<p class='lead'>Length of each kept article as read and after cleaning.</p>" + "".join(body)))

    # --- examples
    if f["examples"]:
        body = ["<p class='legend'><span><span class='rm' style='background:#fbe3dd;text-decoration:line-through'>struck through</span>"
                " removed, with its reason code</span></p>"]
        for i, ex in enumerate(f["examples"]):
            body.append(f"<details{' open' if i < 2 else ''}>{_example_html(ex)}</details>")
        sections.append(("examples", "Before and after",
                         "<p class='lead'>The articles of the latest run where cleaning removed the most. The left column "
                         "is the text as read (after encoding repair) with each removed line highlighted; the right column "
                         "is what was kept.</p>" + "".join(body)))

    # --- history
    runs = f["runs"]
    if runs:
        body = []
        if len(runs) >= 2:
            body += [_figure("trend-boilerplate", chart_trend_share(ch, f),
                             "Each run cleans only what is new to it, so a point is the share among that run's new articles of the source."),
                     _figure("trend-runs", chart_trend_runs(ch, f))]
        else:
            body.append("<div class='note'>Trends across runs appear here from the second run on.</div>")
        rows = []
        shown = runs[-30:]
        for r, label in reversed(list(zip(shown, _run_labels(shown)))):
            c, added = r["counts"], r.get("added") or {}
            dropped = sum((c.get("dropped") or {}).values())
            rows.append([f"{_e(label)}<br><span class='mono small'>{_e(r['run_id'])}</span>", _e(r.get("deployment") or "by hand"),
                         f"{c.get('documents', 0):,}", f"{c.get('new', 0):,}", f"{c.get('updated', 0):,}", f"{c.get('quarantined', 0):,}",
                         f"{dropped:,}", f"{added.get('kept', 0):,}", f"{added.get('duplicates', 0):,}", f"{c.get('corpus_kept', 0):,}",
                         f"{r['timings'].get('wall', 0):.1f}", f"<span class='mono small'>{_e(r.get('config_hash'))}</span>"])
        body.append("<div class='scroll'>" + _table(
            ["started (UTC)", "deployment", "read", "new", "updated", "quarantined", "gated out", "kept +", "copies +", "corpus", "seconds", "config"],
            rows, {2, 3, 4, 5, 6, 7, 8, 9, 10}) + "</div>")
        body.append("<p class='small muted'><i>read</i>: documents in the input; <i>new</i>/<i>updated</i>: processed by this run, "
                    "the rest had been processed before; <i>kept +</i>/<i>copies +</i>: articles this run added to the corpus "
                    "and copies it folded into kept articles; <i>config</i>: hash of the settings that affect the output.</p>")
        sections.append(("history", "Run history",
                         "<p class='lead'>One row per run, newest first, from <code>runs/*.json</code>. A nightly run reads only "
                         "input it has not seen before; the corpus (kept articles) is the result of all runs together.</p>" + "".join(body)))

    started = (last.get("started") or "")[:16].replace("T", " ")
    sub = (f"Latest run {_e(last.get('run_id'))} ({_e(started)} UTC, {counts.get('documents', 0):,} documents read, "
           f"{counts.get('new', 0):,} new, {(last.get('timings') or {}).get('wall', 0):.1f} s) · input <code>{_e(last.get('input'))}</code>"
           if last else "No run history found.")
    nav = "".join(f"<a href='#{a}'>{_e(t)}</a>" for a, t, _ in sections)
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        "<title>newsclean quality report</title>",
        f"<style>{CSS}</style></head><body>",
        f"<header><div class='wrap'><h1>newsclean quality report</h1><p>{sub}</p></div></header>",
        f"<nav><div class='wrap'>{nav}</div></nav>",
        "<main><div class='wrap'>",
        "".join(overview),
        "".join(alerts),
    ]
    for anchor, title, body in sections:
        parts.append(f"<section id='{anchor}'><h2>{_e(title)}</h2>{body}</section>")
    parts.append("</div></main><footer>Generated by <code>newsclean report</code> from the output folder; "
                 "the same figures are in <code>report.json</code>.</footer></body></html>")
    return "\n".join(parts)


def build(out: str | Path, generation: str | Path | None = None, run: dict | None = None) -> dict[str, Any]:
    """Write report.json and report.html of ``generation`` (default: the
    current one, i.e. ``out`` itself for a folder without generations) into
    it; return their paths as the output folder names them."""
    out = Path(out)
    gen = Path(generation) if generation else current_generation(out)
    data = figures(out, gen, run)
    write_json(gen / "report.json", data)
    with atomic_open(gen / "report.html") as fh:
        fh.write(render_html(data))
    if generation is None:
        link_outputs(out)
    return {"json": str(out / "report.json"), "html": str(out / "report.html")}
