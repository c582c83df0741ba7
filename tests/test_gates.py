"""The cheap gates decide before language detection: langdetect never runs
on text the gates drop, and the decisions are those of the full gate."""

from __future__ import annotations

import json

import pytest

from cleaners.gates import cheap_gate, gate
from cleaners.record import Article
from conftest import ROOT
from pipelines.config import load_config
from pipelines.stages import clean_shard


def _long_text() -> str:
    return (ROOT / "raw" / "harbor-gazette" / "ferry-aground.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("text,reason", [
    ("", "empty"),
    ("Short stub about the ferry.", "too_short"),
    ("Breve nota sobre el transbordador encallado en el puerto esta mañana.", "too_short"),
])
def test_cheap_gates_drop_without_a_language(text, reason):
    art = Article(id="x", text=text, title="")
    assert cheap_gate(art) == reason
    assert gate(art, languages=("en",)) == reason  # too short first, whatever its language


def test_a_long_article_passes_the_cheap_gates_and_meets_the_language_gate():
    art = Article(id="x", text=_long_text(), title="")
    assert cheap_gate(art) is None
    art.language = "de"
    assert gate(art, languages=("en",)) == "language"


def test_language_detection_never_runs_on_what_the_gates_drop(tmp_path, monkeypatch):
    calls: list[str] = []
    import cleaners.chain

    real = cleaners.chain.detect_language

    def counting(text, *a, **kw):
        calls.append(text)
        return real(text, *a, **kw)

    monkeypatch.setattr(cleaners.chain, "detect_language", counting)
    stripped: list[int] = []
    real_strip = cleaners.chain.Chain.strip_many

    def counting_strip(self, arts, learned):
        stripped.append(len(arts))
        return real_strip(self, arts, learned)

    monkeypatch.setattr(cleaners.chain.Chain, "strip_many", counting_strip)
    rows = [{"id": f"tiny-{i}", "text": f"Tiny record number {i} about the harbour.", "title": ""} for i in range(50)]
    rows.append({"id": "long", "text": _long_text(), "title": ""})
    shard = tmp_path / "raw-00000.jsonl"
    shard.write_text("".join(json.dumps({"article": r, "hash": str(i)}) + "\n" for i, r in enumerate(rows)), encoding="utf-8")
    stats = clean_shard(str(shard), str(tmp_path / "00000"), load_config(), {})
    assert stats.dropped == {"too_short": 50} and stats.candidates == 1
    assert len(calls) == 1  # only the article that passed the cheap gates
    assert stripped == [1]  # too short before cleaning: not cleaned either
