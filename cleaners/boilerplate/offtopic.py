"""Off-topic inserts: a paragraph whose content words, weighted by how rare
they are in general language (``wordfreq``), are almost absent from the rest
of the article and its title was spliced in from another story. Measured on
BBC splices (``benchmarks/boilerplate.py``).

Scores (:func:`offtopic_scores`) are kept apart from the decision. Full-size
paragraphs of an article written in paragraphs are decided by a small
learned model over the scores (:class:`TopicModel`,
``configs/offtopic-model.json``, trained on half-A BBC splices by
``benchmarks/train_offtopic.py``) when the run has one; every other
paragraph, and every paragraph of a run without the model, by the rules of
:func:`is_offtopic`, whose limits are :class:`OfftopicParams`, read from
``[offtopic]`` in ``configs/rules.toml``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from operator import itemgetter
from pathlib import Path

import numpy as np
import regex

from ..gates import ends_sentence, word_count
from .blocks import Blocks


@dataclass(frozen=True, slots=True)
class OfftopicParams:
    """Limits of the off-topic check; each is documented where it is set,
    in ``[offtopic]`` of ``configs/rules.toml``."""

    stopwords: frozenset[str] = frozenset()
    min_paragraph_words: int = 8
    # A splice is a paragraph or two; when the check would take more than
    # this share of the words of the article's body still kept, it has
    # misread the page (a page whose title is "Menu", a directory of short
    # entries) and takes nothing.
    max_body_share: float = 1 / 3
    # One paragraph found is a splice's shape, not a misread page's (that
    # shows as several): it may hold up to this share, at most half, so
    # that the article is never the smaller part of its body.
    max_one_paragraph_share: float = 0.5
    max_relative: float = 0.4
    anchor_weight: float = 0.0
    unanchored_max_title_words: int = 0
    unanchored_max_shared: float = 0.0
    unanchored_max_relative: float = 0.0
    one_title_word_max_shared: float = 0.0
    one_title_word_max_relative: float = 0.0
    max_neighbours: float = 1.0
    judge_lead: bool = True
    short_paragraph_words: int = 8
    short_max_shared: float = 0.0
    web_min_words: int = 1_000_000
    web_min_paragraphs: int = 1_000_000
    web_max_size_share: float = 0.0
    web_max_numeric: float = 0.0
    web_max_shared: float = 0.0
    web_max_relative: float = 0.0
    max_capitalised: float = 0.6
    title_min_weight: float = 1.5
    max_title_words: int = 0
    min_median_words: int = 45
    frequency_languages: tuple[str, ...] = ("en",)
    common_zipf: float = 7.0
    rare_zipf: float = 3.0


# The stdlib engine: twice as fast as `regex` here, and this runs on every
# word of every article.
_WORD = re.compile(r"[^\W\d_][\w'’&-]*")
_SUFFIXES = ("ments", "ment", "ings", "ing", "ed", "es", "s")
# Possessives go first: "Minogue's" must meet "Minogue" (with the plain
# suffixes alone it became "minogue'" and a name that recurs looked new).
_POSSESSIVES = ("'s", "’s", "'", "’")


def _stem(word: str) -> str:
    """A crude, language-blind stem: enough for "ban"/"bans"/"banned" to meet
    while "government" and "governor" stay apart (7-letter cap). Memoised:
    news vocabulary repeats, and this runs on every word of every article."""
    stem = _STEMS.get(word)
    if stem is None:
        if len(_STEMS) > 500_000:  # bound memory on endless vocabularies
            _STEMS.clear()
        stem = _STEMS[word] = _stem_uncached(word)
    return stem


_STEMS: dict[str, str] = {}


def _stem_uncached(word: str) -> str:
    for pos in _POSSESSIVES:
        if word.endswith(pos):
            word = word[: -len(pos)]
            break
    for suf in _SUFFIXES:
        if word.endswith(suf) and len(word) - len(suf) >= 3:
            word = word[: -len(suf)]
            break
    if len(word) > 3 and word[-1] == word[-2]:
        word = word[:-1]
    return word[:7]


def content_words(text: str, stopwords: frozenset[str]) -> set[str]:
    """Stems of the words of 3+ letters that are not function words."""
    return {_stem(w) for w in _WORD.findall(text.lower()) if len(w) >= 3 and w not in stopwords}


def paragraphs(lines: list[str]) -> list[list[int]]:
    """Indices of non-blank lines, grouped by blank-line separated blocks."""
    blocks: list[list[int]] = []
    current: list[int] = []
    for i, line in enumerate(lines):
        if line:
            current.append(i)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


@lru_cache(maxsize=4)
def word_zipf(languages: tuple[str, ...], floor: float) -> dict[str, float]:
    """General word frequencies (Zipf scale, from the ``wordfreq`` package)
    of the given languages, for words at least as common as ``floor``; a
    word in several languages keeps its highest value. Loaded once per
    process."""
    import wordfreq

    table: dict[str, float] = {}
    for lang in languages:
        # Buckets of words by frequency, most frequent first, one centibel
        # apart: stop at the floor instead of reading the whole list.
        for k, bucket in enumerate(wordfreq.get_frequency_list(lang)):
            z = 9.0 - k / 100
            if z < floor:
                break
            for word in bucket:
                if z > table.get(word, 0.0):
                    table[word] = round(z, 2)
    return table


@lru_cache(maxsize=4)
def _info_memo(languages: tuple[str, ...], floor: float, base: float, stop: frozenset[str]) -> dict:
    """Memo of :func:`_word_info`, one per frequency table and stopword list."""
    return {}


def _word_info(word: str, stop: frozenset[str], zipf: Mapping[str, float], base: float,
               memo: dict) -> tuple[str, float] | bool:
    """A word's stem and how rare it is (``base`` minus its Zipf frequency),
    or False for a word that is not a content word (shorter than 3 letters,
    a function word). A possessive weighs what its word weighs: "world's" is
    rarer than "world" in the table, but sharing it is no more telling.
    Memoised: looked up for every word of every article."""
    if len(memo) > 500_000:  # bound memory on endless vocabularies
        memo.clear()
    if len(word) < 3 or word in stop:
        memo[word] = False
        return False
    bare = word
    for pos in _POSSESSIVES:
        if bare.endswith(pos):
            bare = bare[: -len(pos)]
            break
    info = memo[word] = (_stem(word), base - zipf.get(bare, zipf.get(word, 0.0)))
    return info


def _content_infos(text: str, stop: frozenset[str], zipf: Mapping[str, float], base: float,
                   memo: dict) -> list[tuple[str, float]]:
    """(stem, weight) of each content word of ``text``, in order. The memo
    is read with C-level ``map``; only words never seen before go through
    :func:`_word_info`."""
    ws = _WORD.findall(text.lower())
    infos = list(map(memo.get, ws))
    if None in infos:
        infos = [memo[w] if w in memo else _word_info(w, stop, zipf, base, memo) for w in ws]
    return list(filter(None, infos))


@dataclass(frozen=True, slots=True)
class TopicScore:
    """How much a paragraph belongs to its article: numbers only, decisions
    are :func:`is_offtopic`'s.

    ``shared``: the share of the paragraph's content words, weighted by how
    rare they are in general language, that occur anywhere else in the
    article or its title. Chance overlaps are common words ("market",
    "people"); what a story is about (names, places, its subject) is rare
    and recurs, so a genuine paragraph scores high and a spliced one low.
    ``relative``: ``shared`` over the median of the article's other
    full-size paragraphs, so that an article whose paragraphs all share
    little (a short piece, a column) does not lose its weakest one.
    """

    lines: list[int]
    words: int
    shared: float
    relative: float
    paragraphs: int = 0
    # Distinct title words it names (common words aside): naming what the
    # headline is about is the strongest sign of belonging.
    title_words: int = 0
    # Weight of the rarest word it shares with the rest of the article or
    # the title (0 when it shares none). A genuine paragraph that shares
    # little still shares something specific (a name, a place, the
    # subject); a spliced one shares only everyday words ("world", "plans",
    # "lost"), by chance.
    anchor: float = 0.0
    # Like ``shared``, counting only the paragraphs just before and after it
    # and the title: a paragraph carries on from its neighbours, while one
    # spliced in between two of them continues neither.
    neighbours: float = 0.0
    # Where it stands (0: the lead, which says what the story is) and how
    # the article is written: the median paragraph length in tokens (web
    # style: one sentence a paragraph), its share of the article's tokens,
    # and the share of its tokens that are numbers (a table run together;
    # measured in web-style articles only, 0 elsewhere).
    index: int = 0
    median_tokens: int = 0
    size_share: float = 0.0
    numeric: float = 0.0
    teaser: bool = False


_FIRST = itemgetter(0)
# Tokens that open with a capital, and tokens that are numbers or amounts:
# one scan of the paragraph each instead of a test per token.
_CAPITALISED = regex.compile(r"(?<!\S)\p{Lu}")
_NUMERIC = re.compile(r"(?<!\S)[$£€]?\d")


def offtopic_scores(lines: list[str], title: str, params: OfftopicParams) -> list[TopicScore]:
    """Score the paragraphs that :func:`is_offtopic` may judge: those with
    at least ``short_paragraph_words`` content words in articles of
    multi-sentence paragraphs; in web-style articles (one sentence a
    paragraph, see ``min_median_words``) only teaser-shaped blocks and
    paragraphs of at least ``web_min_words`` content words, since one short
    sentence carries too little evidence either way."""
    blocks = paragraphs(lines)
    if len(blocks) < 3:
        return []
    texts = [" ".join(lines[i] for i in b) for b in blocks]
    tokens = [t.split() for t in texts]
    sizes = sorted(len(t) for t in tokens)
    median = sizes[len(sizes) // 2]
    lexical = median >= params.min_median_words
    teasers = [_teaser_shaped(lines, b) for b in blocks]
    # Cheap exit before any word is weighed: a web-style article with no
    # teaser and no paragraph :func:`is_offtopic` could judge (too few
    # paragraphs, or none long enough: a content word is at most one token).
    if not lexical and not any(teasers) and (len(blocks) < params.web_min_paragraphs
                                             or sizes[-1] < params.web_min_words):
        return []
    stop = params.stopwords
    zipf = word_zipf(params.frequency_languages, params.rare_zipf)
    base = params.common_zipf
    memo = _info_memo(params.frequency_languages, params.rare_zipf, base, stop)
    infos = [_content_infos(t, stop, zipf, base, memo) for t in texts]
    sets = [set(map(_FIRST, inf)) for inf in infos]
    title_stems = content_words(title, stop)
    df = Counter(chain.from_iterable(sets))  # paragraphs each stem occurs in
    total_tokens = sum(sizes)
    full = params.min_paragraph_words
    least = min(full, params.short_paragraph_words) if lexical else min(full, params.web_min_words)
    raw = []
    none: set[str] = set()
    for k, (b, inf, toks) in enumerate(zip(blocks, infos, tokens)):
        n = len(inf)
        if n < least:
            continue
        if n * 4 < len(toks):
            continue  # a script written without spaces (CJK): words are not tokens
        if len(_CAPITALISED.findall(texts[k])) > params.max_capitalised * len(toks):
            continue  # a list of names (a line-up, a cast): nothing to compare
        before = sets[k - 1] if k else none
        after = sets[k + 1] if k + 1 < len(sets) else none
        total = shared = anchor = nb = 0.0
        in_title = set()
        for st, weight in inf:
            if weight <= 0:
                continue
            total += weight
            if st in title_stems:
                shared += weight
                nb += weight
                if weight >= params.title_min_weight:
                    in_title.add(st)
            elif df[st] > 1:  # df counts this paragraph too
                shared += weight
                if st in before or st in after:
                    nb += weight
            else:
                continue
            if weight > anchor:
                anchor = weight
        sh = shared / total if total else 1.0
        raw.append((k, b, n, sh, len(in_title), anchor, nb / total if total else 1.0))
    # The median over the *other* full-size paragraphs: one sort, then for a
    # full-size paragraph the element that the median of the list without
    # it would be (removing one copy of its value shifts the elements at or
    # above it down by one).
    ranked = sorted(x[3] for x in raw if x[2] >= full)
    scores = []
    for k, b, n, sh, nt, anc, nb in raw:
        if n >= full:
            m = len(ranked) - 1
            med = 1.0 if m <= 0 else (ranked[m // 2 + 1] if sh <= ranked[m // 2] else ranked[m // 2])
        else:
            med = ranked[len(ranked) // 2] if ranked else 1.0
        size = len(tokens[k])
        # Only web-style articles judge by it: elsewhere the scan is skipped.
        numeric = 0.0 if lexical else len(_NUMERIC.findall(texts[k])) / size
        scores.append(TopicScore(b, n, sh, sh / med if med else 1.0, len(blocks), nt, anc, nb, k, median,
                                 size / total_tokens, numeric, teasers[k]))
    return scores


def _teaser_shaped(lines: list[str], block: list[int]) -> bool:
    """A headline line, then prose: a teaser for another story (a table's
    header row is followed by rows that end no sentence)."""
    first = lines[block[0]]
    return (len(block) > 1 and len(first.split()) <= 15 and not ends_sentence(first)
            and ends_sentence(lines[block[-1]]))


def is_offtopic(score: TopicScore, params: OfftopicParams, max_shared: float) -> bool:
    """Little of the paragraph's weighted vocabulary occurs elsewhere, it
    stands out against the article's other paragraphs, and it carries on
    from neither neighbour. Limits come from ``[offtopic]`` in
    ``configs/rules.toml``; ``max_shared`` is the run's threshold."""
    s, r = score, params
    if s.index == 0 and not r.judge_lead:
        return False
    if s.neighbours > r.max_neighbours:
        return False
    if s.median_tokens >= r.min_median_words or s.teaser:
        if s.words >= r.min_paragraph_words:
            if s.title_words <= r.max_title_words and s.shared <= max_shared and s.relative <= r.max_relative:
                return True
            # Shares nothing rarer than everyday words: its overlap (a
            # common title word included) is chance, so looser limits hold.
            if (s.title_words <= r.unanchored_max_title_words and s.anchor < r.anchor_weight
                    and s.shared <= r.unanchored_max_shared and s.relative <= r.unanchored_max_relative):
                return True
            # One title word and next to nothing else in common: the word is
            # the chance overlap (stories of one section share "film",
            # "market"), so tighter limits hold.
            return (s.title_words <= 1 and s.shared <= r.one_title_word_max_shared
                    and s.relative <= r.one_title_word_max_relative)
        # A one-sentence paragraph: too few words for a share to mean much,
        # so only one that shares nothing at all goes.
        return s.words >= r.short_paragraph_words and s.shared <= r.short_max_shared
    # Web-style article: asides and quotes share little by chance, so only a
    # long paragraph (yet a minority of the text) of a long article that
    # shares almost nothing is judged; a table run together is data, not
    # prose.
    return (s.paragraphs >= r.web_min_paragraphs and s.words >= r.web_min_words
            and s.size_share <= r.web_max_size_share and s.numeric < r.web_max_numeric
            and s.title_words <= r.max_title_words and s.shared <= r.web_max_shared
            and s.relative <= r.web_max_relative)


# The learned decision's inputs: the scores that do not grow with the
# article (shares, ratios, a count of title words, a place among the
# paragraphs), so that a model trained on one corpus's splices reads another's
# articles on the same scale.
TOPIC_FEATURES = ("shared", "relative", "title_words", "anchor", "neighbours", "position")


def topic_features(s: TopicScore) -> tuple[float, ...]:
    """The :data:`TOPIC_FEATURES` of a score, in order."""
    return (s.shared, s.relative, float(s.title_words), s.anchor, s.neighbours,
            s.index / s.paragraphs if s.paragraphs else 0.0)


def learned_branch(s: TopicScore, params: OfftopicParams) -> bool:
    """The paragraphs a :class:`TopicModel` decides: full-size paragraphs of
    an article written in paragraphs, the shape its training splices have.
    One-sentence paragraphs and web-style articles (one sentence a
    paragraph) keep the rules of :func:`is_offtopic`: the model never saw
    them."""
    return (s.median_tokens >= params.min_median_words or s.teaser) and s.words >= params.min_paragraph_words


class TopicModel:
    """P(spliced) of a paragraph from its :data:`TOPIC_FEATURES`: one small
    LightGBM booster and the threshold its training chose, in one JSON file.
    Only scores; :class:`OfftopicStep` decides."""

    def __init__(self, data: Mapping):
        import lightgbm

        if tuple(data.get("features", ())) != TOPIC_FEATURES:
            raise ValueError(f"off-topic model has features {data.get('features')}, this code {list(TOPIC_FEATURES)}: "
                             "retrain it (make train-offtopic)")
        self.threshold = float(data["threshold"])
        self.meta = {k: v for k, v in data.items() if k != "booster"}
        self.booster = lightgbm.Booster(model_str=data["booster"])

    @classmethod
    def load(cls, path: str | Path) -> "TopicModel":
        return _load_topic_model(str(Path(path).resolve()))

    def score(self, rows: Sequence[Sequence[float]]) -> np.ndarray:
        if not len(rows):
            return np.zeros(0)
        return self.booster.predict(np.asarray(rows, dtype=np.float64), num_threads=1)


@lru_cache(maxsize=4)
def _load_topic_model(path: str) -> TopicModel:
    return TopicModel(json.loads(Path(path).read_text(encoding="utf-8")))


class OfftopicStep:
    """Removes paragraphs spliced in from another story (reason ``offtopic``).
    ``model``: a :class:`TopicModel` deciding the paragraphs of
    :func:`learned_branch`; None leaves every decision to the rules."""

    name = "offtopic"

    def __init__(self, params: OfftopicParams, max_shared: float | None, model: TopicModel | None = None):
        self.params, self.max_shared, self.model = params, max_shared, model

    def warm_up(self) -> None:
        word_zipf(self.params.frequency_languages, self.params.rare_zipf)

    def __call__(self, b: Blocks) -> None:
        self.batch([b])

    def scores(self, b: Blocks) -> tuple[list[str], list[TopicScore]]:
        """The lines still kept (removed ones blank) and their paragraphs' scores."""
        removed = b.removed
        kept = [ln if i not in removed else "" for i, ln in enumerate(b.lines)]
        return kept, offtopic_scores(kept, b.title, self.params)

    def batch(self, batch: Sequence[Blocks]) -> None:
        # Scored article by article, the model's rows of the whole batch
        # predicted at once: one call per shard, not one per article.
        if self.max_shared is None:
            return
        work = [(b, *self.scores(b)) for b in batch]
        params, model = self.params, self.model
        learned = iter(())
        if model is not None:
            rows = [topic_features(s) for _, _, scores in work for s in scores if learned_branch(s, params)]
            learned = iter((model.score(rows) >= model.threshold).tolist())
        for b, kept, scores in work:
            found = [s.lines for s in scores
                     if (next(learned) if model is not None and learned_branch(s, params)
                         else is_offtopic(s, params, self.max_shared))]
            if found:
                self._remove(b, kept, found)

    def _remove(self, b: Blocks, kept: list[str], found: list[list[int]]) -> None:
        # A splice is a paragraph or two. Paragraphs found beyond a share of
        # the article still kept mean the check misread the page (a listing,
        # a directory, a page of short entries): it removes nothing rather
        # than guess which of them belong. One paragraph alone is a splice's
        # shape, and may be larger (a short story with one long insert),
        # though never the larger part of the article. The article is its
        # body (the prose of its main runs, see .blocks), not all the text
        # still kept: in whole-page text, furniture left by the steps before
        # splits the page into "paragraphs" at every line they removed, and
        # counted in, menus and link lists made the article's own run of
        # lines the smaller part, an insert among them (an untitled page
        # lost its whole body so on the training fold).
        lines = [i for paragraph in found for i in paragraph]
        taken = sum(word_count(b.lines[i]) for i in lines)
        share = self.params.max_one_paragraph_share if len(found) == 1 else self.params.max_body_share
        body = b.body
        if taken > share * sum(word_count(kept[i]) for i in b.live() if i in body):
            b.refused["offtopic"] += len(lines)
            return
        for i in lines:
            b.remove(i, "offtopic", "topic")
