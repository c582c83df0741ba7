"""The boilerplate dev set: real article pages rendered the ways scrapers
hand text over, every block labelled against the human gold body.

Pages (read in place from ``../shared/data``): the 181 article-extraction-
benchmark pages (AEB) and the 711 WCXB dev article pages (one ships no gold
body and is left out). Renders of each page:

* ``dump``: a paragraph dump, the text of every block element in document
  order as a naive scraper keeps it (``p``, headings, ``li``, ``figcaption``,
  table cells, ``div`` and friends with direct text; no ``script``/``style``);
* ``html-text``: ``html_text.extract_text`` whole-page text;
* ``inscriptis``: ``inscriptis.get_text`` whole-page text;
* ``trafilatura-recall``: ``trafilatura.extract(favor_recall=True)``;
* ``aeb/<extractor>``: the eight extractors' own outputs the AEB ships.

A block is a dump element, or a non-blank line of the other renders. Its
label comes from how much of it the gold body covers (see
``benchmarks/devset.md``): ``content``, ``boilerplate`` or ``mixed``.

Folds are grouped by site (registered domain, so ``edition.cnn.com`` and
``cnn.com`` are one site): fold ``-1`` holds every site with a page that the
hand-written rules were tuned on (AEB half A, and half A of the first 450
WCXB pages, the set the rules saw), and is only ever trained on; every other
site goes to fold ``sha1(site) % 5``. Rendered texts are cached under
``benchmarks/results/cache/devset/`` and never committed.

    .venv/bin/python benchmarks/devset.py          # build the cache, print label counts
"""

from __future__ import annotations

import gzip
import hashlib
import html as html_lib
import json
import random
import re
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
AEB = SHARED / "article-extraction-benchmark"
WCXB = SHARED / "wcxb-articles" / "dev"
RESULTS = ROOT / "benchmarks" / "results"
CACHE = RESULTS / "cache" / "devset"
FOLDS = 5
VERSION = 1  # bump when rendering or labelling changes: the cache is rebuilt
AEB_EXTRACTORS = ("trafilatura", "newspaper", "readability", "goose3", "boilerpipe", "justext", "inscriptis", "html-text")
RENDERS = ("dump", "html-text", "inscriptis", "trafilatura-recall")

# Coverage by the gold body of a block's words: at least CONTENT is content,
# at most BOILERPLATE is boilerplate, between is mixed (a caption glued to a
# paragraph, a teaser quoting the lede); mixed blocks are scored but never
# trained on.
CONTENT, BOILERPLATE = 0.7, 0.3
N = 4  # the benchmark's own shingle size

_TOKEN = re.compile(r"\w+")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.S | re.I)


def renders() -> list[str]:
    return [*RENDERS, *(f"aeb/{e}" for e in AEB_EXTRACTORS)]


# ---------------------------------------------------------------- pages


def _read_gz(path: Path) -> str:
    return gzip.open(path, "rt", encoding="utf-8", errors="replace").read()


def _tuned_half(page_id: str) -> bool:
    """Half A of ``benchmarks/boilerplate.py``: the pages the rules were tuned on."""
    return int(hashlib.sha1(page_id.encode()).hexdigest(), 16) % 2 == 0


def site_of(url: str) -> str:
    import tldextract

    ext = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)(url)
    dom = getattr(ext, "top_domain_under_public_suffix", None) or ext.registered_domain
    if dom:
        return dom.lower()
    h = urlparse(url).netloc.lower()
    return h[4:] if h.startswith("www.") else h


def load_gold() -> dict[tuple[str, str], dict]:
    """(dataset, page id) -> gold body, url, site, title and whether the
    rules saw the page."""
    pages: dict[tuple[str, str], dict] = {}
    for pid, g in json.loads((AEB / "ground-truth.json").read_text()).items():
        pages[("aeb", pid)] = {"gold": g["articleBody"], "url": g["url"], "tuned": _tuned_half(pid),
                               "html": str(AEB / "html" / f"{pid}.html.gz")}
    ids = sorted(f.name.split(".")[0] for f in (WCXB / "ground-truth").glob("*.json.gz"))
    # The first 450 of SOURCE.md: random.seed(0); random.sample(sorted(ids), 450).
    first = set(random.Random(0).sample(ids, 450))
    for pid in ids:
        d = json.loads(_read_gz(WCXB / "ground-truth" / f"{pid}.json.gz"))
        gt = d["ground_truth"]
        if not gt.get("main_content"):
            continue
        pages[("wcxb", pid)] = {"gold": gt["main_content"], "url": d.get("url", ""),
                                "tuned": pid in first and _tuned_half(pid),
                                "html": str(WCXB / "html" / f"{pid}.html.gz")}
    tuned_sites = set()
    for p in pages.values():
        p["site"] = site_of(p["url"])
        if p["tuned"]:
            tuned_sites.add(p["site"])
    for p in pages.values():
        p["fold"] = -1 if p["site"] in tuned_sites else int(hashlib.sha1(p["site"].encode()).hexdigest(), 16) % FOLDS
    return pages


# ---------------------------------------------------------------- renders

# Elements whose text starts a new block in a naive dump. Inline elements
# (a, span, b, em, ...) stay inside their block.
_BLOCK = frozenset(
    "p h1 h2 h3 h4 h5 h6 li ul ol dl dt dd figcaption figure td th tr table thead tbody tfoot caption "
    "blockquote pre div section article header footer aside nav main address form fieldset legend "
    "details summary body html center label button option select textarea br hr".split()
)
_SKIP = frozenset("script style noscript template svg head iframe object embed canvas math".split())


def dump_blocks(raw: str) -> list[str]:
    """Every block element's own text (its inline descendants included,
    nested blocks apart), in document order."""
    import lxml.html

    try:
        root = lxml.html.document_fromstring(raw.encode("utf-8", "replace"),
                                             parser=lxml.html.HTMLParser(encoding="utf-8"))
    except Exception:  # noqa: BLE001 - an empty or broken page dumps nothing
        return []
    out: list[str] = []

    def flush(buf: list[str]) -> None:
        text = " ".join(" ".join(buf).split())
        if text:
            out.append(text)
        buf.clear()

    def walk(el, buf: list[str]) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag.lower() in _SKIP or not tag:
            return
        if tag.lower() in _BLOCK:
            flush(buf)
            mine: list[str] = [el.text or ""]
            for child in el:
                walk(child, mine)
                mine.append(child.tail or "")
            flush(mine)
        else:
            buf.append(el.text or "")
            for child in el:
                walk(child, buf)
                buf.append(child.tail or "")

    body = root.find("body")
    top: list[str] = []
    walk(body if body is not None else root, top)
    flush(top)
    return [html_lib.unescape(t) for t in out]


def _render_page(args: tuple[str, str]) -> dict[str, list[str]]:
    path, _ = args
    raw = _read_gz(Path(path))
    import html_text
    import inscriptis
    import trafilatura

    def lines(text: str | None) -> list[str]:
        return [" ".join(line.split()) for line in (text or "").splitlines() if line.strip()]

    out = {"dump": dump_blocks(raw), "html-text": lines(html_text.extract_text(raw)),
           "inscriptis": lines(inscriptis.get_text(raw))}
    try:
        out["trafilatura-recall"] = lines(trafilatura.extract(raw, favor_recall=True, include_comments=False,
                                                              include_tables=True))
    except Exception:  # noqa: BLE001 - trafilatura gives up on a page: nothing extracted
        out["trafilatura-recall"] = []
    m = _TITLE.search(raw)
    out["title"] = " ".join(html_lib.unescape(m.group(1)).split()) if m else ""
    return out


# ---------------------------------------------------------------- labels


def _gold_index(gold: str) -> tuple[set[tuple[str, ...]], set[str]]:
    words = _TOKEN.findall(gold.lower())
    grams = {tuple(words[i:i + N]) for i in range(len(words) - N + 1)}
    whole = {" ".join(_TOKEN.findall(line.lower())) for line in gold.splitlines() if line.strip()}
    return grams, whole


def coverage(text: str, grams: set[tuple[str, ...]]) -> float:
    """Share of the block's words that lie in a 4-gram of the gold body."""
    words = _TOKEN.findall(text.lower())
    if len(words) < N:
        return 0.0
    hit = [False] * len(words)
    for i in range(len(words) - N + 1):
        if tuple(words[i:i + N]) in grams:
            for j in range(i, i + N):
                hit[j] = True
    return sum(hit) / len(words)


def label(text: str, grams: set[tuple[str, ...]], whole: set[str]) -> tuple[str, float]:
    norm = " ".join(_TOKEN.findall(text.lower()))
    if not norm:
        return "boilerplate", 0.0
    if len(norm.split()) < N:
        # Too short for a 4-gram: content only as a whole gold line (a
        # heading, a one-word paragraph), never for a word that merely
        # occurs in the body ("Share", "Reuters").
        return ("content", 1.0) if norm in whole else ("boilerplate", 0.0)
    c = coverage(text, grams)
    return ("content" if c >= CONTENT else "boilerplate" if c <= BOILERPLATE else "mixed"), round(c, 3)


def _aeb_outputs() -> dict[str, dict[str, str]]:
    res = {}
    for name in AEB_EXTRACTORS:
        d = json.loads((AEB / "output" / f"{name}.json").read_text())
        d = d["output"] if "version" in d and "output" in d else d
        res[name] = {k: (v.get("articleBody") or "") for k, v in d.items()}
    return res


def build(workers: int = 2) -> None:
    gold = load_gold()
    keys = sorted(gold)
    with ProcessPoolExecutor(workers) as ex:
        rendered = list(ex.map(_render_page, [(gold[k]["html"], k[1]) for k in keys], chunksize=8))
    aeb_out = _aeb_outputs()
    by_render: dict[str, list[dict]] = {r: [] for r in renders()}
    for key, rend in zip(keys, rendered):
        g = gold[key]
        grams, whole = _gold_index(g["gold"])
        texts = {r: rend[r] for r in RENDERS}
        if key[0] == "aeb":
            for name, outs in aeb_out.items():
                texts[f"aeb/{name}"] = [" ".join(x.split()) for x in outs.get(key[1], "").splitlines() if x.strip()]
        for r, blocks in texts.items():
            labelled = []
            for t in blocks:
                lab, cov = label(t, grams, whole)
                labelled.append({"text": t, "label": lab, "coverage": cov})
            by_render[r].append({"dataset": key[0], "page": key[1], "render": r, "url": g["url"], "domain": g["site"],
                                 "fold": g["fold"], "title": rend["title"], "gold": g["gold"], "blocks": labelled})
    CACHE.mkdir(parents=True, exist_ok=True)
    for r, pages in by_render.items():
        path = _cache_path(r)
        tmp = path.with_suffix(".tmp")
        with gzip.open(tmp, "wt", encoding="utf-8") as fh:
            json.dump({"version": VERSION, "pages": pages}, fh)
        tmp.replace(path)


def _cache_path(render: str) -> Path:
    return CACHE / f"v{VERSION}-{render.replace('/', '--')}.json.gz"


def load(render: str) -> list[dict]:
    """Pages of one render (built on first use)."""
    path = _cache_path(render)
    if not path.exists():
        build()
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return json.load(fh)["pages"]


def summary() -> dict:
    out = {}
    for r in renders():
        pages = load(r)
        labels = Counter(b["label"] for p in pages for b in p["blocks"])
        folds = Counter(p["fold"] for p in pages)
        out[r] = {"pages": len(pages), "blocks": dict(labels), "pages_per_fold": {str(k): folds[k] for k in sorted(folds)}}
        print(f"{r:<20} pages {len(pages):4d}  blocks {sum(labels.values()):7,d}  " +
              "  ".join(f"{k} {v:,}" for k, v in sorted(labels.items())) +
              "   folds " + " ".join(f"{k}:{folds[k]}" for k in sorted(folds)))
    return out


if __name__ == "__main__":
    if not AEB.exists() or not WCXB.exists():
        sys.exit(f"needs {SHARED} (read in place)")
    if "--rebuild" in sys.argv or not all(_cache_path(r).exists() for r in renders()):
        build()
    res = summary()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "devset.json").write_text(json.dumps(res, indent=1) + "\n")
