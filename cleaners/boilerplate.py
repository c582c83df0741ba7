"""Stage 2, boilerplate: remove what the scraper left around the article.

Three kinds of evidence, each recorded per removed line with a reason code:

* **Rules** (:class:`RuleSet`): regexes kept as data in ``configs/rules.toml``,
  generic plus per-site, for footers, related links, bylines, datelines,
  photo credits, trailers, share and cookie lines.
* **Learned lines** (:class:`SourceLineStats`): a line that recurs across many
  *different* articles of the same source is that site's furniture, whatever
  it says. Counting is per source, so a quote that several outlets share is
  never learned.
* **Whole pages** (:func:`main_block`): text dumped from a whole HTML page
  (menus, teasers, footers around the article) is cut to the article's block
  of sentence-length lines; extractor output is left alone.
* **Off-topic inserts** (:func:`offtopic_scores`): a paragraph whose content
  words, weighted by how rare they are in general language (``wordfreq``),
  are almost absent from the rest of the article and its title was spliced
  in from another story. Measured on BBC splices (``benchmarks/boilerplate.py``).

A safety valve keeps an article whole (and flags it) when the removals would
take more than a configured share of its words: a rule that guts an article
is a bad rule, and the report lists these cases so it can be fixed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from operator import itemgetter
from typing import Any

import regex

from .reasons import check
from .record import Edit

FLAGS = regex.IGNORECASE | regex.UNICODE | regex.V0


@dataclass(frozen=True, slots=True)
class Rule:
    kind: str  # "line" | "section_end" | "prefix" | "suffix"
    reason: str
    pattern: regex.Pattern
    max_words: int | None = None
    where: str = "any"  # "any" | "head" | "tail" | "edge"
    # section_end only: how far from the end the section may open (default:
    # the rule set's tail_share); comment threads can be longer than the story.
    tail_share: float | None = None

    @classmethod
    def from_dict(cls, kind: str, d: Mapping[str, Any]) -> "Rule":
        # Patterns that rely on capitals (city datelines) must say so: under
        # IGNORECASE, \p{Lu} matches any letter.
        flags = FLAGS & ~regex.IGNORECASE if d.get("case_sensitive") else FLAGS
        return cls(
            kind=kind,
            reason=check(d["reason"], "removal"),
            pattern=regex.compile(d["pattern"], flags),
            max_words=d.get("max_words"),
            where=d.get("where", "any"),
            tail_share=d.get("tail_share"),
        )


KINDS = ("line", "section_end", "prefix", "suffix")


@dataclass(slots=True)
class RuleSet:
    """Generic rules plus per-site rules, compiled once per process."""

    rules: list[Rule]
    sites: dict[str, list[Rule]] = field(default_factory=dict)
    edge_lines: int = 4
    tail_share: float = 0.4
    # Suffix rules look at this many characters at the end of a line: a
    # glued attribution is short, and a search from every position of a
    # long paragraph is most of what suffix rules cost.
    suffix_chars: int = 200
    stopwords: frozenset[str] = frozenset()
    min_paragraph_words: int = 8
    max_relative: float = 0.4
    anchor_weight: float = 0.0
    unanchored_max_title_words: int = 0
    unanchored_max_shared: float = 0.0
    unanchored_max_relative: float = 0.0
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
    page: "PageParams | None" = None

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> "RuleSet":
        def parse(section: Mapping[str, Any]) -> list[Rule]:
            return [Rule.from_dict(kind, d) for kind in KINDS for d in section.get(kind, [])]

        settings = cfg.get("settings", {})
        off = cfg.get("offtopic", {})
        return cls(
            rules=parse(cfg),
            sites={name: parse(section) for name, section in cfg.get("sites", {}).items()},
            edge_lines=settings.get("edge_lines", 4),
            tail_share=settings.get("tail_share", 0.4),
            suffix_chars=settings.get("suffix_chars", 200),
            stopwords=frozenset(off.get("stopwords", "").split()),
            min_paragraph_words=off.get("min_paragraph_words", 8),
            max_relative=off.get("max_relative", 0.4),
            anchor_weight=off.get("anchor_weight", 0.0),
            unanchored_max_title_words=off.get("unanchored_max_title_words", 0),
            unanchored_max_shared=off.get("unanchored_max_shared", 0.0),
            unanchored_max_relative=off.get("unanchored_max_relative", 0.0),
            max_neighbours=off.get("max_neighbours", 1.0),
            judge_lead=off.get("judge_lead", True),
            short_paragraph_words=off.get("short_paragraph_words", 8),
            short_max_shared=off.get("short_max_shared", 0.0),
            web_min_words=off.get("web_min_words", 1_000_000),
            web_min_paragraphs=off.get("web_min_paragraphs", 1_000_000),
            web_max_size_share=off.get("web_max_size_share", 0.0),
            web_max_numeric=off.get("web_max_numeric", 0.0),
            web_max_shared=off.get("web_max_shared", 0.0),
            web_max_relative=off.get("web_max_relative", 0.0),
            max_capitalised=off.get("max_capitalised", 0.6),
            title_min_weight=off.get("title_min_weight", 1.5),
            max_title_words=off.get("max_title_words", 0),
            min_median_words=off.get("min_median_words", 45),
            frequency_languages=tuple(off.get("frequency_languages", ("en",))),
            common_zipf=off.get("common_zipf", 7.0),
            rare_zipf=off.get("rare_zipf", 3.0),
            page=PageParams(**cfg["page"]) if cfg.get("page", {}).get("enabled", True) and "page" in cfg else None,
        )

    def for_source(self, source: str | None) -> list[Rule]:
        if source and source in self.sites:
            return self.sites[source] + self.rules
        return self.rules


# --------------------------------------------------------------------------
# Learned per-source boilerplate


def line_key(line: str) -> str:
    """A line's identity for recurrence counting: case, digits and spacing
    do not matter ("© 2023" and "© 2024" footers are the same line)."""
    norm = _DIGITS.sub("0", " ".join(line.lower().split()))
    return hashlib.blake2b(norm.encode("utf-8"), digest_size=8).hexdigest()


# Precompiled: module-level regex.sub looks the pattern up on every call, and
# this runs on every line of every article.
_DIGITS = re.compile(r"\d+")


def article_fingerprint(lines: list[str]) -> str:
    """Identity of an article's content, so that several copies of one story
    from a source count once: the key of its longest line."""
    longest = max(lines, key=len, default="")
    return line_key(longest)


@dataclass
class SourceLineStats:
    """Counts, per source, the distinct articles each line appears in.

    A line is boilerplate for a source when it appears in at least
    ``min_articles`` distinct articles of that source and in at least
    ``min_share`` of them. Sets of article fingerprints are capped once the
    count is reached, so the state stays small and can be persisted between
    runs (:meth:`to_dict` / :meth:`from_dict`) and merged across shards.
    """

    min_articles: int = 3
    min_share: float = 0.2
    # source -> line key -> fingerprints of the articles it was seen in
    lines: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    # source -> fingerprints of all articles seen (for the share)
    articles: dict[str, set[str]] = field(default_factory=dict)
    # source -> number of articles counted by earlier runs (persisted as a
    # count: the share needs only how many there were)
    prior_articles: dict[str, int] = field(default_factory=dict)

    def observe(self, source: str | None, lines: Iterable[str]) -> None:
        if not source:
            return
        lines = [ln for ln in lines if ln]
        if not lines:
            return
        fp = article_fingerprint(lines)
        self.articles.setdefault(source, set()).add(fp)
        per_line = self.lines.setdefault(source, {})
        for key in {line_key(ln) for ln in lines}:
            seen = per_line.setdefault(key, set())
            seen.add(fp)

    def merge(self, other: "SourceLineStats") -> None:
        for source, n in other.prior_articles.items():
            self.prior_articles[source] = self.prior_articles.get(source, 0) + n
        for source, fps in other.articles.items():
            self.articles.setdefault(source, set()).update(fps)
        for source, per_line in other.lines.items():
            mine = self.lines.setdefault(source, {})
            for key, fps in per_line.items():
                mine.setdefault(key, set()).update(fps)

    def boilerplate(self, source: str | None) -> frozenset[str]:
        """Keys of the lines learned as boilerplate for ``source``."""
        if not source or source not in self.lines:
            return frozenset()
        n = self.prior_articles.get(source, 0) + len(self.articles.get(source, ()))
        need = max(self.min_articles, self.min_share * n)
        return frozenset(k for k, fps in self.lines[source].items() if len(fps) >= need)

    # Fingerprints kept per line when persisting: enough to decide, small
    # enough that the state does not grow with the corpus.
    MAX_FINGERPRINTS = 64

    def to_dict(self) -> dict[str, Any]:
        """Persistable form. Lines seen in a single article are dropped: they
        are almost all genuine text, and they are most of the volume."""
        cap = self.MAX_FINGERPRINTS
        return {
            "min_articles": self.min_articles,
            "min_share": self.min_share,
            "articles": {
                s: self.prior_articles.get(s, 0) + len(self.articles.get(s, ()))
                for s in sorted(set(self.articles) | set(self.prior_articles))
            },
            "lines": {
                s: {k: sorted(f)[:cap] for k, f in sorted(d.items()) if len(f) > 1}
                for s, d in sorted(self.lines.items())
            },
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "SourceLineStats":
        return cls(
            min_articles=d.get("min_articles", 3),
            min_share=d.get("min_share", 0.2),
            prior_articles=dict(d.get("articles", {})),
            lines={s: {k: set(f) for k, f in per.items()} for s, per in d.get("lines", {}).items()},
        )


# --------------------------------------------------------------------------
# Off-topic paragraphs

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


def offtopic_scores(lines: list[str], title: str, rules: "RuleSet") -> list[TopicScore]:
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
    lexical = median >= rules.min_median_words
    teasers = [_teaser_shaped(lines, b) for b in blocks]
    # Cheap exit before any word is weighed: a web-style article with no
    # teaser and no paragraph :func:`is_offtopic` could judge (too few
    # paragraphs, or none long enough: a content word is at most one token).
    if not lexical and not any(teasers) and (len(blocks) < rules.web_min_paragraphs
                                             or sizes[-1] < rules.web_min_words):
        return []
    stop = rules.stopwords
    zipf = word_zipf(rules.frequency_languages, rules.rare_zipf)
    base = rules.common_zipf
    memo = _info_memo(rules.frequency_languages, rules.rare_zipf, base, stop)
    infos = [_content_infos(t, stop, zipf, base, memo) for t in texts]
    sets = [set(map(_FIRST, inf)) for inf in infos]
    title_stems = content_words(title, stop)
    df: dict[str, int] = {}
    for s in sets:
        for st in s:
            df[st] = df.get(st, 0) + 1
    total_tokens = sum(sizes)
    full = rules.min_paragraph_words
    least = min(full, rules.short_paragraph_words) if lexical else min(full, rules.web_min_words)
    raw = []
    none: set[str] = set()
    for k, (b, inf, toks) in enumerate(zip(blocks, infos, tokens)):
        n = len(inf)
        if n < least:
            continue
        if n * 4 < len(toks):
            continue  # a script written without spaces (CJK): words are not tokens
        if len(_CAPITALISED.findall(texts[k])) > rules.max_capitalised * len(toks):
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
                if weight >= rules.title_min_weight:
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


_SENTENCE_END = regex.compile(r"[.!?:;\"”’'»)]\s*$")


def _teaser_shaped(lines: list[str], block: list[int]) -> bool:
    """A headline line, then prose: a teaser for another story (a table's
    header row is followed by rows that end no sentence)."""
    first = lines[block[0]]
    return (len(block) > 1 and len(first.split()) <= 15 and not _SENTENCE_END.search(first)
            and bool(_SENTENCE_END.search(lines[block[-1]])))


def is_offtopic(score: TopicScore, rules: "RuleSet", max_shared: float) -> bool:
    """Little of the paragraph's weighted vocabulary occurs elsewhere, it
    stands out against the article's other paragraphs, and it carries on
    from neither neighbour. Limits come from ``[offtopic]`` in
    ``configs/rules.toml``; ``max_shared`` is the run's threshold."""
    s, r = score, rules
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
            return (s.title_words <= r.unanchored_max_title_words and s.anchor < r.anchor_weight
                    and s.shared <= r.unanchored_max_shared and s.relative <= r.unanchored_max_relative)
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


# --------------------------------------------------------------------------
# Titles and whole-page text

_TOKEN = re.compile(r"\w+")
_TITLE_SEP = regex.compile(r"\s+[|\-–—:·•»]\s+")


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def is_title_line(line: str, title: str, min_share: float = 0.5) -> bool:
    """A head line that repeats the page title. Page titles carry the site's
    name ("... - WSJ", "Classificação NASCAR | Autoracing | F1"), so a line
    counts when it equals one of the title's segments or when nearly all its
    words are the title's and it covers at least ``min_share`` of them."""
    lt = _tokens(line)
    if not lt or not title:
        return False
    tt, segments = _title_parts(title)
    if lt == tt or lt in segments:
        return True
    if len(lt) < 3:
        return False
    tset = set(tt)
    inside = sum(1 for w in lt if w in tset)
    return inside >= 0.9 * len(lt) and len(set(lt) & tset) >= min_share * len(tset)


@lru_cache(maxsize=64)
def _title_parts(title: str) -> tuple[list[str], list[list[str]]]:
    return _tokens(title), [_tokens(seg) for seg in _TITLE_SEP.split(title)]


@dataclass(frozen=True, slots=True)
class PageParams:
    """Finding the article in whole-page text (see :func:`main_block`);
    values come from ``[page]`` in ``configs/rules.toml``."""

    enabled: bool = True
    # A line is body text when it has this many words and ends a sentence.
    body_words: int = 10
    # Body lines separated by at most this many other lines belong together.
    max_gap_lines: int = 6
    # Only text that looks like a whole page is trimmed: at least this many
    # lines, of which at least this share are short (menus, link lists).
    min_lines: int = 25
    min_short_share: float = 0.45
    short_words: int = 4
    # ... and at least this many short lines before or after the article.
    min_edge_short: int = 8
    # Other blocks are kept when they hold at least this share of the main
    # block's body words.
    keep_share: float = 0.5


_ENDS_SENTENCE = regex.compile(r"[.!?…:;\"”’'»)\]]\s*$")


def main_block(lines: list[str], idx: list[int], p: PageParams) -> set[int] | None:
    """Indices (of ``idx``) outside the article body of whole-page text, or
    None when the text does not look like a whole page.

    Menus, link lists, teasers and footers are runs of short lines; the
    article is a run of sentence-length lines with at most a few short lines
    (headings, captions) between them. Blocks of body lines are formed by
    closing gaps of at most ``max_gap_lines``; the largest block by body
    words is the article, and other blocks at least ``keep_share`` its size
    stay with it (an article split by a gallery or an inline promo)."""
    n = len(idx)
    if n < p.min_lines:
        return None
    words = [len(lines[i].split()) for i in idx]
    # Table cells rendered one per line are data, not menus.
    is_short = [w <= p.short_words and "|" not in lines[i] for i, w in zip(idx, words)]
    if sum(is_short) < p.min_short_share * n:
        return None
    body = [w >= p.body_words and bool(_ENDS_SENTENCE.search(lines[i])) for i, w in zip(idx, words)]
    # A page has furniture around the article: menus before it, link lists
    # after it. An extraction with many headings and lists has little.
    first = next((k for k, b in enumerate(body) if b), n)
    last = max((k for k, b in enumerate(body) if b), default=-1)
    if sum(is_short[:first]) + sum(is_short[last + 1:]) < p.min_edge_short:
        return None
    blocks: list[list[int]] = []  # [first pos, last pos, body words]
    last = None
    for pos in range(n):
        if not body[pos]:
            continue
        if last is not None and pos - last - 1 <= p.max_gap_lines:
            blocks[-1][1] = pos
            blocks[-1][2] += words[pos]
        else:
            blocks.append([pos, pos, words[pos]])
        last = pos
    if not blocks:
        return None
    best = max(b[2] for b in blocks)
    keep = [b for b in blocks if b[2] >= p.keep_share * best]
    inside: set[int] = set()
    for b in keep:
        end = _numbered_run_end(lines, idx, b[0], b[1], p.max_gap_lines)
        inside.update(range(b[0], end + 1))
    return {idx[pos] for pos in range(n) if pos not in inside}


_LIST_ITEM = re.compile(r"^\s*(\d{1,3})[.)]\s+\S")


def _numbered_run_end(lines: list[str], idx: list[int], start: int, end: int, gap: int) -> int:
    """Where the article's block (positions ``start`` to ``end``) ends once
    a numbered list (1, 2, 3, ...) that opens inside it or within ``gap``
    lines after it is followed to its last item. A listicle's items ("1)
    Lego Star Wars ...", each followed by a link) are short lines that end
    no sentence, like a menu; their count going up one by one is what a
    menu never does."""
    expect, last, pos = 1, end, start
    while pos < len(idx) and (pos <= end or pos - last - 1 <= (gap if expect == 1 else 2)):
        m = _LIST_ITEM.match(lines[idx[pos]])
        if m and int(m.group(1)) == expect:
            expect += 1
            last = max(last, pos)
        pos += 1
    # One or two numbered lines are headings, not a list.
    return last if expect > 3 else end


# --------------------------------------------------------------------------
# The stage


@dataclass(slots=True)
class BoilerplateResult:
    text: str
    edits: list[Edit]
    flags: list[str]


def _words(line: str) -> int:
    return len(line.split())


def _in_place(rule: Rule, i: int, n: int, edge: int) -> bool:
    if rule.where == "any":
        return True
    if rule.where == "first":
        return i == 0
    if rule.where == "last":
        return i == n - 1
    head, tail = i < edge, i >= n - edge
    return {"head": head, "tail": tail, "edge": head or tail}.get(rule.where, True)


def strip_boilerplate(
    text: str,
    *,
    title: str = "",
    source: str | None = None,
    rules: RuleSet,
    learned: frozenset[str] = frozenset(),
    offtopic_threshold: float | None = 0.14,
    max_removed_share: float | None = 0.8,
) -> BoilerplateResult:
    """Remove boilerplate lines from repaired text (one paragraph or line per
    line, blank lines between paragraphs).

    ``learned`` holds :func:`line_key` keys of lines learned as boilerplate for
    this source. ``offtopic_threshold``: paragraphs whose on-topic score is at
    or below it are removed (``None`` switches the check off).
    ``max_removed_share``: the safety valve (``None`` switches it off).
    """
    site_rules = rules.for_source(source)
    lines = text.split("\n")
    edits: list[Edit] = []
    remove: dict[int, str] = {}  # line index -> reason

    nonblank = [i for i, ln in enumerate(lines) if ln]
    n = len(nonblank)
    # Where each edit happened: "line N" for a removed line, "in line N" for
    # a piece trimmed off a kept one (N counts the non-blank lines of the text
    # given here), so that `newsclean explain` can restore the order.
    where = {i: f"line {k}" for k, i in enumerate(nonblank)}

    # Suffixes glued to any line (prefixes come after line removal, below).
    for rule in site_rules:
        if rule.kind == "suffix":
            for i in nonblank:
                m = rule.pattern.search(lines[i], max(0, len(lines[i]) - rules.suffix_chars))
                if m and m.start() > 0:
                    edits.append(Edit(rule.reason, m.group(0).strip(), detail="in " + where[i]))
                    lines[i] = lines[i][: m.start()].rstrip()

    # A trailing section of links: everything from its opening line on.
    for rule in site_rules:
        if rule.kind != "section_end":
            continue
        for pos, i in enumerate(nonblank):
            share = rules.tail_share if rule.tail_share is None else rule.tail_share
            if pos >= n * (1 - share) and rule.pattern.search(lines[i]):
                for j in nonblank[pos:]:
                    remove.setdefault(j, rule.reason)
                break

    # Whole-page text: everything outside the article's block goes first,
    # so that the edge rules below see the article's own head and tail.
    if rules.page is not None:
        for i in main_block(lines, [i for i in nonblank if i not in remove], rules.page) or ():
            remove.setdefault(i, "page")
        nonblank = [i for i in nonblank if i not in remove]
        n = len(nonblank)

    line_rules = [r for r in site_rules if r.kind == "line"]
    for pos, i in enumerate(nonblank):
        if i in remove:
            continue
        line = lines[i]
        if title and pos < rules.edge_lines and len(line) <= 2 * len(title) + 20 and is_title_line(line, title):
            remove[i] = "title"
            continue
        if learned and line_key(line) in learned:
            remove[i] = "learned"
            continue
        nw = _words(line)
        for rule in line_rules:
            if rule.max_words is not None and nw > rule.max_words:
                continue
            if not _in_place(rule, pos, n, rules.edge_lines):
                continue
            if rule.pattern.search(line):
                remove[i] = rule.reason
                break

    # A dateline glued to the first sentence: the first line that survived
    # (bylines and dateline lines above it are already gone).
    first = next((i for i in nonblank if i not in remove), None)
    if first is not None:
        for rule in site_rules:
            if rule.kind == "prefix":
                m = rule.pattern.search(lines[first])
                if m and m.end() < len(lines[first]):
                    edits.append(Edit(rule.reason, m.group(0).strip(), detail="in " + where[first]))
                    lines[first] = lines[first][m.end():]

    if offtopic_threshold is not None:
        kept = [ln if i not in remove else "" for i, ln in enumerate(lines)]
        for score in offtopic_scores(kept, title, rules):
            if is_offtopic(score, rules, offtopic_threshold):
                for i in score.lines:
                    remove.setdefault(i, "offtopic")

    for i in sorted(remove):
        edits.append(Edit(remove[i], lines[i], detail=where[i]))

    # The valve guards the article against the rules: what whole-page
    # trimming cut away was never the article (main_block has its own guard).
    total = sum(_words(lines[i]) for i in where if remove.get(i) != "page")
    removed = sum(_words(lines[i]) for i, r in remove.items() if r != "page")
    flags: list[str] = []
    if max_removed_share is not None and total and removed / total > max_removed_share:
        # Keep the article whole; the one edit says how much the rules wanted,
        # so the report can point at the rule that misfired.
        flags.append("kept_whole")
        detail = f"{removed}/{total} words would have been removed"
        return BoilerplateResult(text, [Edit("kept_whole", "", detail=detail)], flags)

    out = [ln for i, ln in enumerate(lines) if i not in remove]
    return BoilerplateResult(_tidy(out), edits, flags)


def _tidy(lines: list[str]) -> str:
    """Drop blank lines left at the ends or doubled by removals."""
    out: list[str] = []
    for ln in lines:
        if not ln and (not out or not out[-1]):
            continue
        out.append(ln)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)
