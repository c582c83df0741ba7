"""Every figure the report shows, as one typed result (:class:`Report`)
whose JSON form is ``report.json``; ``docs/report-schema.md`` documents each
field and ``tests/test_report.py`` holds the two together.

Built from an output folder alone: the articles and dropped entries of one
generation, streamed once into counters, two integer arrays of lengths and
bounded lists (cheap on large corpora), and the run records.
"""

from __future__ import annotations

from array import array

import json
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cleaners.reasons import CHANGE_REASONS

from ..formats.writers import read_corpus
from ..store import current_generation

REPORT_SCHEMA_VERSION = 4

# A source's boilerplate share in the latest run that exceeds its average over
# earlier runs by this many percentage points is flagged: a site redesign or a
# scraper change usually shows up this way first.
JUMP_POINTS = 10.0
# ... provided the run saw enough of that source for a share to mean something.
JUMP_MIN_WORDS = 200
LARGEST_CLUSTERS = 10
# Members listed per largest cluster: a wire story copied a thousand times
# is a list no reader reads (articles.jsonl keeps every one), and holding it
# made the report's memory follow the largest cluster.
LARGEST_MEMBERS = 20
TOP_LINES = 20
LINES_PER_SOURCE = 3
QUARANTINE_LISTED = 50
SCATTER_POINTS = 2000
EXAMPLES = 5
# Drop reasons that say a page of the source came without a usable body: the
# usual sign that the site's layout changed under the scraper.
BODY_LOST = ("empty", "too_short")


@dataclass
class Summary:
    documents: int
    kept: int
    dropped: int
    duplicates: int
    quarantined: int
    filtered: int
    languages: int
    sources: int
    runs: int
    words_before: int
    words_removed: int
    boilerplate_share: float | None


@dataclass
class Stage:
    stage: str
    count: int


@dataclass
class Quarantined:
    id: str
    detail: str


@dataclass
class LanguageRow:
    language: str
    kept: int
    duplicate: int
    dropped: int


@dataclass
class SourceRow:
    source: str
    words_before: int
    words_removed: int
    boilerplate_share: float | None
    removals: dict[str, int]
    kept: int
    articles: int
    dropped: dict[str, int]
    body_lost: int
    latest_share: float | None


@dataclass
class RemovedLine:
    source: str
    reason: str
    line: str
    count: int


@dataclass
class RemovedLines:
    top: list[RemovedLine]
    by_source: dict[str, list[RemovedLine]]


@dataclass
class Cluster:
    canonical: str
    title: str
    source: str | None
    language: str | None
    size: int
    members: list[dict[str, Any]]


@dataclass
class SimilarityHistogram:
    edges: list[float]
    similarity: list[int]
    containment: list[int]


@dataclass
class Duplicates:
    clusters: int
    duplicates: int
    exact: int
    relations: dict[str, int]
    cluster_sizes: dict[str, int]
    largest: list[Cluster]
    similarity_histogram: SimilarityHistogram


@dataclass
class Quantiles:
    count: int
    mean: float
    p10: float
    median: float
    p90: float


@dataclass
class LengthHistogram:
    edges: list[int]
    before: list[int]
    after: list[int]


@dataclass
class Lengths:
    unit: str
    before: Quantiles
    after: Quantiles
    histogram: LengthHistogram
    sample: list[list[int]]


@dataclass
class Example:
    id: str
    source: str | None
    before: str
    after: str
    edits: list[dict[str, Any]]
    removed_words: int
    run_id: str | None


@dataclass
class RunRow:
    run_id: str | None
    started: str | None
    finished: str | None
    config_hash: str | None
    deployment: str | None
    counts: dict[str, Any]
    timings: dict[str, float]
    added: dict[str, int]
    sources: dict[str, dict[str, Any]]


@dataclass
class Jump:
    source: str
    run_id: str
    share: float
    previous_mean: float
    change_points: float


@dataclass
class Trends:
    jumps: list[Jump]


@dataclass
class Report:
    summary: Summary
    funnel: list[Stage]
    drop_reasons: dict[str, int]
    quarantined: list[Quarantined]
    languages: list[LanguageRow]
    sources: list[SourceRow]
    removed_lines: RemovedLines
    duplicates: Duplicates
    lengths: Lengths
    examples: list[Example]
    runs: list[RunRow]
    trends: Trends
    latest_run: dict[str, Any]
    schema_version: int = field(default=REPORT_SCHEMA_VERSION)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def share(removed: float, before: float) -> float | None:
    return round(removed / before, 4) if before else None


# --------------------------------------------------------------------------
# The passes over the output files


# The bins of the duplicates' similarity and containment histograms.
SIMILARITY_EDGES = np.round(np.linspace(0, 1, 21), 2)
# Values binned at a time: each chunk's counts add to the others', whatever
# the chunk size.
_HISTOGRAM_CHUNK = 1 << 16


class _Kept:
    """One pass over articles.jsonl."""

    def __init__(self) -> None:
        self.n = 0
        self.lang_kept: Counter = Counter()
        self.lang_dup: Counter = Counter()
        self.by_source: Counter = Counter()
        self.sizes: Counter = Counter()
        self.largest: list[Cluster] = []
        # The duplicates' similarity and containment go straight into the
        # histograms (fixed edges, counts add up chunk by chunk), so the
        # report holds a chunk of them, not one entry per duplicate of the
        # corpus.
        self.duplicates = 0
        self.sim_counts = np.zeros(len(SIMILARITY_EDGES) - 1, dtype=np.int64)
        self.cont_counts = np.zeros(len(SIMILARITY_EDGES) - 1, dtype=np.int64)
        self._sims = array("d")
        self._conts = array("d")
        # Compact arrays, not lists of objects: one entry per kept article
        # (8 bytes, not about 32), for the length quantiles and histograms.
        self.exact = 0
        self.relations: Counter = Counter()
        self.before_len = array("q")
        self.after_len = array("q")

    def add(self, a: dict) -> None:
        self.n += 1
        members = a.get("duplicates") or []
        self.lang_kept[a.get("language") or "und"] += 1
        self.lang_dup[a.get("language") or "und"] += len(members)
        self.by_source[a.get("source") or "(none)"] += 1
        self.sizes[1 + len(members)] += 1
        for m in members:
            self.duplicates += 1
            self._sims.append(float(m.get("similarity", 0)))
            self._conts.append(float(m.get("containment", 0)))
            self.exact += bool(m.get("exact"))
            self.relations[m.get("relation") or ("exact" if m.get("exact") else "near")] += 1
        if members:
            self.largest.append(Cluster(a["id"], a.get("title") or "", a.get("source"), a.get("language"),
                                        1 + len(members), members[:LARGEST_MEMBERS]))
            self.largest.sort(key=lambda c: (-c.size, c.canonical))
            del self.largest[LARGEST_CLUSTERS:]
        self.before_len.append(int(a.get("raw_chars") or 0))
        self.after_len.append(len(a.get("text") or ""))
        if len(self._sims) >= _HISTOGRAM_CHUNK:
            self.histograms()

    def histograms(self) -> tuple[np.ndarray, np.ndarray]:
        """The similarity and containment counts per bin of
        :data:`SIMILARITY_EDGES`, the values held so far counted in."""
        if self._sims:
            self.sim_counts += np.histogram(np.frombuffer(self._sims, dtype=np.float64), SIMILARITY_EDGES)[0]
            self.cont_counts += np.histogram(np.frombuffer(self._conts, dtype=np.float64), SIMILARITY_EDGES)[0]
            self._sims, self._conts = array("d"), array("d")
        return self.sim_counts, self.cont_counts


class _Dropped:
    """One pass over dropped.jsonl."""

    def __init__(self) -> None:
        self.reasons: Counter = Counter()
        self.quarantined: list[Quarantined] = []
        self.lang: Counter = Counter()
        self.by_source: dict[str, Counter] = defaultdict(Counter)

    def add(self, d: dict) -> None:
        reason = d["reason"]
        self.reasons[reason] += 1
        if d.get("source"):
            self.by_source[d["source"]][reason] += 1
        if reason == "quarantined":
            if len(self.quarantined) < QUARANTINE_LISTED:
                self.quarantined.append(Quarantined(d["id"], d.get("detail", "")))
        elif reason != "duplicate":
            self.lang[d.get("language") or "und"] += 1


def _read_runs(out: Path, run: dict | None) -> list[dict]:
    runs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((out / "runs").glob("*.json"))]
    if run is not None:
        runs = [r for r in runs if r.get("run_id") != run.get("run_id")] + [run]
    return sorted(runs, key=lambda r: (r.get("started") or "", r.get("run_id") or ""))


def figures(out: str | Path, generation: str | Path | None = None, run: dict | None = None) -> Report:
    """The report of ``out``: articles and dropped entries of ``generation``
    (default: the current one), the runs of ``out/runs`` plus ``run`` (the
    record of a run whose outputs are not committed yet)."""
    out = Path(out)
    runs = _read_runs(out, run)
    data = Path(generation) if generation else current_generation(out)
    kept, dropped = _Kept(), _Dropped()
    for a in read_corpus(data, "articles"):
        kept.add(a)
    for d in read_corpus(data, "dropped"):
        dropped.add(d)

    run_rows = [_run_row(r) for r in runs]
    sources = _sources(runs, kept, dropped)
    words_before = sum(s.words_before for s in sources)
    words_removed = sum(s.words_removed for s in sources)
    funnel = _funnel(kept, dropped)
    last = runs[-1] if runs else {}
    return Report(
        summary=Summary(
            documents=funnel[0].count, kept=kept.n, dropped=sum(dropped.reasons.values()),
            duplicates=dropped.reasons.get("duplicate", 0), quarantined=dropped.reasons.get("quarantined", 0),
            filtered=funnel[1].count - funnel[2].count, languages=len(kept.lang_kept), sources=len(sources),
            runs=len(runs), words_before=words_before, words_removed=words_removed,
            boilerplate_share=share(words_removed, words_before),
        ),
        funnel=funnel,
        drop_reasons=dict(dropped.reasons.most_common()),
        quarantined=dropped.quarantined,
        languages=[
            LanguageRow(lang, kept.lang_kept[lang], kept.lang_dup[lang], dropped.lang[lang])
            for lang in sorted(set(kept.lang_kept) | set(dropped.lang),
                               key=lambda l: (-(kept.lang_kept[l] + kept.lang_dup[l] + dropped.lang[l]), l))
        ],
        sources=sources,
        removed_lines=_removed_lines(runs),
        duplicates=_duplicates(kept),
        lengths=_lengths(kept),
        examples=_examples(runs),
        runs=run_rows,
        trends=Trends(_jumps(run_rows)),
        latest_run={k: last.get(k) for k in ("run_id", "started", "finished", "input", "config_hash", "counts",
                                              "timings", "skipped_files", "replaced_canonicals", "prefect")},
    )


def _funnel(kept: _Kept, dropped: _Dropped) -> list[Stage]:
    drops = dropped.reasons
    documents = kept.n + sum(drops.values())
    readable = documents - drops.get("quarantined", 0)
    passed = readable - sum(n for r, n in drops.items() if r not in ("quarantined", "duplicate"))
    return [
        Stage("documents read", documents),
        Stage("readable", readable),
        Stage("passed the language and length gates", passed),
        Stage("kept, one per story", kept.n),
    ]


def _sources(runs: list[dict], kept: _Kept, dropped: _Dropped) -> list[SourceRow]:
    """Per source: words over every run (each run cleans only what was new to
    it), articles and drops as the corpus holds them now."""
    before: Counter = Counter()
    removed: Counter = Counter()
    removals: dict[str, Counter] = defaultdict(Counter)
    for r in runs:
        before.update(r.get("words_before") or {})
        removed.update(r.get("words_removed") or {})
        for src, reasons in (r.get("edits_by_source") or {}).items():
            removals[src].update({k: v for k, v in reasons.items() if k not in CHANGE_REASONS})
    latest = runs[-1] if runs else {}
    latest_before, latest_removed = latest.get("words_before") or {}, latest.get("words_removed") or {}
    rows = []
    for s in sorted(set(before) | set(kept.by_source) | set(dropped.by_source)):
        drops = dropped.by_source.get(s, Counter())
        rows.append(SourceRow(
            source=s, words_before=before[s], words_removed=removed[s], boilerplate_share=share(removed[s], before[s]),
            removals=dict(sorted(removals[s].items(), key=lambda kv: (-kv[1], kv[0]))), kept=kept.by_source.get(s, 0),
            articles=kept.by_source.get(s, 0) + sum(drops.values()), dropped=dict(sorted(drops.items())),
            body_lost=sum(drops.get(r, 0) for r in BODY_LOST),
            latest_share=share(latest_removed.get(s, 0), latest_before.get(s, 0)),
        ))
    rows.sort(key=lambda s: (-(s.boilerplate_share or 0), s.source))
    return rows


def _removed_lines(runs: list[dict]) -> RemovedLines:
    """One row per removed line of a source. The same line can be removed
    for different reasons in different articles (a footer inside a trailing
    "Related" section goes with that section); it is listed once, under the
    reason it was removed for most often."""
    count: Counter = Counter()
    reasons: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for r in runs:
        for row in r.get("removed_lines") or []:
            key = (row["source"], row["line"])
            count[key] += row["count"]
            reasons[key][row["reason"]] += row["count"]
    ranked = [RemovedLine(src, min(reasons[(src, line)].items(), key=lambda kv: (-kv[1], kv[0]))[0], line, n)
              for (src, line), n in sorted(count.items(), key=lambda kv: (-kv[1], kv[0]))]
    by_source: dict[str, list[RemovedLine]] = defaultdict(list)
    for row in ranked:
        if len(by_source[row.source]) < LINES_PER_SOURCE:
            by_source[row.source].append(row)
    return RemovedLines(ranked[:TOP_LINES], dict(sorted(by_source.items())))


def _duplicates(kept: _Kept) -> Duplicates:
    sims, conts = kept.histograms()
    return Duplicates(
        clusters=kept.n, duplicates=kept.duplicates, exact=kept.exact,
        relations=dict(sorted(kept.relations.items(), key=lambda kv: (-kv[1], kv[0]))),
        cluster_sizes={str(k): v for k, v in sorted(kept.sizes.items())},
        largest=kept.largest,
        similarity_histogram=SimilarityHistogram(SIMILARITY_EDGES.tolist(), sims.tolist(), conts.tolist()),
    )


def _quantiles(values: np.ndarray) -> Quantiles:
    if not values.size:
        return Quantiles(0, 0, 0, 0, 0)
    p10, p50, p90 = np.percentile(values, [10, 50, 90])
    return Quantiles(int(values.size), round(float(values.mean()), 1), round(float(p10), 1),
                     round(float(p50), 1), round(float(p90), 1))


def _lengths(kept: _Kept) -> Lengths:
    b, a = np.frombuffer(kept.before_len, dtype=np.int64), np.frombuffer(kept.after_len, dtype=np.int64)
    hi = max(int(b.max()) if b.size else 1, 2)
    lo = max(1, int(min(a.min(), b.min()) * 0.9)) if a.size else 1
    edges = np.unique(np.round(np.geomspace(lo, hi * 1.05, 25)).astype(int))
    step = max(1, -(-b.size // SCATTER_POINTS))
    return Lengths(
        unit="characters", before=_quantiles(b), after=_quantiles(a),
        histogram=LengthHistogram(edges.tolist(), np.histogram(b, edges)[0].tolist(), np.histogram(a, edges)[0].tolist()),
        sample=[[int(x), int(y)] for x, y in zip(b[::step], a[::step])],
    )


def _examples(runs: list[dict]) -> list[Example]:
    """The latest runs' examples first (a quiet night may have none or one)."""
    examples: list[Example] = []
    for r in reversed(runs):
        for e in r.get("examples") or []:
            if len(examples) == EXAMPLES:
                return examples
            examples.append(Example(e["id"], e.get("source"), e["before"], e["after"], e.get("edits") or [],
                                    e.get("removed_words", 0), r.get("run_id")))
    return examples


def _run_row(r: dict) -> RunRow:
    wb, wr = r.get("words_before") or {}, r.get("words_removed") or {}
    return RunRow(
        run_id=r.get("run_id"), started=r.get("started"), finished=r.get("finished"),
        config_hash=r.get("config_hash"), deployment=(r.get("prefect") or {}).get("deployment"),
        counts=r.get("counts") or {}, timings=r.get("timings") or {},
        # Counts since the record keeps no id lists; lists in older records.
        added={k: v if isinstance(v, int) else len(v) for k, v in (r.get("added") or {}).items()},
        sources={s: {"words_before": wb[s], "words_removed": wr.get(s, 0), "boilerplate_share": share(wr.get(s, 0), wb[s])}
                 for s in sorted(wb)},
    )


def _jumps(runs: list[RunRow]) -> list[Jump]:
    """Sources whose share in the latest run that saw them rose by at least
    JUMP_POINTS over their mean in earlier runs."""
    history: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for r in runs:
        for src, v in r.sources.items():
            if v["boilerplate_share"] is not None and v["words_before"] >= JUMP_MIN_WORDS:
                history[src].append((r.run_id, v["boilerplate_share"]))
    jumps = []
    for src, points in sorted(history.items()):
        if len(points) < 2:
            continue
        run_id, latest = points[-1]
        before = sum(p[1] for p in points[:-1]) / (len(points) - 1)
        change = (latest - before) * 100
        if change >= JUMP_POINTS:
            jumps.append(Jump(src, run_id, latest, round(before, 4), round(change, 1)))
    return sorted(jumps, key=lambda j: -j.change_points)
