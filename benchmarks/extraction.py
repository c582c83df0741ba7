"""Extraction benchmark: raw HTML through ``newsclean run`` beside
trafilatura alone, in one command.

Inputs (read in place from ``<repo>/../shared/data``, linked into a
temporary folder as ``<host>/<page>.html.gz``, so that ``source`` is the
page's host as in a crawl):

* article-extraction-benchmark: 181 news pages with gold article bodies;
* wcxb-articles dev: 711 pages with gold main text (one without gold is
  left out, as in benchmarks/boilerplate.py).

For each set, in the same run:

* ``newsclean``: the real ``newsclean run`` command on the folder, with the
  default configuration less the two stages that would hide pages from the
  score (the length gate, ``[quality] min_words = 0``, and dedup), as
  benchmarks/boilerplate.py does; a page it drops scores 0;
* ``trafilatura``: ``trafilatura.bare_extraction`` alone on the same decoded
  pages with the same settings (``Extractor.options()`` of ``[extract]``),
  in a plain loop in one process.

Metric (benchmarks/boilerplate.py): word 4-gram precision / recall / F1 per
page against the gold body, averaged; printed for all pages and for the two
halves of the page-id hash split (A tuned on, B held out).

Throughput: pages/s of trafilatura's plain loop (one core), against
newsclean's extraction on the worker pool (2 cores): pages over the
wall time of the run's read, learn and clean steps, which hold extraction,
repair, boilerplate, language and gates; and the whole command (Prefect's
start included).

WARC: the AEB pages packed into one ``.warc.gz`` (a ``response`` record per
page, target URI = the page's URL) through ``newsclean run`` must give the
same articles (text, title, language, metadata, edits) as the folder.

    make bench-extraction
    .venv/bin/python benchmarks/extraction.py [--only aeb|wcxb]

Writes ``benchmarks/results/extraction.json``.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.boilerplate import AEB, RESULTS, WCXB, aeb_pages, half, host, prf, wcxb_pages  # noqa: E402
from pipelines.config import load_config  # noqa: E402
from pipelines.formats.html import decode_html  # noqa: E402

BIN = Path(sys.executable).parent


def stage(pages: dict[str, dict], html_dir: Path, into: Path) -> dict[str, str]:
    """Link every page as ``<host>/<id>.html.gz``; id in the output -> page."""
    ids = {}
    for pid, p in pages.items():
        d = into / (host(p["url"]) or "unknown")
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{pid}.html.gz").symlink_to(html_dir / f"{pid}.html.gz")
        ids[f"{d.name}/{pid}.html.gz"] = pid
    return ids


def config(into: Path) -> Path:
    """The default configuration, gates that cannot drop a page, no dedup."""
    base = ROOT / "configs" / "default.toml"
    text = base.read_text()
    text = text.replace('rules = "rules.toml"', f'rules = "{ROOT / "configs" / "rules.toml"}"')
    text = text.replace("min_words = 50", "min_words = 0")
    head, sep, tail = text.partition("[dedup]\n")
    text = head + sep + tail.replace("enabled = true", "enabled = false", 1)
    path = into / "bench.toml"
    path.write_text(text)
    cfg = load_config(path)
    assert cfg.quality.min_words == 0 and not cfg.dedup.enabled and cfg.boilerplate.rules.startswith("/")
    return path


def newsclean(input_dir: Path, out: Path, cfg: Path) -> dict:
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    t0 = time.perf_counter()
    res = subprocess.run([str(BIN / "newsclean"), "run", "--input", str(input_dir), "--output", str(out), "--config", str(cfg)],
                         env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if res.returncode:
        raise RuntimeError(f"newsclean run failed:\n{res.stderr[-3000:]}")
    (record,) = [json.loads(p.read_text()) for p in (out / "runs").glob("*.json")]
    arts = {a["id"]: a for a in map(json.loads, open(out / "articles.jsonl", encoding="utf-8"))}
    dropped = {d["id"]: d for d in map(json.loads, open(out / "dropped.jsonl", encoding="utf-8"))}
    return {"wall": wall, "record": record, "articles": arts, "dropped": dropped}


def trafilatura_loop(pages: dict[str, dict], html_dir: Path) -> tuple[dict[str, str], float]:
    import trafilatura

    options = load_config(None).extract.extractor().options()
    decoded = {pid: decode_html(gzip.open(html_dir / f"{pid}.html.gz").read())[0] for pid in pages}
    out = {}
    t0 = time.perf_counter()
    for pid, markup in decoded.items():
        doc = trafilatura.bare_extraction(markup, **options)
        out[pid] = (doc.text if doc is not None else "") or ""
    return out, time.perf_counter() - t0


def score(pages: dict[str, dict], texts: dict[str, str]) -> dict:
    res = {}
    for h in ("A", "B", "all"):
        ids = [p for p in pages if h == "all" or half(p) == h]
        trip = [prf(pages[p]["gold"], texts.get(p, "")) for p in ids]
        res[h] = {"pages": len(ids), **{m: round(statistics.fmean(t[i] for t in trip), 4) for i, m in enumerate(("p", "r", "f1"))}}
    return res


def pack_warc(pages: dict[str, dict], html_dir: Path, path: Path) -> None:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=True)
        for pid in sorted(pages):
            body = gzip.open(html_dir / f"{pid}.html.gz").read()
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(body)))], protocol="HTTP/1.1")
            w.write_record(w.create_warc_record(pages[pid]["url"], "response", payload=io.BytesIO(body), http_headers=http))


COMPARED = ("title", "text", "language", "source", "published", "author", "sitename", "edits", "flags")


def bench(name: str, pages: dict[str, dict], html_dir: Path, tmp: Path, cfg: Path, warc: bool) -> dict:
    ids = stage(pages, html_dir, tmp / name / "html")
    run = newsclean(tmp / name / "html", tmp / name / "out", cfg, )
    texts = {ids[i]: a["text"] for i, a in run["articles"].items()}
    gone = {ids[i]: d["reason"] for i, d in run["dropped"].items() if i in ids}
    base, loop_s = trafilatura_loop(pages, html_dir)
    rec = run["record"]
    t = rec["timings"]
    steps = t["read"] + t["learn"] + t["clean"]
    n = len(pages)
    res = {
        "pages": n,
        "newsclean": score(pages, texts),
        "trafilatura": score(pages, base),
        "dropped": dict(sorted({r: sum(1 for v in gone.values() if v == r) for r in set(gone.values())}.items())),
        "throughput": {
            "trafilatura_loop_pages_per_s": round(n / loop_s, 2),
            "newsclean_read_learn_clean_pages_per_s": round(n / steps, 2),
            "newsclean_command_pages_per_s": round(n / run["wall"], 2),
            "ratio_steps_to_loop": round((n / steps) / (n / loop_s), 3),
            "workers": os.cpu_count(),
            "stage_seconds": rec["stage_seconds"],
            "timings": t,
        },
    }
    if warc:
        wdir = tmp / name / "warc"
        wdir.mkdir()
        pack_warc(pages, html_dir, wdir / f"{name}.warc.gz")
        wrun = newsclean(wdir, tmp / name / "out-warc", cfg)
        by_url = {p["url"]: pid for pid, p in pages.items()}
        from_html = {ids[i]: {k: a.get(k) for k in COMPARED} for i, a in run["articles"].items()}
        from_warc = {by_url[a["url"]]: {k: a.get(k) for k in COMPARED} for a in wrun["articles"].values()}
        differ = sorted(p for p in set(from_html) | set(from_warc) if from_html.get(p) != from_warc.get(p))
        res["warc"] = {"articles_html": len(from_html), "articles_warc": len(from_warc), "differ": differ,
                       "same": not differ, "quarantined": rec["counts"]["quarantined"] + wrun["record"]["counts"]["quarantined"]}
    return res


def show(name: str, r: dict) -> None:
    for h in ("A", "B", "all"):
        nc, tr = r["newsclean"][h], r["trafilatura"][h]
        print(f"{name:<6}{h:>4}{nc['pages']:>6} | trafilatura P {tr['p']:.3f} R {tr['r']:.3f} F1 {tr['f1']:.4f} | "
              f"newsclean P {nc['p']:.3f} R {nc['r']:.3f} F1 {nc['f1']:.4f} | dF1 {nc['f1'] - tr['f1']:+.4f}")
    th = r["throughput"]
    print(f"{name:<6} throughput: trafilatura loop {th['trafilatura_loop_pages_per_s']} pages/s (1 process); newsclean read+learn+clean "
          f"{th['newsclean_read_learn_clean_pages_per_s']} pages/s on {th['workers']} cores ({th['ratio_steps_to_loop']:.0%} of the loop); "
          f"whole command {th['newsclean_command_pages_per_s']} pages/s")
    if r.get("dropped"):
        print(f"{name:<6} dropped by newsclean: {r['dropped']}")
    if "warc" in r:
        w = r["warc"]
        print(f"{name:<6} WARC of the pages: {w['articles_warc']} articles vs {w['articles_html']} from the folder; "
              f"{'same articles' if w['same'] else 'DIFFER: ' + ', '.join(w['differ'][:10])}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=("aeb", "wcxb"))
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    if not AEB.exists() or not WCXB.exists():
        sys.exit("needs ../shared/data (read in place)")
    import trafilatura

    results: dict = {"trafilatura": trafilatura.__version__, "extract": load_config(None).extract.__dict__ | {}}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cfg = config(tmp)
        if args.only in (None, "aeb"):
            results["aeb"] = bench("aeb", aeb_pages(), AEB / "html", tmp, cfg, warc=True)
            show("aeb", results["aeb"])
        if args.only in (None, "wcxb"):
            results["wcxb"] = bench("wcxb", wcxb_pages(), WCXB / "html", tmp, cfg, warc=False)
            show("wcxb", results["wcxb"])
    results["seconds"] = round(time.perf_counter() - t0, 1)
    out = args.out or RESULTS / ("extraction.json" if not args.only else f"extraction-{args.only}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=list))
    print(f"wrote {out} ({results['seconds']} s)")


if __name__ == "__main__":
    main()
