"""The report's charts: matplotlib figures rendered to SVG text, inlined in
the page (no script, font or network needed to open it).

Every chart is drawn 4.8 in wide with 10 pt text or larger: two fit side by
side on a desktop page, and on a 390 px phone one fills the width with its
smallest text still about 9 px.

Drawing is most of a report's cost, so a chart is drawn only when what it
shows changed: :class:`Charts` keys each chart by its name, its data, this
module's source and matplotlib's version, and reuses the SVG that the
previous page carries under the same key. matplotlib is imported only when
some chart has to be drawn.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import re
import textwrap
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

BLUE, RED, GREEN, GREY, AMBER = "#2f6690", "#c8553d", "#3a7d44", "#9aa5b1", "#e0a458"
# Okabe and Ito's colours, told apart with any colour vision; few series per chart.
SERIES = ["#0072b2", "#e69f00", "#009e73", "#d55e00", "#cc79a7", "#56b4e9"]
OTHER = "#c4cbd2"
LANGUAGE_NAMES = {
    "en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian", "pt": "Portuguese",
    "nl": "Dutch", "ru": "Russian", "uk": "Ukrainian", "pl": "Polish", "sv": "Swedish", "da": "Danish",
    "no": "Norwegian", "fi": "Finnish", "cs": "Czech", "tr": "Turkish", "ar": "Arabic", "zh-cn": "Chinese",
    "ja": "Japanese", "ko": "Korean", "und": "undetermined",
}
WIDTH = 4.8  # inches

_RC = {
    "svg.fonttype": "none",  # text stays text: small, selectable, searchable
    "svg.hashsalt": "newsclean",  # stable element ids: rebuilding gives the same file
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Helvetica", "Arial"],
    "font.size": 10.5,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    "axes.labelsize": 10.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#8a949e",
    "axes.labelcolor": "#333",
    "figure.titlesize": 11.5,
    "figure.titleweight": "bold",
    "axes.grid": True,
    "grid.color": "#e6e9ec",
    "grid.linewidth": 0.8,
    "axes.axisbelow": True,
    "xtick.color": "#555",
    "ytick.color": "#555",
    "legend.frameon": False,
    "figure.facecolor": "white",
}

# How :meth:`Charts.figure` writes a chart into the page, read back from the previous page.
_FIGURE = re.compile(r"<figure class='chart' data-chart='([^']+)' data-key='([0-9a-f]+)'>(<svg.*?</svg>)", re.S)


@cache
def _version() -> str:
    """What else decides a chart's bytes: this module and matplotlib."""
    from importlib.metadata import version

    return hashlib.sha256(Path(__file__).read_bytes() + version("matplotlib").encode()).hexdigest()


def _plain(x: Any) -> Any:
    return asdict(x) if is_dataclass(x) else x


class Charts:
    """Draws the page's charts, reusing those of ``previous`` (the page this
    one replaces) whose key matches."""

    def __init__(self, previous: str = "") -> None:
        self.previous = {(name, key): svg for name, key, svg in _FIGURE.findall(previous)}
        self.drawn: list[str] = []
        self.reused: list[str] = []

    def figure(self, name: str, data: Any, caption: str = "") -> str:
        """The page's ``<figure>`` of chart ``name`` (a function of
        :data:`DRAW`) over ``data``, carrying the key a later page reuses it by."""
        key, svg = self._draw(name, data)
        cap = f"<figcaption>{caption}</figcaption>" if caption else ""
        return f"<figure class='chart' data-chart='{html.escape(name)}' data-key='{key}'>{svg}{cap}</figure>"

    def _draw(self, name: str, data: Any) -> tuple[str, str]:
        payload = json.dumps([name, data], default=_plain, sort_keys=True, ensure_ascii=False)
        key = hashlib.sha256((payload + _version()).encode()).hexdigest()[:20]
        svg = self.previous.get((name, key))
        if svg is not None:
            self.reused.append(name)
            return key, svg
        import matplotlib

        with matplotlib.rc_context(_RC):
            fig, label = DRAW[name](json.loads(payload)[1])
            svg = _svg(fig, name, label)
        self.drawn.append(name)
        return key, svg


def _figure(height: float, width: float = WIDTH):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _svg(fig, prefix: str, label: str) -> str:
    """The figure as an inline SVG whose ids start with ``prefix`` (several
    SVGs in one page never share an id) and which scales with the page."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    text = text[text.index("<svg"):].strip()
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    text = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}-{m.group(1)}"', text)
    text = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}-{m.group(1)})", text)
    text = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}-{m.group(1)}"', text)
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
                        va="center", fontsize=10, color="#333")
        else:
            ax.annotate(fmt(v), (b.get_x() + b.get_width() / 2, v), xytext=(0, 2), textcoords="offset points",
                        ha="center", va="bottom", fontsize=10, color="#333")


def _legend(ax, ncols: int, right: bool = False) -> None:
    """Above the plot, under the title: beside the bars it describes and
    never over them."""
    ax.legend(loc="lower right" if right else "lower left", bbox_to_anchor=(1 if right else 0, 1.02), ncols=ncols,
              borderaxespad=0, handlelength=1.4, columnspacing=1.2)


def _wrap(label: str, width: int = 20) -> str:
    return "\n".join(textwrap.wrap(label, width)) or label


def _run_axis(ax, labels: list[str]) -> None:
    ax.set_xticks(np.arange(len(labels)), labels, rotation=30 if len(labels) > 2 else 0,
                  ha="right" if len(labels) > 2 else "center")


# --------------------------------------------------------------------------
# One function per chart: plain data in, (figure, accessible label) out.


def funnel(stages: list[dict]):
    top = stages[0]["count"] or 1
    fig = _figure(0.62 * len(stages) + 0.9)
    ax = fig.subplots()
    colors = [GREY] + [BLUE] * (len(stages) - 2) + [GREEN]
    for i, s in enumerate(stages):
        ax.barh(i, s["count"], left=(top - s["count"]) / 2, color=colors[i], height=0.7)
        ax.text(top / 2, i, f"{s['count']:,} ({s['count'] / top:.0%})", ha="center", va="center",
                color="white", fontsize=10.5, fontweight="bold")
    ax.set_yticks(range(len(stages)), [_wrap(s["stage"], 18) for s in stages])
    ax.invert_yaxis()
    ax.set_xticks([])
    ax.grid(False)
    ax.spines[["bottom", "left"]].set_visible(False)
    fig.suptitle("Articles through the stages", x=0.01, ha="left")
    return fig, "Funnel of articles through the stages"


def languages(rows: list[dict]):
    rows = rows[:15]
    fig = _figure(0.34 * len(rows) + 1.5)
    ax = fig.subplots()
    y = np.arange(len(rows))
    left = np.zeros(len(rows))
    for key, color, name in (("kept", GREEN, "kept"), ("duplicate", AMBER, "copies"), ("dropped", RED, "dropped")):
        vals = np.array([r[key] for r in rows], dtype=float)
        if vals.any():
            ax.barh(y, vals, left=left, color=color, height=0.65, label=name)
        left += vals
    for yi, total in zip(y, left):
        ax.annotate(f"{total:,.0f}", (total, yi), xytext=(3, 0), textcoords="offset points", va="center", fontsize=10)
    ax.set_yticks(y, [f"{LANGUAGE_NAMES.get(r['language'], r['language'])} ({r['language']})" for r in rows])
    ax.invert_yaxis()
    ax.grid(axis="y", visible=False)
    ax.margins(x=0.12)
    _whole(ax.xaxis)
    _legend(ax, 3)
    fig.suptitle("Articles per detected language", x=0.01, ha="left")
    return fig, "Language mix"


def boilerplate_share(rows: list[list]):
    """``rows``: ``[source, share]``, highest first."""
    fig = _figure(0.3 * len(rows) + 1.1)
    ax = fig.subplots()
    bars = ax.barh(range(len(rows)), [s * 100 for _, s in rows], color=RED, height=0.65)
    ax.set_yticks(range(len(rows)), [src for src, _ in rows])
    ax.invert_yaxis()
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("% of the words read")
    ax.margins(x=0.18)
    _label_bars(ax, bars, lambda v: f"{v:.1f}%")
    fig.suptitle("Boilerplate share per source", x=0.01, ha="left")
    return fig, "Boilerplate share per source"


def removals_by_source(data: dict):
    """``data``: ``reasons`` (the few drawn in colour, most frequent first;
    the rest is "other") and ``rows`` of ``[source, {reason: lines}]``."""
    reasons, rows = data["reasons"], data["rows"]
    fig = _figure(0.3 * len(rows) + 1.5)
    ax = fig.subplots()
    y = np.arange(len(rows))
    left = np.zeros(len(rows))
    for i, reason in enumerate(reasons + ["other"]):
        vals = np.array([sum(n for r, n in counts.items() if r not in reasons) if reason == "other"
                         else counts.get(reason, 0) for _, counts in rows], dtype=float)
        if vals.any():
            ax.barh(y, vals, left=left, color=OTHER if reason == "other" else SERIES[i], height=0.65, label=reason)
        left += vals
    ax.set_yticks(y, [src for src, _ in rows])
    ax.invert_yaxis()
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("lines removed")
    _whole(ax.xaxis)
    _legend(ax, 3, right=True)
    fig.suptitle("What was removed, per source", x=0.01, ha="left")
    return fig, "Removed lines per source and reason"


def cluster_sizes(sizes: dict[str, int]):
    fig = _figure(2.9)
    ax = fig.subplots()
    bars = ax.bar(list(sizes), list(sizes.values()), color=[GREY if k == "1" else AMBER for k in sizes])
    _label_bars(ax, bars, lambda v: f"{v:,.0f}", horizontal=False)
    ax.set_xlabel("articles in the cluster")
    _whole(ax.yaxis)
    ax.set_ylabel("clusters")
    ax.grid(axis="x", visible=False)
    ax.margins(y=0.15)
    fig.suptitle("Cluster sizes", x=0.01, ha="left")
    return fig, "Duplicate cluster sizes"


def similarity(h: dict):
    edges = np.array(h["edges"])
    width = edges[1] - edges[0]
    fig = _figure(3.1)
    ax = fig.subplots()
    ax.bar(edges[:-1], h["similarity"], width=width * 0.48, align="edge", color=BLUE, label="similarity (Jaccard)")
    ax.bar(edges[:-1] + width * 0.5, h["containment"], width=width * 0.48, align="edge", color=AMBER, label="containment")
    ax.set_xlim(0, 1)
    ax.set_xlabel("to the kept copy")
    ax.set_ylabel("duplicates")
    _whole(ax.yaxis)
    ax.grid(axis="x", visible=False)
    _legend(ax, 2)
    fig.suptitle("How close the copies are", x=0.01, ha="left")
    return fig, "Similarity of duplicates to their kept copy"


def lengths(h: dict):
    """Histogram of kept articles' lengths before and after cleaning; the
    legend sits above the axes, never over the bars."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    edges = np.array(h["edges"], dtype=float)
    fig = _figure(3.1)
    ax = fig.subplots()
    ax.stairs(h["before"], edges, fill=True, color=GREY, alpha=0.6, label="before (as read)")
    ax.stairs(h["after"], edges, color=BLUE, linewidth=1.8, label="after cleaning")
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("characters per kept article")
    ax.set_ylabel("articles")
    _whole(ax.yaxis)
    _legend(ax, 2)
    fig.suptitle("Length distribution", x=0.01, ha="left")
    return fig, "Text length before and after cleaning"


def length_pairs(sample: list[list[int]]):
    pts = np.array(sample, dtype=float).reshape(-1, 2)
    fig = _figure(3.1)
    ax = fig.subplots()
    ax.scatter(pts[:, 0], pts[:, 1], s=12, color=BLUE, alpha=0.6, edgecolors="none")
    hi = max(float(pts.max()) if pts.size else 1.0, 1.0) * 1.05
    ax.plot([0, hi], [0, hi], color="#888", linewidth=0.8, linestyle="--")
    ax.text(hi * 0.97, hi * 0.9, "nothing removed", ha="right", va="top", fontsize=10, color="#666")
    ax.set_xlim(0, hi)
    ax.set_ylim(0, hi)
    ax.set_xlabel("before (characters)")
    ax.set_ylabel("after (characters)")
    fig.suptitle("Each article", x=0.01, ha="left")
    return fig, "Length of each article before and after cleaning"


def trend_share(data: dict):
    """``data``: ``labels`` (one per run), ``series`` of ``[source, shares
    (null where the run did not see it), jumped]``."""
    labels, series = data["labels"], data["series"]
    fig = _figure(3.4)
    ax = fig.subplots()
    x = np.arange(len(labels))
    for i, (src, shares, jumped) in enumerate(series):
        xs = [xi for xi, v in zip(x, shares) if v is not None]
        ax.plot(xs, [v * 100 for v in shares if v is not None], marker="o", markersize=4, color=SERIES[i % len(SERIES)],
                linewidth=2.6 if jumped else 1.4, label=src + (" (jumped)" if jumped else ""))
    _run_axis(ax, labels)
    ax.set_ylabel("% of words removed")
    ax.set_ylim(bottom=0)
    _legend(ax, 2)
    fig.suptitle("Boilerplate share, run by run", x=0.01, ha="left")
    return fig, "Boilerplate share per source across runs"


def trend_runs(data: dict):
    """``data``: ``labels`` and ``counts`` (each run's record counts)."""
    labels, counts = data["labels"], data["counts"]
    fig = _figure(3.4)
    ax = fig.subplots()
    x = np.arange(len(labels))
    bottom = np.zeros(len(labels))
    for key, color, name in (("new", GREEN, "new"), ("updated", AMBER, "updated"), ("quarantined", RED, "quarantined"),
                             ("unchanged", "#d5dbe1", "already processed")):
        vals = np.array([c.get(key, 0) for c in counts], dtype=float)
        ax.bar(x, vals, bottom=bottom, color=color, label=name, width=0.6)
        bottom += vals
    ax.plot(x, [c.get("corpus_kept", 0) for c in counts], color=BLUE, marker="o", label="corpus (kept)")
    _run_axis(ax, labels)
    ax.set_ylabel("documents")
    _whole(ax.yaxis)
    ax.grid(axis="x", visible=False)
    _legend(ax, 2)
    fig.suptitle("What each run read", x=0.01, ha="left")
    return fig, "Documents read per run"


DRAW: dict[str, Callable[[Any], tuple[Any, str]]] = {
    "funnel": funnel,
    "languages": languages,
    "boilerplate-share": boilerplate_share,
    "removals-by-source": removals_by_source,
    "cluster-sizes": cluster_sizes,
    "similarity": similarity,
    "lengths": lengths,
    "length-pairs": length_pairs,
    "trend-boilerplate": trend_share,
    "trend-runs": trend_runs,
}
