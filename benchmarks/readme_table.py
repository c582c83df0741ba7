"""Print the README's table of benchmark figures from the committed results
in ``benchmarks/results/`` (a test checks that the README holds exactly
this table, so every figure there has a file behind it).

    .venv/bin/python benchmarks/readme_table.py            # print the table
    .venv/bin/python benchmarks/readme_table.py --write    # and put it in README.md
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
README = ROOT / "README.md"
BEGIN, END = "<!-- figures: benchmarks/readme_table.py -->", "<!-- /figures -->"


def _load(name: str) -> dict | None:
    path = RESULTS / name
    return json.loads(path.read_text()) if path.exists() else None


def _f(x, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def boilerplate_rows() -> list[str]:
    r = _load("boilerplate.json")
    if not r or "generalisation" not in r:
        return []
    g = r["generalisation"]["renders"]
    folds = r["generalisation"].get("folds", [0, 1, 2, 3, 4])
    unseen = "unseen sites" if len(folds) == 5 else f"unseen sites (held-out fold{'s' if len(folds) > 1 else ''} {', '.join(map(str, folds))} only)"
    rows = []

    def get(render: str, key: str = "folds") -> dict | None:
        return (g.get(render) or {}).get(key)

    # Every figure is the worse of records with a title and without one.
    d = get("dump")
    if d:
        base = get("dump", "rules_only") or {}
        rows.append(f"| paragraph dumps, {unseen}: boilerplate blocks removed; content blocks kept (count / words); "
                    f"pages losing half their body | {_f(d['boilerplate_removed'])}; {_f(d['content_kept'])} / "
                    f"{_f(d['content_words_kept'])}; {d['pages_lost_half_content']} "
                    f"| rules only {_f(base.get('boilerplate_removed'))}; {_f(base.get('content_kept'))} / "
                    f"{_f(base.get('content_words_kept'))}; {base.get('pages_lost_half_content', '–')} |")
    for render, name in (("html-text", "html-text whole page"), ("inscriptis", "inscriptis whole page"),
                         ("trafilatura-recall", "trafilatura (recall)")):
        s = get(render)
        if s:
            base = get(render, "rules_only")
            extra = f"; rules only {_f(base['f1_after'])}" if base else ""
            rows.append(f"| {name}, {unseen}: 4-gram F1; content kept (count / words); pages losing half their body "
                        f"| {_f(s['f1_after'])}; {_f(s['content_kept'])} / {_f(s['content_words_kept'])}; "
                        f"{s['pages_lost_half_content']} | uncleaned {_f(s['f1_before'])}{extra} |")
    aeb = [(r.removeprefix("aeb/"), v["folds"]) for r, v in g.items() if r.startswith("aeb/")]
    if aeb:
        rows.append(f"| AEB extractor outputs, {unseen}: 4-gram F1 cleaned (uncleaned) | "
                    + ", ".join(f"{n} {_f(v['f1_after'])} ({_f(v['f1_before'])})" for n, v in aeb)
                    + f" | pages losing half their body: {max(v['pages_lost_half_content'] for _, v in aeb)} |")
    worst = [(render, v["folds"]["f1_after"] - v["folds"]["f1_before"]) for render, v in g.items()
             if render.startswith("aeb/") or render == "trafilatura-recall"]
    if worst:
        render, delta = min(worst, key=lambda x: x[1])
        rows.append(f"| extractor outputs (8 AEB extractors, trafilatura recall): smallest F1 change | {delta:+.3f} ({render}) | 0 = uncleaned |")
    lodo = (g.get("html-text") or {}).get("lodo") or {}
    for k, v in lodo.items():
        rows.append(f"| html-text, trained on {k.replace('->', ', tested on ')}: F1 | {_f(v['f1_after'])} | uncleaned {_f(v['f1_before'])} |")
    sp = r.get("speed")
    if sp:
        rows.append(f"| boilerplate stage per article, classifier included (1 core) | {sp['boilerplate_ms']:.3f} ms "
                    f"| previous rule chain {sp['previous_rule_chain_ms']:.3f} ms ({sp['ratio_to_previous']:.2f}×) |")
    noise = _load("retrain_noise.json")
    if noise:
        # The scale for a difference between two reports that retrained the
        # block classifier: what a retrain alone moves.
        spread = noise["spread"].values()
        top = {k: max(s[k] for s in spread) for k in ("content_kept", "boilerplate_removed", "f1_after")}
        rows.append(f"| a retrain alone ({noise['rows_removed']} training rows changed, {len(noise['variants'])} models, "
                    f"tuning fold): largest spread of content kept; boilerplate removed; F1 "
                    f"| {_f(top['content_kept'])}; {_f(top['boilerplate_removed'])}; {_f(top['f1_after'])} "
                    f"| a smaller difference between two reports may be the retrain's |")
    off = (r.get("offtopic") or {})
    if off:
        # Half B: the thresholds were tuned on half A ("all" mixes the two).
        sp_b = off["spliced"]["B"]
        un_b = off["untouched"]["B"]
        # Counts beside the share: at 765 paragraphs one paragraph is 0.13 points.
        rows.append(f"| spliced off-topic paragraphs, report half B: recall; genuine paragraphs removed (untouched "
                    f"articles) | {_f(sp_b['recall'])}; {100 * un_b['genuine_removed_share']:.2f} % "
                    f"({un_b['genuine_removed']} of {un_b['genuine_paragraphs']}) | target 0.90; 0.5 % |")
    return rows


def extraction_rows() -> list[str]:
    r = _load("extraction.json")
    if not r:
        return []
    rows = []
    for key, name in (("aeb", "AEB, 181 pages"), ("wcxb", "WCXB dev, 709 pages")):
        d = r.get(key)
        if not d:
            continue
        rows.append(f"| raw HTML through `newsclean run` (trafilatura `{r['extract'].get('favor', '')}` + cleaning), 4-gram F1: {name} "
                    f"| {_f(d['newsclean']['all']['f1'], 4)} | trafilatura alone, same settings: {_f(d['trafilatura']['all']['f1'], 4)} |")
        t = d.get("throughput") or {}
        if t:
            rows.append(f"| HTML extraction, read + learn + clean steps, pages/s on 2 cores: {name} "
                        f"| {t['newsclean_read_learn_clean_pages_per_s']} ({t['ratio_steps_to_loop']:.0%} of the loop) "
                        f"| trafilatura plain loop, 1 process: {t['trafilatura_loop_pages_per_s']} |")
        w = d.get("warc")
        if w:
            same = "the same articles" if w.get("same") or w.get("identical") else "differs"
            rows.append(f"| {name} packed into a `.warc.gz` | {w.get('articles_warc', '?')} articles, {same} as the HTML folder | |")
    return rows


def _dedup_row(label: str, d: dict) -> str:
    t = d["tools"]
    n = t["newsclean"]
    dt = t.get("datatrove (defaults, spaCy words)", {})
    ds = t.get("datasketch MinHashLSH (0.5)", {})
    return (f"| {label}: P / R / F1; chain recall; hard-negative merges | {_f(n['precision'])} / {_f(n['recall'])} / "
            f"{_f(n['f1'])}; {_f(n['chain_recall'])}; {n['hard_negative_merges']} | datatrove defaults "
            f"{_f(dt.get('f1'))} F1, {dt.get('hard_negative_merges')} merges; datasketch LSH 0.5 {_f(ds.get('f1'))} F1, "
            f"{ds.get('hard_negative_merges')} merges |")


def dedup_rows() -> list[str]:
    rows = []
    fresh = _load("dedup_fresh.json")
    if fresh:
        rows.append(_dedup_row(f"near-duplicates, fresh report half frozen before tuning ({fresh['docs']:,} articles: wire "
                               "stories of up to 12 versions, truncated copies, hard negatives)", fresh))
    d = _load("dedup_dev.json")
    if d:
        rows.append(_dedup_row(f"near-duplicates, first dev set, report half ({d['docs']} articles; seen by earlier tuning)", d))
    d = fresh or d
    if d:
        rc = d.get("real_copies")
        if rc:
            rows.append(f"| near-duplicates, real copies ({rc['articles']:,} extractions of {rc['pages']} pages): F1 / ARI "
                        f"| {_f(rc['newsclean']['f1'])} / {_f(rc['newsclean']['ari'])} | datatrove {_f(rc['datatrove']['f1'])} / "
                        f"{_f(rc['datatrove']['ari'])} |")
        if d.get("seeds"):
            rows.append(f"| the five seeds (distinct articles of one event) | {d['seeds']['distinct_clusters']} clusters of "
                        f"{d['seeds']['seeds']} | |")
    ss = _load("dedup_signature_speed.json")
    if ss:
        rows.append(f"| signature stage (fingerprint + MinHash), a shard at once, {ss['articles']:,} articles: CPU per article "
                    f"| {ss['whole_shard_ms_per_article']:.3f} ms ({ss['ratio']:.2f}x, same signatures) | one article at a time "
                    f"{ss['one_at_a_time_ms_per_article']:.3f} ms (same run) |")
    sp = _load("dedup_speed_pair.json")
    if sp:
        best = {k: min(v, key=lambda r: r["seconds"]) for k, v in sp["runs"].items()}
        rows.append(f"| LSH + clustering, {sp['articles']:,} articles: time, peak RSS | {best['this']['seconds']} s, "
                    f"{best['this']['peak_rss_mb']} MB | previous clustering {best['other']['seconds']} s, "
                    f"{best['other']['peak_rss_mb']} MB (best of {len(sp['runs']['this'])}, same run) |")
    return rows


def tiny_rows() -> list[str]:
    t = _load("tiny.json")
    if not t:
        return []
    return [f"| {t['records']:,} tiny records ({t['words_per_record']} words, all too short; `make bench-tiny`): in the flow; "
            f"whole command | {t['flow_records_per_s']:,.0f}; {t['process_records_per_s']:,.0f} records/s | language "
            f"detection before the gates, that step alone: {t['baseline']['old_order_records_per_s']:,.0f} |"]


SECTIONS: list[Callable[[], list[str]]] = [boilerplate_rows, extraction_rows, dedup_rows, tiny_rows]


def table() -> str:
    rows = [row for section in SECTIONS for row in section()]
    return "\n".join(["| what | newsclean | baseline |", "|---|---|---|", *rows])


def write() -> None:
    text = README.read_text(encoding="utf-8")
    a, b = text.index(BEGIN) + len(BEGIN), text.index(END)
    README.write_text(text[:a] + "\n" + table() + "\n" + text[b:], encoding="utf-8")


if __name__ == "__main__":
    print(table())
    if "--write" in sys.argv:
        write()
