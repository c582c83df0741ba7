"""Input formats (HTML pages, WARC archives, crawler JSON with HTML), their
extraction in the workers, and the output writers (JSONL, Parquet)."""

from __future__ import annotations

import gzip
import io
import json
import re
import zlib
from pathlib import Path

import pytest

from cleaners.record import Article
from conftest import DATA, ROOT
from pipelines.formats import reader_for
from pipelines.formats.extract import Extractor
from pipelines.formats.html import decode_html
from pipelines.readers import Rejected, read_documents, scan

EXPECT = json.loads((DATA / "sample_expectations.json").read_text(encoding="utf-8"))["formats"]


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _page(title: str, body: str, charset: str | None = "utf-8") -> str:
    meta = f'<meta charset="{charset}">' if charset else ""
    return (f"<!DOCTYPE html><html><head>{meta}<title>{title}</title></head><body>"
            f"<nav><a href='/'>Home</a> <a href='/n'>News</a></nav><article><h1>{title}</h1>{body}</article>"
            "<footer>© 2024 Example Press</footer></body></html>")


STORY = ("<p>The county opened a new footbridge over the River Mell on Tuesday, ending a two-year detour for "
         "walkers and cyclists between Ashby and the railway station.</p><p>Engineers said the steel span, "
         "lifted into place by crane in January, is designed to last a century and to stay open in floods "
         "that closed the old crossing twice a winter.</p>")


# ---------------------------------------------------------------- the sample


@pytest.fixture(scope="module")
def sample(sample_run):
    out, result = sample_run
    return {"articles": {a["id"]: a for a in _jsonl(out / "articles.jsonl")},
            "dropped": {d["id"]: d for d in _jsonl(out / "dropped.jsonl")},
            "record": json.loads(Path(result["record"]).read_text())}


def test_the_sample_exercises_every_reader():
    readers = {r.name for r in scan(ROOT / "raw").readers.values()}
    assert readers == {"txt", "jsonl", "html", "warc"}


def _kept_or_canonical(sample, doc_id):
    if doc_id in sample["articles"]:
        return sample["articles"][doc_id]
    return sample["articles"][sample["dropped"][doc_id]["canonical"]]


def test_html_pages_of_the_sample(sample):
    for doc_id, want in EXPECT["html"].items():
        art = _kept_or_canonical(sample, doc_id)
        assert art["title"] == want["title"]
        for key in ("published", "author", "sitename"):
            if key in want:
                assert art[key] == want[key], (doc_id, key)
        assert want["has"] in art["text"]
        for furniture in want["not"]:
            assert furniture not in art["text"], (doc_id, furniture)
        assert "extracted:trafilatura" in art["flags"]
        if "encoding" in want:
            assert f"encoding:{want['encoding']}" in art["flags"]
            # Declared UTF-8, was windows-1252: no replacement characters.
            assert "\ufffd" not in art["text"] and "Ã" not in art["text"]


def test_warc_of_the_sample(sample):
    w = EXPECT["warc"]
    for doc_id, want in w["articles"].items():
        art = sample["articles"][doc_id]
        assert art["url"] == want["url"] and art["source"] == want["source"] and want["has"] in art["text"]
    bad = sample["dropped"][w["corrupt"]]
    assert bad["reason"] == "quarantined" and "corrupt gzip member" in bad["detail"]
    assert sample["record"]["not_articles"] == w["not_articles"]
    # The record after the damaged one was read.
    assert any(i.startswith(w["file"] + "#") and i.endswith("0009") for i in [*sample["dropped"], *sample["articles"]])


def test_crawler_json_with_html(sample):
    for doc_id, want in EXPECT["jsonl_html"].items():
        art = _kept_or_canonical(sample, doc_id)
        for key, value in want.items():
            assert art[key] == value, (doc_id, key)


# ---------------------------------------------------------------- readers


def _warc(records: list[tuple[str, str, bytes, str]]) -> list[bytes]:
    """One gzip member per record: (type, uri, http payload, content type)."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    members = []
    for rec_type, uri, body, ctype in records:
        buf = io.BytesIO()
        w = WARCWriter(buf, gzip=True)
        if rec_type == "response":
            http = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
            rec = w.create_warc_record(uri, "response", payload=io.BytesIO(body), http_headers=http)
        else:
            rec = w.create_warc_record(uri, rec_type, payload=io.BytesIO(body), warc_content_type=ctype)
        w.write_record(rec)
        members.append(buf.getvalue())
    return members


def _docs(root):
    found = scan(root)
    return list(read_documents(found)), found


def test_warc_reader_survives_corrupt_and_truncated_records(tmp_path):
    cyr = _page("Мост открыт", "<p>Новый пешеходный мост через реку открыли во вторник.</p>", charset=None).encode("cp1251")
    members = _warc([
        ("response", "https://www.ashby-news.test/bridge", _page("Footbridge opens", STORY).encode(), "text/html; charset=utf-8"),
        ("response", "https://www.ashby-news.test/logo.png", b"\x89PNG\r\n\x1a\n" + bytes(40), "image/png"),
        ("response", "https://www.ashby-news.test/broken", _page("Broken", STORY).encode(), "text/html"),
        ("resource", "https://mell-vestnik.test/most", cyr, "text/html; charset=windows-1251"),
        ("revisit", "https://www.ashby-news.test/bridge", b"", "application/http; msgtype=response"),
        ("response", "https://www.ashby-news.test/last", _page("Last", STORY).encode(), "text/html"),
    ])
    broken = bytearray(members[2])
    broken[len(broken) // 2 : len(broken) // 2 + 12] = bytes(12)
    members[2] = bytes(broken)
    data = b"".join(members[:-1]) + members[-1][: len(members[-1]) // 2]  # the file ends mid-record
    (tmp_path / "crawl.warc.gz").write_bytes(data)
    docs, found = _docs(tmp_path)
    arts = [d for d in docs if isinstance(d, Article)]
    rejected = [d for d in docs if isinstance(d, Rejected)]
    assert [a.url for a in arts] == ["https://www.ashby-news.test/bridge", "https://mell-vestnik.test/most"]
    assert arts[0].source == "ashby-news.test" and arts[0].id.startswith("crawl.warc.gz#urn:uuid:")
    assert "Новый пешеходный мост" in arts[1].html  # the HTTP header's charset, no <meta>
    assert [d.detail.split(":")[0] for d in rejected] == ["corrupt gzip member", "truncated record"]
    offsets = [int(d.id.rsplit("@", 1)[1]) for d in rejected]
    assert offsets == [sum(map(len, members[:2])), sum(map(len, members[:5]))]
    assert found.not_articles == {"warc:non-html": 1, "warc:revisit": 1}


def test_plain_warc_with_a_record_cut_short(tmp_path):
    members = _warc([("response", f"https://site.test/{i}", _page(f"Story {i}", STORY).encode(), "text/html") for i in range(3)])
    records = [gzip.decompress(m) for m in members]
    cut = records[1][: len(records[1]) // 2]  # Content-Length now promises more than is there
    (tmp_path / "crawl.warc").write_bytes(records[0] + cut + b"garbage line\r\n" + records[2])
    docs, _ = _docs(tmp_path)
    assert [d.url for d in docs if isinstance(d, Article)] == ["https://site.test/0", "https://site.test/2"]
    (bad,) = [d for d in docs if isinstance(d, Rejected)]
    assert bad.detail.startswith("truncated record") and bad.id == f"crawl.warc@{len(records[0])}"


def test_formats_are_sniffed_when_the_name_says_nothing(tmp_path):
    (tmp_path / "page-0001").write_text(_page("Footbridge opens", STORY))
    (tmp_path / "archive.bin").write_bytes(b"".join(_warc([("response", "https://a.test/x", _page("X", STORY).encode(), "text/html")])))
    (tmp_path / "notes.dat").write_text("a,b\n1,2\n")
    found = scan(tmp_path)
    assert {p.name: r.name for p, r in found.readers.items()} == {"page-0001": "html", "archive.bin": "warc"}
    assert found.skipped == ["notes.dat"]
    assert reader_for(tmp_path / "x.HTML.GZ").name == "html"


def _plain(n: int) -> list[bytes]:
    """``n`` plain WARC records of distinct stories."""
    return [gzip.decompress(m) for m in _warc([
        ("response", f"https://site.test/{i}", _page(f"Story {i}", STORY).encode(), "text/html") for i in range(n)])]


def _read_one(path: Path, max_bytes: int = 50_000_000):
    """(articles as (id, url, title in the page), quarantined) of one WARC file."""
    found = scan(path)
    docs = list(read_documents(found, max_bytes))
    arts = [(d.id.split("#", 1)[1], d.url, d.html.split("<title>")[1].split("<")[0]) for d in docs if isinstance(d, Article)]
    return arts, [d for d in docs if isinstance(d, Rejected)]


def _ids(records: list[bytes]) -> list[str]:
    return [r.split(b"WARC-Record-ID: <", 1)[1].split(b">", 1)[0].decode() for r in records]


def test_a_gzip_member_over_the_limit_is_skipped_to_its_end_and_the_next_one_read(tmp_path):
    # Three members, the middle one a 200 MB page: quarantined at its
    # offset, inflated to its end in bounded pieces (never held), and the
    # third member read; nothing re-read, no offset past the file.
    small = _warc([("response", f"https://site.test/{i}", _page(f"Story {i}", STORY).encode(), "text/html") for i in (0, 2)])
    para = b"<p>" + b"lorem ipsum dolor sit amet " * 37 + b"</p>\n"
    size = 200 * 1000 * len(para)
    head = (b"WARC/1.0\r\nWARC-Type: resource\r\nWARC-Record-ID: <urn:uuid:big>\r\nWARC-Target-URI: https://site.test/1\r\n"
            b"Content-Type: text/html\r\nContent-Length: %d\r\n\r\n" % size)
    path = tmp_path / "crawl.warc.gz"
    with open(path, "wb") as fh:
        fh.write(small[0])
        z = zlib.compressobj(1, zlib.DEFLATED, 31)
        fh.write(z.compress(head))
        for _ in range(200):
            fh.write(z.compress(para * 1000))
        fh.write(z.compress(b"\r\n\r\n") + z.flush())
        big_end = fh.tell()
        fh.write(small[1])
    arts, rejected = _read_one(path)
    assert [(url, title) for _id, url, title in arts] == [("https://site.test/0", "Story 0"), ("https://site.test/2", "Story 2")]
    (bad,) = rejected
    assert bad.id == f"crawl.warc.gz@{len(small[0])}" and bad.detail.startswith("gzip member larger than 50,000,000 bytes")
    assert big_end + len(small[1]) == path.stat().st_size


@pytest.mark.parametrize("then", [b"", "next record"])
def test_a_header_cut_mid_line_after_three_records_is_one_quarantined_span(tmp_path, then):
    records = _plain(5)
    cut = records[3][: records[3].index(b"WARC-Target-URI") + 20]  # mid-line, after its own WARC-Record-ID
    tail = records[4] if then else b""
    (tmp_path / "crawl.warc").write_bytes(b"".join(records[:3]) + cut + tail)
    arts, rejected = _read_one(tmp_path / "crawl.warc")
    kept = [0, 1, 2] + ([4] if then else [])
    # Every whole record under its own id with its own page; the cut one nowhere.
    assert arts == [(_ids(records)[i], f"https://site.test/{i}", f"Story {i}") for i in kept]
    (bad,) = rejected
    assert bad.id == f"crawl.warc@{sum(map(len, records[:3]))}" and bad.detail.startswith("truncated record")


def test_junk_without_a_newline_before_a_record_does_not_swallow_it(tmp_path):
    records = _plain(2)
    junk = b"\x00\x17 4,504 bytes of something else \xff" * 40
    (tmp_path / "crawl.warc").write_bytes(records[0] + junk + records[1])
    arts, rejected = _read_one(tmp_path / "crawl.warc")
    assert arts == [(_ids(records)[i], f"https://site.test/{i}", f"Story {i}") for i in (0, 1)]
    (bad,) = rejected
    assert bad.detail == f"corrupt WARC data: bytes that are no WARC record; {len(junk):,} bytes skipped to the next record"


@pytest.mark.parametrize("gz", [False, True])
def test_a_non_numeric_content_length_is_one_quarantined_record(tmp_path, gz):
    records = _plain(3)
    records[1] = re.sub(rb"Content-Length: \d+", b"Content-Length: 12a4", records[1])
    name = "crawl.warc.gz" if gz else "crawl.warc"
    (tmp_path / name).write_bytes(b"".join(gzip.compress(r) if gz else r for r in records))
    arts, rejected = _read_one(tmp_path / name)
    assert [url for _id, url, _t in arts] == ["https://site.test/0", "https://site.test/2"]
    (bad,) = rejected
    assert "Content-Length '12a4' is no number" in bad.detail


def test_a_record_whose_content_holds_a_warc_record_is_kept_whole_when_its_digest_says_so(tmp_path):
    # A page quoting a WARC header: the block digest vouches for the length.
    quoted = _page("Inside a WARC", "<pre>WARC/1.0\r\nWARC-Type: response\r\nContent-Length: 3\r\n\r\nabc\r\n\r\n</pre>" + STORY).encode()
    members = _warc([("response", "https://site.test/warc", quoted, "text/html"),
                     ("response", "https://site.test/1", _page("Story 1", STORY).encode(), "text/html")])
    records = [gzip.decompress(m) for m in members]
    (tmp_path / "crawl.warc").write_bytes(b"".join(records))
    arts, rejected = _read_one(tmp_path / "crawl.warc")
    assert [url for _id, url, _t in arts] == ["https://site.test/warc", "https://site.test/1"] and not rejected
    # Without a digest nothing vouches for it: read as a record cut short,
    # and the quoted record is tried on its own terms.
    bare = re.sub(rb"WARC-(Block|Payload)-Digest: [^\r]*\r\n", b"", records[0])
    (tmp_path / "crawl.warc").write_bytes(bare + records[1])
    arts, rejected = _read_one(tmp_path / "crawl.warc")
    assert [url for _id, url, _t in arts] == ["https://site.test/1"]
    assert rejected[0].detail.startswith("truncated record: another record begins inside its content")


def test_a_damaged_block_is_refused_by_its_digest(tmp_path):
    records = _plain(2)
    records[0] = records[0].replace(b"footbridge", b"FOOTBRIDGE")
    (tmp_path / "crawl.warc").write_bytes(b"".join(records))
    arts, rejected = _read_one(tmp_path / "crawl.warc")
    assert [url for _id, url, _t in arts] == ["https://site.test/1"]
    assert rejected[0].detail.startswith("damaged record: its WARC-Block-Digest does not match")


@pytest.mark.parametrize("data, declared, want, encoding", [
    # "iso-8859-1" declared over UTF-8 bytes: the bytes win.
    (_page("Café", "<p>Crème brûlée</p>", "iso-8859-1").encode("utf-8"), None, "Crème brûlée", "utf-8"),
    # A correct legacy declaration.
    (_page("Мост", "<p>Пешеходный мост</p>", "windows-1251").encode("cp1251"), None, "Пешеходный мост", "cp1251"),
    # Declares UTF-8, is windows-1252: detection.
    (_page("Prices", "<p>The “new” café charges €4</p>", "utf-8").encode("cp1252"), None, "The “new” café charges €4", "cp1252"),
    # No <meta>; the HTTP header knows.
    (_page("Мост", "<p>Пешеходный мост</p>", None).encode("koi8_r"), "koi8-r", "Пешеходный мост", "koi8_r"),
])
def test_charset_of_pages(data, declared, want, encoding):
    text, enc = decode_html(data, declared)
    assert want in text and enc == encoding


def test_jsonl_records_with_html(tmp_path):
    rows = [{"id": "a", "url": "https://ashby-news.test/a", "html": _page("Footbridge opens", STORY)},
            {"id": "b", "text": "Kept text.", "html": _page("Footbridge opens", STORY)},
            {"id": "c", "html": ["not", "a", "page"]},
            {"id": "d", "title": "neither"}]
    (tmp_path / "feed.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    docs = {d.id: d for d in _docs(tmp_path)[0]}
    assert docs["a"].html and docs["a"].text == "" and docs["b"].text == "Kept text."
    assert "'html' is a list" in docs["c"].detail and "no 'text'" in docs["d"].detail


# ---------------------------------------------------------------- extraction


def test_extraction_fills_text_and_metadata():
    page = _page("Footbridge opens over the Mell", STORY).replace(
        "<head>", '<head><meta name="author" content="Jo Rees"><meta property="article:published_time" content="2024-02-06">'
        '<meta property="og:site_name" content="Ashby News">')
    art = Article(id="x", text="", html=page, url="https://www.ashby-news.test/bridge")
    Extractor().extract(art)
    assert art.html is None and art.error is None
    assert "steel span" in art.text and "Home" not in art.text and "Example Press" not in art.text
    assert (art.title, art.published, art.author, art.sitename) == ("Footbridge opens over the Mell", "2024-02-06", "Jo Rees", "Ashby News")
    assert art.source == "ashby-news.test"  # from the URL, the reader gave none


LONG_STORY = " ".join([
    "The county opened a new footbridge over the River Mell on Tuesday, ending a two-year detour for walkers and cyclists.",
    "Engineers said the steel span, lifted into place by crane in January, is designed to last a century.",
    "It should stay open in floods that closed the old crossing twice a winter, the council's highways chief said.",
    "Local traders, who lost custom while the path was shut, welcomed the reopening and planned a market for Saturday.",
])


def test_extraction_replaces_a_records_own_text_only_with_an_article():
    from pipelines.config import load_config
    from pipelines.stages import _chain, _prepare

    nav_only = ("<html><body><nav><ul><li><a href='/'>Home</a></li><li><a href='/news'>News</a></li>"
                "<li><a href='/sport'>Sport</a></li></ul></nav></body></html>")
    own = Article(id="nav", text=LONG_STORY, title="Footbridge opens", html=nav_only)
    page = Article(id="page", text="Teaser: a bridge opens.", title="Footbridge opens",
                   html=_page("Footbridge opens", "".join(f"<p>{s}</p>" for s in LONG_STORY.split(". "))))
    cfg = load_config()
    _prepare(_chain(cfg), [(own, "h1", False, ["own", 0]), (page, "h2", False, ["page", 0])], cfg)
    # The navigation bar is no article: the record's own text stays, and an edit says why.
    assert own.text == LONG_STORY
    (edit,) = [e for e in own.edits if e.reason == "extraction"]
    assert "Home" in edit.text and edit.detail.startswith("the page's extracted text is no article (too_short")
    # A page that is an article wins over the record's teaser.
    assert "steel span" in page.text and "Teaser" not in page.text
    assert not [e for e in page.edits if e.reason == "extraction"]


def test_a_hanging_page_is_quarantined_and_the_shard_goes_on(tmp_path, monkeypatch):
    import trafilatura

    from pipelines.config import load_config
    from pipelines.stages import clean_shard

    real = trafilatura.bare_extraction

    def hang_on_marker(markup, **kw):
        if "HANG" in markup:
            while True:
                pass
        return real(markup, **kw)

    monkeypatch.setattr(trafilatura, "bare_extraction", hang_on_marker)
    cfg = load_config(None).with_overrides(extract={"time_limit": 0.5})
    rows = [Article(id="hangs", text="", html=_page("HANG", STORY)), Article(id="fine", text="", html=_page("Footbridge opens", STORY))]
    shard = tmp_path / "raw.jsonl"
    shard.write_text("".join(json.dumps({"article": a.to_dict(), "hash": a.id}) + "\n" for a in rows))
    stats = clean_shard(str(shard), str(tmp_path / "out"), cfg, {})
    (hung,) = _jsonl(tmp_path / "out.filtered.jsonl")
    assert hung["id"] == "hangs" and hung["reason"] == "quarantined" and "longer than 0.5 s of CPU" in hung["detail"]
    assert [r["id"] for r in _jsonl(tmp_path / "out.candidates.jsonl")] == ["fine"]
    assert stats.dropped == {"quarantined": 1}


# ---------------------------------------------------------------- writers


def _config(tmp_path: Path, formats: list[str]) -> Path:
    text = (ROOT / "configs" / "default.toml").read_text()
    text = text.replace('rules = "rules.toml"', f'rules = "{ROOT / "configs" / "rules.toml"}"')
    text = text.replace('formats = ["jsonl"]', f"formats = {json.dumps(formats)}")
    path = tmp_path / f"config-{'-'.join(formats)}.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def both(run_flow, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("parquet")
    out = tmp / "out"
    run_flow(ROOT / "raw", out, _config(tmp, ["jsonl", "parquet"]))
    return out


def _filled(row: dict, schema) -> dict:
    """A JSONL row with the keys it leaves out as nulls, as Parquet has them."""
    import pyarrow as pa

    out = {}
    for fld in schema:
        v = row.get(fld.name)
        if pa.types.is_list(fld.type) and pa.types.is_struct(fld.type.value_type) and v is not None:
            v = [{f.name: e.get(f.name) for f in fld.type.value_type} for e in v]
        out[fld.name] = v
    return out


@pytest.mark.parametrize("name", ["articles", "dropped"])
def test_parquet_loads_with_datasets_and_pandas_and_equals_jsonl(both, name, tmp_path, monkeypatch):
    import datasets
    import pandas as pd
    import pyarrow.parquet as pq

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    rows = _jsonl(both / f"{name}.jsonl")
    schema = pq.read_schema(both / f"{name}.parquet")
    want = [_filled(r, schema) for r in rows]
    assert len(want) > 5
    ds = datasets.load_dataset("parquet", data_files=str(both / f"{name}.parquet"), split="train", cache_dir=str(tmp_path / "hf"))
    assert ds.to_list() == want
    df = pd.read_parquet(both / f"{name}.parquet")
    got = json.loads(df.to_json(orient="records", force_ascii=False))
    assert got == json.loads(json.dumps(want))  # same values once both are plain JSON
    if name == "articles":
        assert {m["id"] for a in ds for m in a["duplicates"]}, "the nested duplicates survive"


def _first_site(tmp_path: Path) -> Path:
    """The sample's harbor-gazette files alone, at the same relative paths."""
    import shutil

    first = tmp_path / "first"
    shutil.copytree(ROOT / "raw" / "harbor-gazette", first / "harbor-gazette")
    return first


def _rows(out: Path, name: str) -> list[dict]:
    """The corpus rows, in id order, nulls left out (JSONL leaves some keys
    out that Parquet holds as null)."""
    from pipelines.formats.writers import read_corpus

    return sorted(({k: v for k, v in r.items() if v is not None} for r in read_corpus(out, name)), key=lambda r: r["id"])


def test_parquet_only_output_serves_report_explain_and_later_runs(run_flow, tmp_path, both):
    from pipelines.explain import find

    out = tmp_path / "out"
    cfg = _config(tmp_path, ["parquet"])
    first = run_flow(_first_site(tmp_path), out, cfg)
    assert not (out / "articles.jsonl").exists() and (out / "articles.parquet").exists()
    assert first["kept"] == len(json.loads((out / "state" / "kept.json").read_text()))
    run_flow(ROOT / "raw", out, cfg)
    # The corpus after two runs is that of one run over everything.
    for name in ("articles", "dropped"):
        assert _rows(out, name) == _rows(both, name)
    report = json.loads((out / "report.json").read_text())
    assert report["summary"]["kept"] == len(_rows(out, "articles"))
    assert find(out, "lakeside-times/library-solar-roof.html").status == "kept"
    # Switching back to JSONL removes the Parquet files, never leaving a stale corpus.
    run_flow(ROOT / "raw", out, _config(tmp_path, ["jsonl"]))
    assert (out / "articles.jsonl").exists() and not (out / "articles.parquet").exists()


def test_articles_jsonl_is_no_state(run_flow, tmp_path):
    """A later run needs nothing from the outputs: deleting them between
    runs changes nothing."""
    first = _first_site(tmp_path)
    out_a, out_b = tmp_path / "a", tmp_path / "b"
    for out in (out_a, out_b):
        run_flow(first, out)
    for name in ("articles.jsonl", "dropped.jsonl", "report.json", "report.html"):
        (out_b / name).unlink()
    results = [run_flow(ROOT / "raw", out) for out in (out_a, out_b)]
    for name in ("articles.jsonl", "dropped.jsonl"):
        assert (out_a / name).read_bytes() == (out_b / name).read_bytes()
    records = [json.loads(Path(r["record"]).read_text()) for r in results]
    assert records[0]["replaced_canonicals"] == records[1]["replaced_canonicals"]
