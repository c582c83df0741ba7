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
