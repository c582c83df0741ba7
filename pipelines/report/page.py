"""``report.html``: one self-contained page of the report's figures, one
function per section. It needs no script, font or network to open, reads
on a 390 px phone as on a desktop (wide tables turn into one card per row
there), and prints as it shows."""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from typing import Any, NamedTuple

from cleaners.reasons import CHANGE_REASONS, REASONS
from cleaners.reasons import meaning as reason_meaning

from .charts import Charts
from .figures import BODY_LOST, Example, Report, RunRow

TABLE_SOURCES = 30
TREND_SOURCES = 6
HISTORY_ROWS = 30
# The reasons drawn in colour in "What was removed, per source"; the rest is
# one grey "other": more colours than this cannot be told apart.
REASON_COLOURS = 5
# Tables this wide become one card per row on a phone.
STACK_COLUMNS = 5


class Section(NamedTuple):
    anchor: str
    title: str
    body: str


def _e(x: Any) -> str:
    return html.escape("" if x is None else str(x))


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v * 100:.1f}%"


def _n(v: int) -> str:
    return f"{v:,}"


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _table(head: list[str], rows: list[list[Any]], num: set[int] = frozenset()) -> str:
    """A table in a container that never overflows the page: cells wrap,
    and on a phone each row of a wide table becomes a card of label: value."""

    def cls(i: int) -> str:
        return " class='num'" if i in num else ""

    th = "".join(f"<th{cls(i)}>{_e(h)}</th>" for i, h in enumerate(head))
    body = "".join(
        "<tr>" + "".join(f"<td{cls(i)} data-label='{_e(head[i])}'>{c}</td>" for i, c in enumerate(r)) + "</tr>" for r in rows)
    stack = " stack" if len(head) >= STACK_COLUMNS else ""
    return f"<div class='table'><table class='data{stack}'><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table></div>"


def _lead(text: str) -> str:
    return f"<p class='lead'>{text}</p>"


def run_labels(runs: list[RunRow]) -> list[str]:
    """Start times as short as keeps them apart: "03-11 02:00", with seconds
    only when two runs started in the same minute."""
    starts = [(r.started or r.run_id or "").replace("T", " ") for r in runs]
    short = [s[5:16] for s in starts]
    return short if len(set(short)) == len(short) else [s[5:19] for s in starts]


class Page:
    def __init__(self, rep: Report, charts: Charts):
        self.rep = rep
        self.charts = charts
        self.labels = dict(zip((r.run_id for r in rep.runs), run_labels(rep.runs)))

    def chart(self, name: str, data: Any, caption: str = "") -> str:
        return self.charts.figure(name, data, caption)

    # --- sections, in page order

    def overview(self) -> str:
        s = self.rep.summary
        cards = [
            ("", _n(s.documents), "documents read"),
            ("kept", _n(s.kept), "articles kept"),
            ("dup", _n(s.duplicates), "copies folded into kept articles"),
            ("drop", _n(s.filtered), "dropped by language/length gates"),
            ("drop", _n(s.quarantined), "unreadable inputs quarantined"),
            ("bp", _pct(s.boilerplate_share), "of words removed as boilerplate"),
            ("", _n(s.languages), "languages among kept articles"),
            ("", _n(s.runs), "runs in the history"),
        ]
        out = ["<div class='cards'>"]
        out += [f"<div class='card {c}'><div class='n'>{_e(n)}</div><div class='l'>{_e(label)}</div></div>" for c, n, label in cards]
        out.append("</div>")
        for j in self.rep.trends.jumps:
            out.append(f"<div class='alert'><b>{_e(j.source)}</b>: boilerplate share rose to <b>{_pct(j.share)}</b> in run "
                       f"{_e(j.run_id)}, from {_pct(j.previous_mean)} on average before (+{j.change_points:.1f} points). "
                       "A site redesign or a scraper change is the usual cause; see <a href='#sources'>the sources</a> "
                       "and <a href='#history'>the trends</a>.</div>")
        if s.quarantined:
            out.append(f"<div class='alert'><b>{s.quarantined:,}</b> input document(s) could not be read and were quarantined; "
                       "<a href='#drops'>see which and why</a>.</div>")
        return "".join(out)

    def funnel(self) -> Section | None:
        stages = self.rep.funnel
        if not stages[0].count:
            return None
        rows = [[_e(cur.stage), _n(cur.count), _n(prev.count - cur.count)] for prev, cur in zip(stages, stages[1:])]
        return Section("funnel", "From raw input to a clean corpus", _lead(
            "Every input document ends up either as a kept article in <code>articles.jsonl</code> or as a line of "
            "<code>dropped.jsonl</code> with its reason. Unreadable input is quarantined first; the language and length "
            "gates drop what is not a usable article; near-duplicate detection keeps one article per story.")
            + "<div class='grid2'>"
            + self.chart("funnel", stages, "Each bar is what is left after a stage; the percentages are of the documents read.")
            + _table(["stage", "articles", "lost at this stage"], rows, {1, 2}) + "</div>")

    def drops(self) -> Section | None:
        reasons = self.rep.drop_reasons
        if not reasons:
            return None
        body = [_table(["reason", "articles", "meaning"],
                       [[f"<code>{_e(r)}</code>", _n(n), _e(reason_meaning(r))] for r, n in reasons.items()], {1})]
        if self.rep.quarantined:
            body.append("<h3>Quarantined input</h3>")
            body.append(_table(["input", "why it could not be read"],
                               [[f"<span class='mono'>{_e(q.id)}</span>", _e(q.detail)] for q in self.rep.quarantined]))
        return Section("drops", "Drop reasons", _lead("Why input articles did not make it into the corpus.") + "".join(body))

    def languages(self) -> Section | None:
        if not self.rep.languages:
            return None
        return Section("languages", "Language mix", _lead(
            "Language detected on the start of each cleaned text. Copies folded into a kept article count under the kept "
            "article's language; <i>dropped</i> are articles a gate dropped.") + self.chart("languages", self.rep.languages[:15]))

    def sources(self) -> Section | None:
        """What a scraper's owner acts on: per source, how much was furniture,
        why, and how many pages came without a usable body."""
        srcs = self.rep.sources
        if not srcs:
            return None
        shared = [s for s in srcs if s.boilerplate_share is not None]
        charts = []
        if shared:
            charts.append(self.chart("boilerplate-share", [[s.source, s.boilerplate_share] for s in shared[:25]],
                                     "Words removed by cleaning ÷ words read, over all runs."))
        removed = [s for s in shared if s.removals][:25]
        if removed:
            totals: Counter = Counter()
            for s in removed:
                totals.update(s.removals)
            top = [r for r, _ in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:REASON_COLOURS]]
            charts.append(self.chart("removals-by-source", {"reasons": top, "rows": [[s.source, s.removals] for s in removed]},
                                     f"Lines removed, by reason: the {len(top)} most frequent in colour, the rest as "
                                     "<i>other</i>; every reason is in the table below."))
        rows = []
        for s in sorted(srcs, key=lambda s: (-s.articles, s.source))[:TABLE_SOURCES]:
            reasons = " ".join(f"<span class='pill'>{_e(r)} {n:,}</span>" for r, n in s.removals.items()) or "–"
            rows.append([f"<b>{_e(s.source)}</b>", _n(s.articles), _n(s.kept), _pct(s.boilerplate_share),
                         _pct(s.latest_share), reasons, _n(s.body_lost), _n(s.dropped.get("no_article", 0))])
        legend = ", ".join(f"<code>{_e(c)}</code> {_e(r.meaning)}" for c, r in REASONS.items()
                           if r.kind == "removal" and any(c in s.removals for s in srcs))
        return Section("sources", "Per source", _lead(
            "How much of each site's text was furniture rather than article, why, and how many of its pages came without "
            "a usable body. A sudden rise in any of these for one site usually means its layout changed under the "
            "scraper.") + (f"<div class='grid2'>{''.join(charts)}</div>" if charts else "")
            + _table(["source", "articles", "kept", "words removed", "latest run", "lines removed by reason",
                      "body lost", "no_article"], rows, {1, 2, 3, 4, 6, 7})
            + "<p class='small muted'><i>articles</i>: kept plus dropped by a gate (copies folded into another article "
              "are not counted here, their words are); <i>words removed</i>: share of the words read, over all runs; "
              f"<i>latest run</i>: the same in the latest run; <i>body lost</i>: dropped as "
              f"{' or '.join(f'<code>{r}</code>' for r in BODY_LOST)} (extraction or cleaning left nothing usable); "
              "<i>no_article</i>: what cleaning left was page furniture.</p>"
            + (f"<details><summary>What the reason codes mean</summary><p>{legend}.</p></details>" if legend else ""))

    def removed_lines(self) -> Section | None:
        rl = self.rep.removed_lines
        if not rl.top:
            return None
        top = _table(["line", "source", "reason", "articles"],
                     [[f"<span class='mono'>{_e(_short(r.line, 140))}</span>", _e(r.source), f"<code>{_e(r.reason)}</code>",
                       _n(r.count)] for r in rl.top], {3})
        biggest = {s.source for s in sorted(self.rep.sources, key=lambda s: -s.words_before)[:TABLE_SOURCES]}
        rows = []
        for src, items in rl.by_source.items():
            if src in biggest:
                rows += [[f"<b>{_e(src)}</b>" if i == 0 else "", f"<span class='mono'>{_e(_short(it.line, 140))}</span>",
                          f"<code>{_e(it.reason)}</code>", _n(it.count)] for i, it in enumerate(items)]
        return Section("lines", "Most removed lines", _lead(
            "The exact lines cleaning removed most often, counted over every article cleaned, copies included; each "
            "under the reason it was removed for most often. A line you recognise as real article text here would be a "
            "rule to fix in <code>configs/rules.toml</code>.") + top
            + "<h3>Most removed lines per source</h3>" + _table(["source", "line", "reason", "articles"], rows, {3}))

    def duplicates(self) -> Section | None:
        d = self.rep.duplicates
        if not d.clusters:
            return None
        if not d.duplicates:
            return Section("duplicates", "Duplicates", _lead(
                f"No input article was a copy of another: each of the {d.clusters:,} kept articles is a story of its own."))
        folded_into = sum(v for k, v in d.cluster_sizes.items() if k != "1")
        relations = ", ".join(f"{n:,} {_e(k.replace('_', ' '))}" for k, n in d.relations.items())
        body = ["<div class='grid2'>",
                self.chart("cluster-sizes", d.cluster_sizes, "Most stories arrive once; syndicated ones arrive several times."),
                self.chart("similarity", d.similarity_histogram,
                           "Jaccard similarity of word shingles, and the share of the copy contained in the kept text."),
                "</div>"]
        if d.largest:
            rows = []
            for c in d.largest:
                members = "<br>".join(
                    f"<span class='mono'>{_e(m['id'])}</span> <span class='pill'>sim {m.get('similarity', 0):.2f}</span>"
                    f"<span class='pill'>cont {m.get('containment', 0):.2f}</span>"
                    + ("<span class='pill exact'>exact copy</span>" if m.get("exact") else
                       (f"<span class='pill'>{_e(m['relation'].replace('_', ' '))}</span>" if m.get("relation") else ""))
                    for m in c.members)
                if c.size - 1 > len(c.members):
                    members += f"<br>… and {c.size - 1 - len(c.members):,} more (every copy is in articles.jsonl)"
                rows.append([str(c.size), f"<b>{_e(c.title or '(untitled)')}</b><br><span class='mono'>{_e(c.canonical)}</span>"
                             f" <span class='pill'>{_e(c.source or 'no source')}</span>", members])
            body += ["<h3>Largest clusters</h3>", _table(["size", "kept article", "copies folded into it"], rows, {0})]
        return Section("duplicates", "Duplicates", _lead(
            f"{d.duplicates:,} input article{'s were copies' if d.duplicates != 1 else ' was a copy'} of another "
            f"({d.exact:,} exact after normalisation), folded into {folded_into:,} kept article{'s' if folded_into != 1 else ''} "
            f"that list{'s' if folded_into == 1 else ''} them in <code>duplicates</code> ({relations}).") + "".join(body))

    def lengths(self) -> Section | None:
        L = self.rep.lengths
        if not L.before.count:
            return None
        rows = [[name, f"{q.p10:,.0f}", f"{q.median:,.0f}", f"{q.p90:,.0f}", f"{q.mean:,.0f}"]
                for name, q in (("before", L.before), ("after", L.after))]
        return Section("lengths", "Text length before and after", _lead(
            "Length of each kept article as read and after cleaning.")
            + "<div class='grid2'>" + self.chart("lengths", L.histogram, "Distribution over kept articles (log scale).")
            + self.chart("length-pairs", L.sample, "One dot per article: the further below the dashed line, the more was removed.")
            + "</div>" + _table(["characters", "10th percentile", "median", "90th percentile", "mean"], rows, {1, 2, 3, 4}))

    def examples(self) -> Section | None:
        examples = self.rep.examples
        if not examples:
            return None
        latest = self.rep.runs[-1].run_id if self.rep.runs else None
        earlier = list(dict.fromkeys(self._run_name(e.run_id) for e in examples if e.run_id != latest))
        if not earlier:
            where = "The articles of the latest run where cleaning removed the most."
        elif len(earlier) == len(set(e.run_id for e in examples)):
            where = (f"The latest run removed nothing to show, so these are the articles of earlier runs "
                     f"({', '.join(earlier)}) where cleaning removed the most.")
        else:
            where = (f"The articles of the latest run where cleaning removed the most, then those of earlier runs "
                     f"({', '.join(earlier)}).")
        body = ["<p class='legend'><span class='rm'>struck through</span> removed, with its reason code</p>"]
        body += [f"<details class='ex'{' open' if i < 2 else ''}>{self._example(ex)}</details>" for i, ex in enumerate(examples)]
        return Section("examples", "Before and after", _lead(
            where + " The left column is the text as read (after encoding repair) with each removed line highlighted; "
            "the right column is what was kept.") + "".join(body))

    def history(self) -> Section | None:
        runs = self.rep.runs
        if not runs:
            return None
        body = []
        if len(runs) >= 2:
            labels = run_labels(runs)
            totals: Counter = Counter()
            for r in runs:
                for s, v in r.sources.items():
                    totals[s] += v["words_before"]
            jumped = {j.source for j in self.rep.trends.jumps}
            shown = (sorted(jumped) + [s for s, _ in totals.most_common() if s not in jumped])[:TREND_SOURCES]
            series = [[s, [r.sources.get(s, {}).get("boilerplate_share") for r in runs], s in jumped] for s in shown]
            body += ["<div class='grid2'>",
                     self.chart("trend-boilerplate", {"labels": labels, "series": series},
                                "Each run cleans only what is new to it, so a point is the share among that run's new "
                                f"articles of the source ({len(shown)} largest sources)."),
                     self.chart("trend-runs", {"labels": labels, "counts": [r.counts for r in runs]}), "</div>"]
        else:
            body.append("<div class='note'>Trends across runs appear here from the second run on.</div>")
        rows = []
        for r in reversed(runs[-HISTORY_ROWS:]):
            c = r.counts
            config = r.config_hash or ""
            rows.append([f"{_e(self.labels[r.run_id])}<br><span class='mono small'>{_e(r.run_id)}</span>",
                         _e(r.deployment or "by hand"), _n(c.get("documents", 0)), _n(c.get("new", 0)),
                         _n(c.get("updated", 0)), _n(c.get("quarantined", 0)), _n(sum((c.get("dropped") or {}).values())),
                         _n(r.added.get("kept", 0)), _n(r.added.get("duplicates", 0)), _n(c.get("corpus_kept", 0)),
                         f"{r.timings.get('wall', 0):.1f}", f"<span class='small nowrap' title='{_e(config)}'><code>{_e(config[:10])}</code></span>"])
        body.append(_table(["started (UTC)", "deployment", "read", "new", "updated", "quarantined", "gated out", "kept +",
                            "copies +", "corpus", "seconds", "config"], rows, set(range(2, 11))))
        body.append("<p class='small muted'><i>read</i>: documents in the input; <i>new</i>/<i>updated</i>: processed by this run, "
                    "the rest had been processed before; <i>kept +</i>/<i>copies +</i>: articles this run added to the corpus "
                    "and copies it folded into kept articles; <i>config</i>: start of the hash of the settings that affect "
                    "the output (the full hash is in <code>report.json</code>).</p>")
        return Section("history", "Run history", _lead(
            "One row per run, newest first, from <code>runs/*.json</code>. A nightly run reads only input it has not seen "
            "before; the corpus (kept articles) is the result of all runs together.") + "".join(body))

    # --- pieces

    def _run_name(self, run_id: str | None) -> str:
        return f"run {self.labels.get(run_id, run_id)}"

    def _example(self, ex: Example) -> str:
        removals: dict[str, list[str]] = defaultdict(list)
        for e in ex.edits:
            if e["reason"] not in CHANGE_REASONS and e.get("text"):
                removals[e["text"].strip()].append(e["reason"])
        before = []
        for line in ex.before.split("\n"):
            key = line.strip()
            if not key:
                continue
            if removals.get(key):
                before.append(f"<p class='ln'><span class='rm'>{_e(line)}</span><span class='why'>{_e(removals[key].pop(0))}</span></p>")
                continue
            # A removal inside a line (e.g. a dateline glued to the first sentence).
            for text, reasons in removals.items():
                if reasons and text and text in line:
                    i = line.index(text)
                    before.append(f"<p class='ln'>{_e(line[:i])}<span class='rm'>{_e(text)}</span>{_e(line[i + len(text):])}"
                                  f"<span class='why'>{_e(reasons.pop(0))}</span></p>")
                    break
            else:
                before.append(f"<p class='ln'>{_e(line)}</p>")
        # Lines the repair stage removed (a markdown autolink) are gone from the
        # text as read; they are still removals, so they are shown, last.
        for text, left in removals.items():
            for reason in left:
                before.append(f"<p class='ln'><span class='rm'>{_e(text)}</span><span class='why'>{_e(reason)}</span></p>")
        after = "".join(f"<p class='ln'>{_e(p)}</p>" for p in ex.after.split("\n") if p.strip())
        reasons = Counter(e["reason"] for e in ex.edits if e["reason"] not in CHANGE_REASONS)
        pills = "".join(f"<span class='pill red'>{_e(r)} ×{n}</span>" for r, n in reasons.most_common())
        return (f"<summary>{_e(ex.id)} <span class='pill'>{_e(ex.source or 'no source')}</span>"
                f"<span class='pill'>{sum(reasons.values())} removals, {ex.removed_words} words</span>"
                f"<span class='pill'>{_e(self._run_name(ex.run_id))}</span></summary><div>{pills}</div>"
                f"<div class='example'><div class='col'><h4>As read (after encoding repair)</h4>{''.join(before)}</div>"
                f"<div class='col'><h4>Cleaned</h4>{after}</div></div>")

    def render(self) -> str:
        sections = [s for s in (self.funnel(), self.drops(), self.languages(), self.sources(), self.removed_lines(),
                                self.duplicates(), self.lengths(), self.examples(), self.history()) if s]
        last = self.rep.latest_run or {}
        counts, timings = last.get("counts") or {}, last.get("timings") or {}
        started = (last.get("started") or "")[:16].replace("T", " ")
        sub = (f"Latest run {_e(last.get('run_id'))} ({_e(started)} UTC, {counts.get('documents', 0):,} documents read, "
               f"{counts.get('new', 0):,} new, {timings.get('wall', 0):.1f} s) · input <code>{_e(last.get('input'))}</code>"
               if last.get("run_id") else "No run history found.")
        nav = "".join(f"<a href='#{s.anchor}'>{_e(s.title)}</a>" for s in sections)
        return "\n".join([
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
            "<meta name='viewport' content='width=device-width,initial-scale=1'>",
            "<title>newsclean quality report</title>",
            f"<style>{CSS}</style></head><body>",
            f"<header><div class='wrap'><h1>newsclean quality report</h1><p>{sub}</p></div></header>",
            f"<nav><div class='wrap'>{nav}</div></nav>",
            "<main><div class='wrap'>",
            self.overview(),
            *(f"<section id='{s.anchor}'><h2>{_e(s.title)}</h2>{s.body}</section>" for s in sections),
            "</div></main><footer>Generated by <code>newsclean report</code> from the output folder; "
            "the same figures are in <code>report.json</code>.</footer></body></html>",
        ])


def render_html(rep: Report, previous: str = "") -> str:
    """The page of ``rep``; charts whose data did not change since
    ``previous`` (the page this one replaces) are taken from it."""
    return Page(rep, Charts(previous)).render()


CSS = """
:root{--ink:#1f2933;--muted:#5f6b76;--line:#e3e7eb;--bg:#f6f7f9;--blue:#2f6690;--red:#c8553d;--green:#3a7d44;--amber:#e0a458}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:var(--bg)}
header{background:#17324d;color:#fff;padding:28px 0 20px}
header h1{margin:0 0 4px;font-size:26px;font-weight:650}
header p{margin:0;color:#c9d6e3;overflow-wrap:anywhere}
header code{color:#fff}
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
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,400px),1fr));gap:18px;align-items:start}
figure.chart{margin:8px 0 14px;min-width:0}
figure.chart svg{display:block}
figure.chart figcaption{color:var(--muted);font-size:13px;margin-top:4px}
.table{max-width:100%;margin:8px 0 4px}
table.data{border-collapse:collapse;width:100%;font-size:14px}
table.data th,table.data td{padding:5px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top;overflow-wrap:break-word}
table.data th{background:#f0f3f6;font-weight:600;font-size:13px;color:#3e4c59}
table.data .mono{overflow-wrap:anywhere}
table.data code{white-space:nowrap}
table.data td.num,table.data th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.data tr:nth-child(even) td{background:#fafbfc}
.small{font-size:12px}.muted{color:var(--muted)}.nowrap{white-space:nowrap}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
.pill{display:inline-block;padding:0 7px;border-radius:10px;font-size:12px;background:#eef1f4;color:#3e4c59;margin:0 4px 2px 0;white-space:nowrap}
.pill.red{background:#fbe3dd;color:#8a2d1a}.pill.exact{background:#fcefd6;color:#7a5410}
details{margin:8px 0}
summary{cursor:pointer;font-weight:600;overflow-wrap:anywhere}
.example{display:grid;grid-template-columns:1fr 1fr;gap:16px;margin:10px 0 4px}
.example .col{border:1px solid var(--line);border-radius:6px;padding:10px 12px;background:#fcfcfd;font-size:14px;overflow-wrap:anywhere;min-width:0}
.example .col h4{margin:0 0 6px;font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
.example .ln{white-space:pre-wrap;margin:0 0 6px}
.rm{background:#fbe3dd;text-decoration:line-through;text-decoration-color:#c8553d88;color:#7a2c1c;border-radius:3px;padding:0 3px}
.example .why{font-size:11px;color:#8a2d1a;text-decoration:none;margin-left:6px;font-style:italic}
footer{color:var(--muted);font-size:13px;text-align:center;padding:0 12px 30px}
@media (max-width:760px){
 .wrap{padding:0 10px}
 section{padding:14px 12px}
 header h1{font-size:22px}
 .example{grid-template-columns:1fr}
 .cards{grid-template-columns:repeat(2,1fr)}
 table.data th,table.data td{padding:4px 5px}
 table.data .pill{white-space:normal}
 table.stack,table.stack tbody{display:block}
 table.stack thead{display:none}
 table.stack tr{display:block;border-bottom:2px solid var(--line);padding:4px 0}
 table.stack td{display:flow-root;border:0;padding:3px 4px;text-align:right}
 table.stack td.num{white-space:normal}
 table.stack td::before{content:attr(data-label);float:left;width:38%;margin-right:8px;font-weight:600;color:#3e4c59;font-size:13px;text-align:left}
 table.stack td:empty{display:none}
 table.stack tr:nth-child(even) td{background:none}
}
@media print{nav{display:none}section{break-inside:avoid}}
"""
