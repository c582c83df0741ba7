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


def _ja_sentences(n: int) -> list[str]:
    path = ROOT.parent / "shared" / "data" / "lingua-langid-testdata" / "ja" / "sentences.txt"
    return [s.strip() for s in path.read_text(encoding="utf-8").splitlines() if len(s.strip()) >= 25][:n]


def test_japanese_prose_counts_its_words_and_reads_as_prose():
    """Japanese has no spaces between words: counted by whitespace, a
    paragraph is one word, so a whole article is 'too short' and none of
    its lines is prose the body guard protects."""
    from cleaners.gates import is_prose, word_count

    sents = _ja_sentences(24)
    para = "".join(sents[:3])
    assert " " not in para or len(para.split()) < 5
    assert word_count(para) >= 30 and is_prose(para)
    text = "\n\n".join("".join(sents[k:k + 3]) for k in range(0, 24, 3))
    assert cheap_gate(Article(id="ja", text=text, title="")) is None


def test_a_one_paragraph_brief_among_furniture_is_an_article_a_lone_sentence_is_not():
    """no_article counts sentences of prose: a five-sentence brief that is
    one paragraph of a portal page stays; one widget sentence left of a
    page of furniture does not."""
    from cleaners.gates import is_no_article
    from cleaners.record import Edit

    story = json.loads((ROOT.parent / "shared" / "data" / "bbc-news-2225" / "bbc_news.jsonl").open(encoding="utf-8").readline())
    sentences = [s for s in story["text"].replace("\n\n", " ").split(". ") if len(s.split()) >= 6][:5]
    brief = ". ".join(sentences) + "."
    menus = [Edit("navigation", f"Section {k} of the site menu with its links") for k in range(60)]
    assert not is_no_article(Article(id="b", text=brief, title="", edits=list(menus)), 0.8, 2)
    lone = sentences[0] + "."
    assert is_no_article(Article(id="w", text=lone, title="", edits=list(menus)), 0.8, 2)
