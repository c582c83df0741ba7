"""The block classifier of the boilerplate stage: the committed model, scores
kept apart from decisions, and what it does to real article text with the
news furniture large crawls are full of around it. (How well it holds on
sites it never saw is measured by ``make bench-boilerplate`` on
site-grouped folds, not here.)"""

from __future__ import annotations

import json

import pytest

from cleaners.boilerplate import Blocks, Boilerplate
from cleaners.boilerplate.classifier import BlockModel, ClassifierStep
from cleaners.boilerplate.features import FeaturePatterns
from conftest import ROOT, shared
from pipelines.config import ConfigError, load_config
from pipelines.stages import _classifier, check_model

# News furniture in the agencies' and sites' formats (our own writing, in
# the shapes the boilerplate issue lists). The conventions that are
# unambiguous alone on a line are rules of rules.toml; the rest is the
# model's to find, among real BBC paragraphs that must all stay.
FURNITURE = [
    "Image 3 of 15",
    "1 of 12",
    "Fullscreen",
    "(AP Photo/Jane Mercer)",
    "REUTERS/Tom Halvorsen",
    "Photo: Carla Ruiz, AP",
    "9:05 am EDT, Monday, March 4, 2024",
    "Updated",
    "48 min ago",
    "The Associated Press",
    "Share story",
    "Advertisement",
    "Previous story:",
    "window.adsbygoogle = window.adsbygoogle || []; googletag.cmd.push(function() { googletag.display('div-gpt-ad-1'); });",
    "Marco Lindqvist | AFP | Getty Images",
    "Dana Okafor Tuesday, May 7, 2019",
    "Trending in Business",
    "RELATED VIDEO",
    "You are signed in as",
    "Partly cloudy. High near 64F. Winds SW at 10 to 15 mph.",
    "(Photo by Lena Marsh/Getty Images)",
    "Tom Breyer, AP",
]


@pytest.fixture(scope="module")
def cfg():
    return load_config()


@pytest.fixture(scope="module")
def bbc():
    path = shared("data", "bbc-news-2225", "bbc_news.jsonl")
    rows = [json.loads(line) for line in open(path, encoding="utf-8")]
    # Real news articles of at least six paragraphs, a few per category.
    picks, seen = [], {}
    for r in rows:
        paras = [p for p in r["text"].split("\n\n") if p.strip()]
        if len(paras) >= 6 and seen.get(r["category"], 0) < 2:
            seen[r["category"]] = seen.get(r["category"], 0) + 1
            picks.append((r["title"], paras))
    return picks


def _with_furniture(paras: list[str], k: int) -> list[str]:
    """The paragraphs with furniture before, between and after them, as a
    paragraph dump of a news page has it."""
    f = FURNITURE[k % len(FURNITURE):] + FURNITURE[:k % len(FURNITURE)]
    return f[:4] + paras[:2] + f[4:7] + paras[2:4] + f[7:10] + paras[4:] + f[10:]


def test_the_committed_model_is_small_and_matches_the_rules(cfg):
    path = cfg.model_path()
    assert path == ROOT / "configs" / "boilerplate-model.json"
    assert path.stat().st_size < 5_000_000
    model = BlockModel.load(path)
    model.check(cfg.ruleset().patterns)  # raises if rules.toml's patterns moved on
    assert 0 < model.meta["threshold"] < 1


def test_the_threshold_is_the_models_own_unless_the_run_sets_one(cfg, tmp_path):
    model = BlockModel.load(cfg.model_path())
    assert cfg.boilerplate.classifier_threshold is None  # one default: the model file's
    assert _classifier(cfg).threshold == model.meta["threshold"]
    assert _classifier(cfg.with_overrides(boilerplate={"classifier_threshold": 0.5})).threshold == 0.5
    data = json.loads(cfg.model_path().read_text())
    del data["threshold"]
    bare = tmp_path / "bare-model.json"
    bare.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="has no threshold"):
        check_model(cfg.with_overrides(boilerplate={"model": str(bare)}))


def test_a_model_trained_with_other_patterns_is_refused(cfg):
    patterns = cfg.ruleset().patterns
    other = FeaturePatterns(patterns.names, tuple(s + "|zzz" for s in patterns.sources))
    with pytest.raises(ValueError, match="retrain"):
        ClassifierStep(BlockModel.load(cfg.model_path()), other, 0.5)


def test_scores_are_kept_apart_from_decisions(cfg, bbc):
    step = _classifier(cfg)
    batch = [Blocks("\n\n".join(_with_furniture(paras, k)), title) for k, (title, paras) in enumerate(bbc)]
    scores = step.scores(batch)
    assert len(scores) == sum(len(b.nonblank) for b in batch)
    assert ((scores >= 0) & (scores <= 1)).all()
    for threshold in (0.3, 0.9):
        fresh = [Blocks("\n\n".join(_with_furniture(paras, k)), title) for k, (title, paras) in enumerate(bbc)]
        ClassifierStep(step.model, step.patterns, threshold).batch(fresh)
        k = 0
        for b in fresh:
            for i in b.nonblank:
                # The body guard: prose of the article's main run never goes on a score.
                assert (b.removed.get(i) == "classifier") == (scores[k] >= threshold and i not in b.body)
                if i in b.removed:
                    assert b.scores[i] == pytest.approx(float(scores[k]))
                k += 1


def _furniture_removed(chain: Boilerplate, bbc) -> tuple[int, int]:
    """(furniture lines removed, furniture lines) over the BBC stories with
    furniture around them; every real paragraph must stay."""
    removed = total = 0
    for k, (title, paras) in enumerate(bbc):
        for given in (title, ""):  # titled and untitled records
            text = "\n\n".join(_with_furniture(paras, k))
            res = chain.strip_many([(text, given, "bbc", frozenset())])[0]
            kept = [p for p in res.text.split("\n\n") if p.strip()]
            assert [p for p in paras if p in kept] == paras, f"a real paragraph of {title!r} was removed"
            furniture = [line for line in _with_furniture(paras, k) if line not in paras]
            removed += sum(1 for line in furniture if line not in kept)
            total += len(furniture)
    return removed, total


def test_the_classifier_removes_the_furniture_the_rules_leave_and_every_paragraph_stays(cfg, bbc):
    """Fails when the classifier step is left out or removes nothing: the
    rules alone leave furniture, and the model must take a share of it."""
    steps = tuple(cfg.boilerplate.steps)
    full = Boilerplate(cfg.ruleset(), steps, None, _classifier(cfg))
    rules_only = Boilerplate(cfg.ruleset(), tuple(s for s in steps if s != "classifier"), None)
    with_model, total = _furniture_removed(full, bbc)
    without, _ = _furniture_removed(rules_only, bbc)
    assert without / total < 0.7, "the furniture must need the model: the rules alone already remove it"
    # The model takes furniture the rules leave. At a threshold that keeps
    # 98 % of content lines out of fold it is cautious, and how much it
    # takes of this made-up furniture moves from one training to the next
    # (7 to 19 % of what the rules leave in earlier models, 10 % in the
    # model retrained at adba9ab; the seed alone moves the dev figures as
    # much), so the test asks for a share no model has fallen under, not a
    # total that one retraining crosses: without the model, or with one
    # that scores nothing, the share is nothing. The sentence-shaped weather
    # line is body prose, which no score may take.
    assert (with_model - without) / (total - without) >= 0.05, (with_model, without, total)
    for k, (title, paras) in enumerate(bbc[:3]):
        res = full.strip_many([("\n\n".join(_with_furniture(paras, k)), title, "bbc", frozenset())])[0]
        for e in res.edits:
            if e.reason == "classifier":
                assert e.score is not None and e.score >= _classifier(cfg).threshold


def test_an_articles_scores_do_not_depend_on_the_batch_around_it(cfg, bbc):
    """The step leaves out of its batch the articles it need not score;
    that is only sound while each article's features and scores are its
    own, whatever else is in the batch."""
    step = _classifier(cfg)
    texts = [("\n\n".join(_with_furniture(paras, k) if k % 2 else paras), title) for k, (title, paras) in enumerate(bbc)]
    together = step.scores([Blocks(text, title) for text, title in texts])
    k = 0
    for text, title in texts:
        alone = step.scores([Blocks(text, title)])
        assert together[k:k + len(alone)].tobytes() == alone.tobytes()
        k += len(alone)


def test_articles_left_unscored_have_nothing_but_body_kept(cfg, bbc):
    """An article is left unscored only when every kept line is protected
    body (nothing the model says could remove it), and a plain article is
    left unscored; one with furniture is scored and loses it."""
    from cleaners.boilerplate.classifier import _all_kept_are_body
    from cleaners.gates import is_prose

    rules = cfg.ruleset()
    before = Boilerplate(rules, ("sections", "rules"), None)
    plain = 0
    for k, (title, paras) in enumerate(bbc):
        # Plain; with furniture; split in two runs by lines a step removed
        # (kept lines all prose, yet the smaller run is no body); prose no more.
        gap = ["Advertisement", "Share this story"] * 4
        variants = [paras, _with_furniture(paras, k), paras[:1] + gap + paras[1:], paras[:-1] + gap + paras[-1:],
                    [p.rstrip(".") for p in paras]]
        for n, lines in enumerate(variants):
            for given in (title, ""):
                b = Blocks("\n\n".join(lines), given)
                if n in (2, 3):  # removed by a guard that leaves the body unbuilt
                    for i in b.nonblank:
                        if b.lines[i] in gap:
                            b.remove(i, "advertisement", "convention")
                else:
                    for s in before.steps:
                        s(b)
                if _all_kept_are_body(b):
                    assert all(i in b.body for i in b.nonblank if i not in b.removed)
                elif n == 0 and all(map(is_prose, paras)):
                    raise AssertionError(f"a plain article of prose paragraphs is scored: {title!r}")
                plain += n == 0 and all(map(is_prose, paras))
    assert plain
    chain = Boilerplate(rules, tuple(cfg.boilerplate.steps), None, _classifier(cfg))
    title, paras = bbc[0]
    res = chain.strip_many([("\n\n".join(paras), title, "bbc", frozenset()),
                            ("\n\n".join(_with_furniture(paras, 0)), title, "bbc", frozenset())])
    assert not [e for e in res[0].edits if e.reason == "classifier"]
    assert [e for e in res[1].edits if e.reason == "classifier"]


def test_the_prose_test_reads_the_line_end_and_counts_words_as_word_count_does(bbc):
    """is_prose looks at the end of a line only and splits no further than
    ten words (it runs on every line): the same answer as the plain
    definition, whitespace of every kind and unspaced scripts included."""
    import re

    from cleaners.gates import SENTENCE_WORDS, is_prose, word_count

    def plain(line: str) -> bool:
        return bool(re.search(r"[.!?…:;\"”’'»)\]。！？」』]\s*$", line)) and word_count(line) >= SENTENCE_WORDS

    words = "one two three four five six seven eight nine ten eleven".split()
    lines = [p for _, paras in bbc for p in paras]
    for n in (8, 9, 10, 11):
        for end in (".", ". ", ".\u00a0", ".\t\u2003", "", " x", ")", "…", "?\u3000", "\u201d", ":", "-"):
            for sep in (" ", "\u00a0", " \t ", "\u2009"):
                lines.append(sep.join(words[:n]) + end)
                lines.append(" " + sep.join(words[:n]) + end + "\u200b")
    lines += ["", " ", ".", " . ", "\u00a0" * 12 + ".", "東京で会議が開かれ、新しい計画が発表された。", "東京。", "東京 で 会議。"]
    assert [plain(ln) for ln in lines] == [is_prose(ln) for ln in lines]


def test_training_does_not_depend_on_the_order_of_its_rows():
    """A rule that takes a few hundred of the classifier's ~360,000 training
    rows shifts every row after them. If training drew anything per row (a
    bin sample, a bag) that shift redrew it all, and a retrain alone moved
    content kept by up to 0.011 (benchmarks/retrain_noise.py). The shipped
    training settings learn the same model from the same rows in any order;
    the sampled draws this replaced do not."""
    import numpy as np
    import lightgbm

    from benchmarks.train_boilerplate import PARAMS

    rng = np.random.default_rng(0)
    n = 260_000  # more rows than LightGBM samples for its bins by default (200,000)
    X = rng.normal(size=(n, 6)).astype(np.float32)
    y = ((X[:, 0] + 0.5 * X[:, 1] ** 2 + rng.normal(size=n)) > 0.5).astype(np.int8)
    order = rng.permutation(n)
    probe = rng.normal(size=(2000, 6)).astype(np.float32)

    def change(params: dict) -> float:
        a, b = (lightgbm.train(params, lightgbm.Dataset(X[idx], y[idx]), num_boost_round=10).predict(probe)
                for idx in (np.arange(n), order))
        return float(np.abs(a - b).max())

    assert change(PARAMS) < 1e-9
    assert change({**PARAMS, "bagging_fraction": 0.8, "bagging_freq": 1}) > 0.01
    assert change({**PARAMS, "bin_construct_sample_cnt": 200_000}) > 0.01
