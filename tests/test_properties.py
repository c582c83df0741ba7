"""Property-based tests (hypothesis): the readers and the cleaners under
arbitrary bytes, file names, ids and JSON values. No exception escapes, and
every input document is accounted for exactly once.

Sized for CI: the examples of all tests add up to more than 10,000 per run
(``NEWSCLEAN_HYPOTHESIS_SCALE`` multiplies them). Derandomised, so a CI
failure replays on any machine."""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cleaners.reasons import REASONS
from cleaners.record import Article
from pipelines.config import load_config
from pipelines.readers import Rejected, quarantine_ids, read_documents, read_documents_at, scan
from pipelines.stages import _chain
from pipelines.store import escape_field, index_line, unescape_field

SCALE = float(os.environ.get("NEWSCLEAN_HYPOTHESIS_SCALE", "1"))


def _settings(n: int):
    return settings(max_examples=max(1, int(n * SCALE)), deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# File names: any bytes a POSIX name may hold (no "/" and no NUL), so names
# that are not UTF-8 too, with the extensions the readers know.
names = st.binary(min_size=1, max_size=12).map(lambda b: b.replace(b"/", b"_").replace(b"\0", b"_")).filter(
    lambda b: b not in (b".", b"..") and not b.startswith(b"."))
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                           max_leaves=6)
record = st.fixed_dictionaries({}, optional={
    "id": json_values | st.text(max_size=20), "text": json_values | st.text(max_size=200), "title": json_values,
    "url": json_values, "source": json_values, "published": json_values,
})
line = st.one_of(record.map(lambda r: json.dumps(r, ensure_ascii=False).encode("utf-8", "surrogatepass")),
                 json_values.map(lambda v: json.dumps(v).encode()), st.binary(max_size=80))


def _expected_documents(kind: str, data: bytes) -> int | None:
    """Documents a file must yield: one per non-blank line of a JSON-lines
    file (one for the whole file when there is none or it cannot be read),
    one for a .txt file."""
    if kind == ".txt":
        return 1
    if kind == ".jsonl.gz":
        try:
            data = gzip.decompress(data)
        except Exception:  # noqa: BLE001 - unreadable: at least one entry, counted below
            return None
    lines = sum(1 for chunk in data.split(b"\n") if chunk.strip())
    return max(1, lines)


@_settings(2500)
@given(files=st.lists(st.tuples(names, st.sampled_from([".txt", ".jsonl", ".jsonl.gz"]),
                                st.lists(line, max_size=5), st.booleans(), st.booleans()), min_size=1, max_size=4))
def test_readers_account_for_every_document_of_any_file(files):
    with tempfile.TemporaryDirectory() as tmp:
        root = os.fsencode(tmp)
        expected: dict[bytes, tuple[str, bytes]] = {}
        for i, (name, kind, lines, gz_valid, trailing_newline) in enumerate(files):
            fname = name + b"-%d" % i + kind.encode()
            data = b"\n".join(lines) + (b"\n" if trailing_newline else b"")
            if kind == ".jsonl.gz":
                data = gzip.compress(data) if gz_valid else data[:40]
            with open(os.path.join(root, fname), "wb") as fh:
                fh.write(data)
            expected[fname] = (kind, data)
        docs = list(read_documents_at(scan(tmp), max_file_bytes=10_000))
        for doc, path, _line in docs:
            assert isinstance(doc, (Article, Rejected))
            # Every id and path is valid text (non-UTF-8 names are escaped).
            doc.id.encode("utf-8")
            path.encode("utf-8")
            json.dumps(doc.to_dict(), ensure_ascii=False).encode("utf-8")
        per_file: dict[str, int] = {}
        for _doc, path, _line in docs:
            per_file[path] = per_file.get(path, 0) + 1
        assert len(per_file) == len(expected)
        for fname, (kind, data) in expected.items():
            shown = fname.decode("utf-8", "backslashreplace")
            want = _expected_documents(kind, data)
            got = per_file[shown]
            assert got >= 1 and (want is None or got == want or (kind == ".jsonl.gz" and got == want + 1)), (shown, got, want)
        # Valid articles never share an id (a later claimant is quarantined).
        ids = [d.id for d, _, _ in docs if isinstance(d, Article)]
        assert len(ids) == len(set(ids))


@_settings(2500)
@given(lines=st.lists(line, min_size=1, max_size=8))
def test_a_jsonl_line_becomes_one_article_or_one_quarantined_record(lines):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "feed.jsonl"
        path.write_bytes(b"\n".join(lines) + b"\n")
        docs = list(read_documents(scan(path)))
        assert len(docs) == max(1, sum(1 for raw in lines for chunk in raw.split(b"\n") if chunk.strip()))
        for d in docs:
            if isinstance(d, Article):
                assert isinstance(d.text, str) and isinstance(d.id, str) and d.id
                for v in (d.title, d.url, d.source, d.published):
                    assert v is None or isinstance(v, str)
            else:
                assert d.reason == "quarantined" and d.detail


@_settings(2500)
@given(ids=st.lists(st.text(max_size=10), max_size=12), valid=st.sets(st.text(max_size=10), max_size=12),
       corpus=st.sets(st.text(max_size=10), max_size=6))
def test_quarantined_ids_never_take_a_valid_id_and_never_collide(ids, valid, corpus):
    rejected = [Rejected(i, "bad", "f.jsonl", n) for n, i in enumerate(ids, 1)]
    quarantine_ids(rejected, valid, corpus.__contains__)
    final = [r.id for r in rejected]
    assert len(final) == len(set(final))
    assert not set(final) & (valid | corpus)


@_settings(2000)
@given(value=st.text())
def test_index_fields_round_trip_any_id(value):
    line = index_line(value, "h", "candidate")
    assert "\n" not in line and "\r" not in line and line.count("\t") == 2
    assert unescape_field(line.split("\t")[0]) == value
    assert unescape_field(escape_field(value)) == value


_CHAIN = None


def _the_chain():
    global _CHAIN
    if _CHAIN is None:
        _CHAIN = _chain(load_config())
    return _CHAIN


@_settings(1500)
@given(text=st.text(max_size=400), title=st.none() | st.text(max_size=40), source=st.none() | st.sampled_from(["harbor-gazette", "x"]))
def test_the_chain_takes_any_text_and_always_gives_a_known_decision(text, title, source):
    chain = _the_chain()
    art = Article(id="p", text=text, title=title, source=source)  # type: ignore[arg-type]
    chain.prepare(art)
    chain.strip(art)
    reason = chain.precheck(art)
    if reason is None:
        chain.identify(art)
        reason = chain.decide(art)
    assert reason is None or reason in REASONS
    assert all(e.reason in REASONS for e in art.edits)
    assert isinstance(art.text, str) and isinstance(art.title, str)
    json.dumps(art.to_dict(), ensure_ascii=False)


# ---------------------------------------------------------------- WARC framing
#
# Valid WARC files (plain, and one gzip member per record) of records from a
# fixed pool, damaged by random cuts, junk (bytes, blank lines, fragments of
# WARC headers, gzip magic) and splices of other records' bytes, without a
# newline wherever the position falls. Whatever the damage, every record
# whose bytes are still all there comes out once, under its own
# WARC-Record-ID and URL with its own page, and no other article takes its
# id; the reader ends, and every offset it names is in the file. (A damaged
# record's header whose start is spliced onto another record's later header
# lines at a line boundary reads as a record of its own: no check of a
# header can tell, the block digest does not cover it. It takes no whole
# record's id, which is what is checked.)


def _warc_pool() -> list[tuple[bytes, str | None, str | None, str | None]]:
    """(record bytes, record id, url, page) per pool record; page None for
    records that are no articles."""
    import io
    import re

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    def page(n: int, body: str) -> str:
        return f"<!DOCTYPE html><html><head><title>Story {n}</title></head><body><p>{body}</p></body></html>\n"

    specs = [
        ("response", "text/html", page(0, "The footbridge opened on Tuesday."), True),
        ("response", "text/html; charset=utf-8", page(1, "Line one.\r\n\r\nLine two after a blank line."), False),
        ("resource", "text/html", page(2, "A resource record of the crawl."), True),
        ("response", "text/html", page(3, "<pre>WARC/1.0\r\nWARC-Type: response\r\nContent-Length: 3\r\n\r\nabc\r\n\r\n</pre>"), True),
        ("response", "image/png", None, True),
        ("warcinfo", "application/warc-fields", None, True),
        ("response", "text/html", page(6, "Short.\n\nWARC/1.0 in the text, at a line start\nWARC-Type: none"), False),
        ("response", "text/html", page(7, "Ferries resume after the storm. " * 20), True),
    ]
    pool = []
    for i, (kind, ctype, html, digest) in enumerate(specs):
        buf = io.BytesIO()
        w = WARCWriter(buf, gzip=False)
        uri = f"https://site{i}.test/story-{i}"
        body = html.encode() if html is not None else b"\x89PNG\r\n\x1a\n" + bytes(30)
        rid = f"<urn:uuid:00000000-0000-4000-8000-{i:012d}>"
        extra = {"WARC-Record-ID": rid, "WARC-Date": "2024-03-15T00:00:00Z"}
        if kind == "response":
            http = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
            rec = w.create_warc_record(uri, kind, payload=io.BytesIO(body), http_headers=http, warc_headers_dict=extra)
        else:
            rec = w.create_warc_record(uri if kind != "warcinfo" else None, kind, payload=io.BytesIO(body),
                                       warc_content_type=ctype, warc_headers_dict=extra)
        w.write_record(rec)
        data = buf.getvalue()
        if not digest:
            data = re.sub(rb"WARC-(Block|Payload)-Digest: [^\r]*\r\n", b"", data)
        assert rid.encode() in data
        pool.append((data, rid.strip("<>"), uri, html))
    return pool


_POOL = _warc_pool()
_MEMBERS = [gzip.compress(rec, mtime=0) for rec, *_ in _POOL]
_at = st.integers(0, 1 << 20)
_junk = st.lists(st.sampled_from([b"\r\n", b"\n", b"\r\n\r\n", b"WARC/1.0\r\n", b"WARC/1.1\r\n", b"WARC-Type: response\r\n",
                                  b"Content-Length: 40\r\n", b"Content-Length: 4x\r\n", b"Content-Length: 999999\r\n",
                                  b"WARC-Record-ID: <urn:uuid:fake>\r\n", b"WARC-Target-URI: https://fake.test/\r\n",
                                  b"\x1f\x8b\x08", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", b"<html><p>junk</p></html>"])
                 | st.binary(max_size=24), min_size=1, max_size=6).map(b"".join)
_damage = st.lists(st.one_of(
    st.tuples(st.just("cut"), _at, st.integers(1, 400)),
    st.tuples(st.just("junk"), _at, _junk),
    st.tuples(st.just("splice"), _at, st.integers(0, len(_POOL) - 1), _at, st.integers(1, 600)),
    st.tuples(st.just("end"), _at),
), min_size=1, max_size=3)


def _damaged(units: list[bytes], damage: list[tuple]) -> bytes:
    data = b"".join(units)
    for op, at, *rest in damage:
        at %= len(data) + 1
        if op == "cut":
            data = data[:at] + data[at + rest[0]:]
        elif op == "junk":
            data = data[:at] + rest[0] + data[at:]
        elif op == "splice":  # a piece of a record: 16 bytes short of one at least, so no data after it can complete it
            src = _MEMBERS[rest[0]] if units[0][:2] == b"\x1f\x8b" else _POOL[rest[0]][0]
            start = rest[1] % len(src)
            data = data[:at] + src[start:start + min(rest[2], len(src) - 16)] + data[at:]
        else:
            data = data[:at]
    return data


def _check_warc_damage(chosen: list[int], damage: list[tuple], gz: bool) -> None:
    from pipelines.formats.warc import read_warc

    units = [(_MEMBERS if gz else [rec for rec, *_ in _POOL])[i] for i in chosen]
    data = _damaged(units, damage)
    name = "crawl.warc.gz" if gz else "crawl.warc"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        docs = [doc for doc, _where in read_warc(path, name, 1_000_000)]
    arts = [d for d in docs if isinstance(d, Article)]
    ids = [a.id for a in arts]
    assert len(ids) == len(set(ids))
    whole = {i for i, unit in zip(chosen, units) if unit in data}
    got = {a.id: a for a in arts}
    for i in whole:
        _rec, rid, url, html = _POOL[i]
        if html is not None:
            a = got.get(f"{name}#{rid}")
            assert a is not None and a.url == url and a.html == html, (i, [d.detail for d in docs if isinstance(d, Rejected)])
    for d in docs:
        if isinstance(d, Rejected) and data:
            base = d.id.rsplit("@", 1)[1].split("+")[0]
            assert int(base) < len(data)


_records = st.lists(st.integers(0, len(_POOL) - 1), min_size=1, max_size=5, unique=True)


@_settings(1200)
@given(chosen=_records, damage=_damage)
def test_damaged_plain_warc_keeps_every_whole_record_once_under_its_own_id(chosen, damage):
    _check_warc_damage(chosen, damage, gz=False)


@_settings(1000)
@given(chosen=_records, damage=_damage)
def test_damaged_warc_gz_keeps_every_whole_record_once_under_its_own_id(chosen, damage):
    _check_warc_damage(chosen, damage, gz=True)
