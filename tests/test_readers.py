"""Readers never lose a document: each becomes an article or a quarantined
entry with a readable reason."""

from __future__ import annotations

import gzip
import json

import pytest

from cleaners.record import Article
from pipelines.readers import Rejected, read_documents, scan


def _read(root):
    return list(read_documents(scan(root)))


def _by_id(docs):
    return {d.id: d for d in docs}


def test_txt_ids_sources_and_legacy_encoding(tmp_path):
    (tmp_path / "site-a").mkdir()
    (tmp_path / "site-a" / "one.txt").write_text("Headline here\n\nBody text of the story.", encoding="utf-8")
    (tmp_path / "loose.txt").write_bytes("Café prices rise\n\nThe crème brûlée now costs £7 at the déjà vu café.".encode("cp1252"))
    docs = _by_id(_read(tmp_path))
    assert docs["site-a/one.txt"].source == "site-a"
    assert docs["loose.txt"].source is None
    assert "crème brûlée" in docs["loose.txt"].text and "£7" in docs["loose.txt"].text
    assert any(f.startswith("encoding:") for f in docs["loose.txt"].flags)
    # The title of a .txt is decided after repair (first line), not by the reader.
    assert docs["site-a/one.txt"].title is None


def test_bad_files_are_quarantined_with_reasons(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.txt").write_text("  \n\n ")
    (tmp_path / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "notes.csv").write_text("a,b\n")
    docs = _by_id(_read(tmp_path))
    assert all(isinstance(d, Rejected) for d in docs.values())
    assert "empty" in docs["empty.txt"].detail
    assert "whitespace" in docs["blank.txt"].detail
    assert "binary" in docs["binary.txt"].detail or "undecodable" in docs["binary.txt"].detail
    assert scan(tmp_path).skipped == ["notes.csv"]


def test_oversized_file_is_quarantined(tmp_path):
    (tmp_path / "big.txt").write_text("word " * 1000)
    docs = list(read_documents(scan(tmp_path), max_file_bytes=100))
    assert isinstance(docs[0], Rejected) and "too large" in docs[0].detail


def test_jsonl_records_and_their_failures(tmp_path):
    lines = [
        json.dumps({"id": "a1", "title": "T", "text": "Body", "source": "wire", "url": "https://x.test/a1", "published": "2024-03-01"}),
        json.dumps({"text": "no id here"}),
        '{"id": "broken", "text": "unterminated',
        json.dumps({"id": "no-text", "title": "Only a title"}),
        json.dumps(["not", "an", "object"]),
        json.dumps({"id": "num", "text": 42}),
        "",
        json.dumps({"id": "a1", "text": "same id again"}),
        json.dumps({"id": "empty", "text": ""}),
    ]
    (tmp_path / "feed.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    docs = _read(tmp_path)
    by_id = _by_id(docs)
    assert isinstance(by_id["a1"], Article) and by_id["a1"].source == "wire" and by_id["a1"].published == "2024-03-01"
    assert by_id["feed.jsonl:2"].text == "no id here"
    assert "broken JSON" in by_id["feed.jsonl:3"].detail
    assert "no 'text'" in by_id["no-text"].detail
    assert "not an object" in by_id["feed.jsonl:5"].detail
    assert "not a string" in by_id["num"].detail
    assert "duplicate id 'a1'" in by_id["feed.jsonl:8"].detail
    # An empty text is a readable record; the gate drops it as "empty".
    assert isinstance(by_id["empty"], Article) and by_id["empty"].text == ""
    # Blank lines are not documents; every other line is accounted for once.
    assert len(docs) == 8 and len(by_id) == 8


def test_gzip_jsonl_and_corrupt_gzip(tmp_path):
    with gzip.open(tmp_path / "ok.jsonl.gz", "wt", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "g1", "text": "Zipped body"}) + "\n")
    (tmp_path / "bad.jsonl.gz").write_bytes(gzip.compress(b'{"id": "g2", "text": "x"}\n')[:-12])
    by_id = _by_id(_read(tmp_path))
    assert by_id["g1"].text == "Zipped body"
    bad = [d for d in by_id.values() if isinstance(d, Rejected)]
    assert len(bad) == 1 and "unreadable" in bad[0].detail


def test_single_file_input(tmp_path):
    f = tmp_path / "one.jsonl"
    f.write_text(json.dumps({"text": "alone"}) + "\n")
    docs = _read(f)
    assert [d.id for d in docs] == ["one.jsonl:1"]


def test_missing_input_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="input not found"):
        scan(tmp_path / "nope")


def test_unpaired_surrogate_escapes_are_quarantined_and_pairs_are_kept(tmp_path):
    # "\ud83d\ude00" is one emoji written as a JSON surrogate pair; "\ud800"
    # alone is half a character that no UTF-8 output file could hold.
    lines = [
        '{"id": "pair", "text": "Fans replied \\ud83d\\ude00 within minutes."}',
        '{"id": "lone", "text": "A broken scraper wrote \\ud800 here."}',
        '{"id": "lone-title", "title": "Bad \\uDC00 title", "text": "Body text."}',
    ]
    (tmp_path / "feed.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    by_id = _by_id(_read(tmp_path))
    assert isinstance(by_id["pair"], Article) and "\U0001F600" in by_id["pair"].text
    assert "'text' holds an unpaired UTF-16 surrogate" in by_id["feed.jsonl:2"].detail
    assert "'title' holds an unpaired UTF-16 surrogate" in by_id["feed.jsonl:3"].detail
    assert len(by_id) == 3
