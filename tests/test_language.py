"""Language identification: the fast first guess, the langdetect fallback,
and accuracy against plain langdetect on real sentences (lingua's test data,
read in place from ../shared)."""

from __future__ import annotations

from cleaners.language import (
    LANGDETECT_LANGUAGES,
    UNKNOWN,
    detect_language,
    fast_guess,
    langdetect_language,
    prefix,
)

from conftest import shared

ENGLISH = (
    "The harbour authority said on Tuesday that the northern pier would stay closed for another month while "
    "engineers replace the timber supports that were damaged in the January storms."
)
GERMAN = (
    "Die Stadtverwaltung hat am Dienstag angekündigt, dass die Brücke über den Fluss noch einen weiteren Monat "
    "gesperrt bleibt, weil die Ingenieure die beschädigten Stützen ersetzen müssen."
)


def test_no_letters_is_undetermined():
    assert detect_language("12 345 — 67.8 %") == (UNKNOWN, 0.0)
    assert detect_language("") == (UNKNOWN, 0.0)


def test_confident_fast_guess_is_kept_and_agrees_with_langdetect():
    for text, lang in ((ENGLISH, "en"), (GERMAN, "de")):
        guess, prob = fast_guess(prefix(text))
        assert guess == lang and prob >= 0.9
        assert detect_language(text)[0] == lang
        assert detect_language(text, fast_min_prob=None)[0] == lang


def test_without_fast_pass_it_is_plain_langdetect():
    text = "Le conseil municipal a voté mardi soir une hausse des tarifs de l'eau pour l'année prochaine."
    assert detect_language(text, fast_min_prob=None) == langdetect_language(prefix(text))


def test_unsure_guess_defers_to_langdetect():
    # A threshold no guess reaches sends everything to langdetect.
    assert detect_language(GERMAN, fast_min_prob=1.01) == langdetect_language(prefix(GERMAN))


def test_chinese_gets_langdetects_script_variant():
    lang, _ = detect_language("市政府星期二宣布，由于工程师需要更换受损的支柱，这座桥将继续关闭一个月。")
    assert lang in ("zh-cn", "zh-tw")


def test_deterministic():
    mixed = "Breaking: Bürgermeister says the bridge stays closed; la mairie confirme."
    assert len({detect_language(mixed) for _ in range(5)}) == 1
    assert len({detect_language(mixed, fast_min_prob=None) for _ in range(5)}) == 1


def test_prefix_cuts_at_a_word_boundary():
    text = "alpha beta gamma delta"
    assert prefix(text, 13) == "alpha beta"
    assert prefix(text, 100) == text


# lingua's label -> the codes langdetect gives for it
_EXPECTED = {"nb": ("no",), "zh": ("zh-cn", "zh-tw")}
SENTENCES_PER_LANGUAGE = 25


def test_default_path_is_no_less_accurate_than_langdetect_on_real_sentences():
    root = shared("data", "lingua-langid-testdata")
    fast_ok = plain_ok = n = 0
    for lang in sorted(set(LANGDETECT_LANGUAGES) | {"nb"}):
        path = root / lang / "sentences.txt"
        if not path.exists():
            continue
        lines = [s.strip() for s in path.read_text(encoding="utf-8").splitlines() if s.strip()]
        # Spread over the file rather than its first lines.
        step = max(1, len(lines) // SENTENCES_PER_LANGUAGE)
        for s in lines[::step][:SENTENCES_PER_LANGUAGE]:
            want = _EXPECTED.get(lang, (lang,))
            fast_ok += detect_language(s)[0] in want
            plain_ok += detect_language(s, fast_min_prob=None)[0] in want
            n += 1
    # ../shared present but no sentence files is a broken checkout: fail
    # (shared() already fails in CI when ../shared is absent), never skip.
    assert n > 1000, f"only {n} sentences found under {root}"
    assert fast_ok >= plain_ok, f"default path {fast_ok}/{n} < langdetect {plain_ok}/{n}"
    assert plain_ok / n > 0.95  # the reference itself is sane on these texts
