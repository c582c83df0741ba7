"""Features of a batch of articles' blocks for the block classifier
(:mod:`.classifier`): shape, position, context, title, repetition and the
pattern features of ``[classifier] patterns`` in rules.toml.

Computed for a whole batch of articles at once (a shard), over the UTF-8
bytes of all their lines with numpy, so that the classifier adds little to
the cost of the stage.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import regex

from .blocks import Blocks

FEATURE_VERSION = 2
PATTERN_MAX_CHARS = 250  # lines longer than this get no pattern features

# Byte classes, for shares computed over a line's UTF-8 bytes.
_DIGIT = np.zeros(256, dtype=np.int32)
_DIGIT[ord("0"):ord("9") + 1] = 1
_UPPER = np.zeros(256, dtype=np.int32)
_UPPER[ord("A"):ord("Z") + 1] = 1
_LETTER = _UPPER.copy()
_LETTER[ord("a"):ord("z") + 1] = 1
_LETTER[0xC0:] = 1  # lead bytes of non-ASCII characters: mostly letters
_PUNCT = np.zeros(256, dtype=np.int32)
for _c in "!\"#%&'()*+,-./:;?@[]_{}|~":
    _PUNCT[ord(_c)] = 1
_CODE = np.zeros(256, dtype=np.int32)
for _c in "{}[]();=<>$\\_|":
    _CODE[ord(_c)] = 1
_SPACE = np.zeros(256, dtype=np.int32)
_SPACE[ord(" ")] = 1

# The classes as columns of one table: a line's counts are one segmented sum.
_CLASSES = np.column_stack([_SPACE, _LETTER, _DIGIT, _UPPER, _PUNCT, _CODE,
                            (np.arange(256) >= 0x80).astype(np.int32)]).astype(np.uint8)
_COL_UPPER = 3
_CLASS_COLUMNS = tuple(np.ascontiguousarray(_CLASSES[:, k]) for k in range(_CLASSES.shape[1]))
_STOP = np.zeros(256, dtype=np.uint8)
for _c in ".!?":
    _STOP[ord(_c)] = 1

_ENDS = frozenset(".!?…:;\"”’'»)]")
_TOKEN = re.compile(r"\w+")
_DIGITS = re.compile(r"\d+")

LOCAL_FEATURES = (
    "log_chars", "log_words", "digit_share", "upper_share", "punct_share", "code_share", "nonascii_share",
    "mean_word_bytes", "capitalised_share", "sentence_stops", "ends_sentence", "starts_upper", "starts_digit",
    "starts_punct", "separators", "has_url", "has_at", "has_copyright", "is_prose",
    "rel_pos", "log_pos", "log_pos_from_end", "log_lines", "word_share_before",
    "prose_share_before", "prose_share_after", "log_dist_prev_prose", "log_dist_next_prose", "prose_window",
    "in_main_block", "log_dist_main_block", "main_block_share",
    "removed_prev", "removed_next", "removed_window",
    "prev_log_words", "next_log_words", "prev_prose", "next_prose",
    "title_line", "title_cover", "title_recall",
    "repeats", "prefix_repeats",
)
CONTEXT_FEATURES = ("p_prev", "p_next", "p_prev2", "p_next2", "p_window", "p_window_max", "p_article", "p_article_prose")


@dataclass(frozen=True)
class FeaturePatterns:
    """Named line patterns from ``[classifier] patterns`` in rules.toml; each
    gives the model one yes/no feature, ``pattern_<name>``."""

    names: tuple[str, ...]
    sources: tuple[str, ...]

    @classmethod
    def from_config(cls, patterns: Mapping[str, str]) -> "FeaturePatterns":
        names = tuple(sorted(patterns))
        return cls(names, tuple(patterns[n] for n in names))

    @property
    def digest(self) -> str:
        h = hashlib.sha256(json.dumps([self.names, self.sources]).encode()).hexdigest()
        return h[:16]

    def compiled(self) -> list[regex.Pattern]:
        return _compile(self.sources)


@lru_cache(maxsize=8)
def _compile(sources: tuple[str, ...]) -> list[regex.Pattern]:
    # One pass per pattern over a whole batch's lines joined by newlines:
    # ^ and $ are line anchors; patterns must not cross a newline.
    return [regex.compile(s, regex.IGNORECASE | regex.MULTILINE | regex.V0) for s in sources]


def feature_names(patterns: FeaturePatterns) -> tuple[str, ...]:
    return LOCAL_FEATURES + tuple(f"pattern_{n}" for n in patterns.names)


def _log(x: np.ndarray) -> np.ndarray:
    return np.log1p(x.astype(np.float32))


def _norm_key(line: str) -> str:
    return _DIGITS.sub("0", line.lower())


def local_features(batch: Sequence[Blocks], patterns: FeaturePatterns) -> tuple[np.ndarray, np.ndarray]:
    """Features of every non-blank line of every article in ``batch``, in
    order: ``(X [lines, features] float32, article index of each row)``."""
    lines: list[str] = [b.lines[i] for b in batch for i in b.nonblank]
    counts = np.array([len(b.nonblank) for b in batch], dtype=np.int64)
    art = np.repeat(np.arange(len(batch)), counts)
    n_rows = len(lines)
    names = feature_names(patterns)
    X = np.zeros((n_rows, len(names)), dtype=np.float32)
    if not n_rows:
        return X, art
    col = {n: k for k, n in enumerate(names)}

    # Shares over UTF-8 bytes, all lines at once.
    joined = "\n".join(lines)
    raw = joined.encode("utf-8")
    buf = np.frombuffer(raw, dtype=np.uint8)
    nl = np.flatnonzero(buf == 10)
    starts = np.concatenate([[0], nl + 1])
    ends = np.concatenate([nl, [len(buf)]])
    nbytes = (ends - starts).astype(np.float32)

    # Per class, one lookup of every byte and one segmented sum per line
    # (lines are never empty: starts strictly increase; a segment runs to
    # the next line's start, and the newline between is in no class).
    def per_line(flags: np.ndarray) -> np.ndarray:
        return np.add.reduceat(flags, starts, dtype=np.int32).astype(np.float32)

    spaces, letters_raw, digits, uppers, puncts, codes, nonascii = (per_line(np.take(c, buf)) for c in _CLASS_COLUMNS)
    # Words opening with a capital: a capital right after a space or at the
    # line's start.
    up = np.take(_CLASS_COLUMNS[_COL_UPPER], buf)
    cap = np.zeros(len(buf), dtype=np.uint8)
    cap[1:] = up[1:] & (buf[:-1] == 32)
    cap[starts] = up[starts]
    stop = np.zeros(len(buf), dtype=np.uint8)
    stop[:-1] = np.take(_STOP, buf[:-1]) & (buf[1:] == 32)
    caps, stops = per_line(cap), per_line(stop)
    words = spaces + 1
    letters = np.maximum(letters_raw, 1)
    safe = np.maximum(nbytes, 1)
    X[:, col["log_chars"]] = _log(nbytes)
    X[:, col["log_words"]] = _log(words)
    X[:, col["digit_share"]] = digits / safe
    X[:, col["upper_share"]] = uppers / letters
    X[:, col["punct_share"]] = puncts / safe
    X[:, col["code_share"]] = codes / safe
    X[:, col["nonascii_share"]] = nonascii / safe
    X[:, col["mean_word_bytes"]] = (nbytes - spaces) / words
    X[:, col["capitalised_share"]] = caps / words
    X[:, col["sentence_stops"]] = stops

    ends_sentence = np.fromiter((ln[-1] in _ENDS for ln in lines), dtype=bool, count=n_rows)
    first = [ln[0] for ln in lines]
    X[:, col["ends_sentence"]] = ends_sentence
    X[:, col["starts_upper"]] = np.fromiter((ch.isupper() for ch in first), dtype=bool, count=n_rows)
    X[:, col["starts_digit"]] = np.fromiter((ch.isdigit() for ch in first), dtype=bool, count=n_rows)
    X[:, col["starts_punct"]] = np.fromiter((not ch.isalnum() for ch in first), dtype=bool, count=n_rows)
    X[:, col["separators"]] = np.fromiter((ln.count("|") + ln.count("•") + ln.count("»") + ln.count("›") + ln.count("·")
                                           for ln in lines), dtype=np.float32, count=n_rows)
    X[:, col["has_url"]] = np.fromiter(("http" in ln or "www." in ln for ln in lines), dtype=bool, count=n_rows)
    X[:, col["has_at"]] = np.fromiter(("@" in ln for ln in lines), dtype=bool, count=n_rows)
    X[:, col["has_copyright"]] = np.fromiter(("©" in ln for ln in lines), dtype=bool, count=n_rows)
    prose = (words >= 10) & ends_sentence
    X[:, col["is_prose"]] = prose

    # Pattern features describe furniture, which comes in short lines; long
    # lines are blanked (same offsets) so the scan skips the bulk of the
    # bytes, prose (14x faster on news text).
    short = "\n".join(ln if len(ln) <= PATTERN_MAX_CHARS else "" for ln in lines)
    s_starts = np.cumsum([0] + [min(len(ln), PATTERN_MAX_CHARS + 1) * (len(ln) <= PATTERN_MAX_CHARS) + 1
                                for ln in lines[:-1]])
    for k, pat in enumerate(patterns.compiled()):
        hit = np.zeros(n_rows, dtype=bool)
        found = [m.start() for m in pat.finditer(short)]
        hit[np.searchsorted(s_starts, found, side="right") - 1] = True
        X[:, col[f"pattern_{patterns.names[k]}"]] = hit

    # Per article: position, context, title, repetition. Computed over the
    # whole batch at once, each article a segment of rows (a loop over
    # articles costs ~40 small numpy calls each, more than the features).
    seg = _Segments(art, counts)
    pos, n_of = seg.pos, seg.n
    idx = pos.astype(np.float32)
    X[:, col["rel_pos"]] = idx / np.maximum(n_of - 1, 1).astype(np.float32)
    X[:, col["log_pos"]] = _log(idx)
    X[:, col["log_pos_from_end"]] = _log((n_of - 1).astype(np.float32) - idx)
    X[:, col["log_lines"]] = np.log1p(n_of.astype(np.float64))
    w, pr = words, prose
    cw = seg.cumsum_before(w.astype(np.float64)).astype(np.float32)
    X[:, col["word_share_before"]] = cw / np.maximum(seg.total(w.astype(np.float64)), 1.0).astype(np.float32)
    pr_i = pr.astype(np.int64)
    cp = seg.cumsum_before(pr_i)
    total_prose = np.maximum(seg.total(pr_i), 1)
    X[:, col["prose_share_before"]] = cp / total_prose
    X[:, col["prose_share_after"]] = (seg.total(pr_i) - cp - pr_i) / total_prose
    X[:, col["log_dist_prev_prose"]] = _log(seg.distance(pr, False))
    X[:, col["log_dist_next_prose"]] = _log(seg.distance(pr, True))
    X[:, col["prose_window"]] = seg.window(pr.astype(np.float32), 3)
    main = seg.main_block(w, pr)
    X[:, col["in_main_block"]] = main
    X[:, col["log_dist_main_block"]] = _log(np.minimum(seg.distance(main, False), seg.distance(main, True)) * ~main)
    w64 = w.astype(np.float64)
    X[:, col["main_block_share"]] = seg.total(w64 * main) / np.maximum(seg.total(w64), 1.0)
    removed = np.fromiter((i in b.removed for b in batch for i in b.nonblank), dtype=bool, count=n_rows).astype(np.float32)
    X[:, col["removed_prev"]] = seg.shift(removed, 1, 1.0)
    X[:, col["removed_next"]] = seg.shift(removed, -1, 1.0)
    X[:, col["removed_window"]] = seg.window(removed, 2)
    lw = _log(w)
    X[:, col["prev_log_words"]] = seg.shift(lw, 1, 0.0)
    X[:, col["next_log_words"]] = seg.shift(lw, -1, 0.0)
    X[:, col["prev_prose"]] = seg.shift(pr.astype(np.float32), 1, 0.0)
    X[:, col["next_prose"]] = seg.shift(pr.astype(np.float32), -1, 0.0)
    tl = np.zeros(n_rows, dtype=np.float32)
    cover = np.zeros(n_rows, dtype=np.float32)
    recall = np.zeros(n_rows, dtype=np.float32)
    repeats = np.zeros(n_rows, dtype=np.float32)
    prefix_repeats = np.zeros(n_rows, dtype=np.float32)
    # A line with no digit (ASCII ones counted above; a non-ASCII line may
    # hold others) is its own key once lowercased: the digit pass is skipped.
    plain = ((digits == 0) & (nonascii == 0)).tolist()
    offset = 0
    for a, b in enumerate(batch):
        n = int(counts[a])
        if not n:
            continue
        art_lines = lines[offset:offset + n]
        if b.title:
            title_tokens = set(_TOKEN.findall(b.title.lower()))
            limit = 3 * len(b.title) + 20
            if title_tokens:
                in_title = title_tokens.__contains__
                for k, ln in enumerate(art_lines):
                    if len(ln) <= limit:
                        toks = _TOKEN.findall(ln.lower())
                        if toks:
                            cover[offset + k] = sum(map(in_title, toks)) / len(toks)
                            recall[offset + k] = len(title_tokens.intersection(toks)) / len(title_tokens)
                            tl[offset + k] = _is_title_tokens(toks, b.title)
        keys = [ln.lower() if plain[offset + k] else _norm_key(ln) for k, ln in enumerate(art_lines)]
        seen: dict[str, int] = {}
        prefixes: dict[str, int] = {}
        for key in keys:
            seen[key] = seen.get(key, 0) + 1
            prefixes[key[:30]] = prefixes.get(key[:30], 0) + 1
        repeats[offset:offset + n] = [seen[k] - 1 for k in keys]
        prefix_repeats[offset:offset + n] = [prefixes[k[:30]] - 1 for k in keys]
        offset += n
    X[:, col["title_line"]] = tl
    X[:, col["title_cover"]] = cover
    X[:, col["title_recall"]] = recall
    X[:, col["repeats"]] = repeats
    X[:, col["prefix_repeats"]] = prefix_repeats
    return X, art


class _Segments:
    """Rows of a batch grouped in articles (consecutive segments): the
    per-article operations of the features, done for all articles at once."""

    def __init__(self, art: np.ndarray, counts: np.ndarray):
        self.art = art
        self.start_of = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        self.rows = np.arange(len(art), dtype=np.int64)
        self.first = self.start_of[art]
        self.n = counts[art].astype(np.int64)
        self.pos = self.rows - self.first
        self.end = self.first + self.n
        self.n_articles = len(counts)

    def total(self, values: np.ndarray) -> np.ndarray:
        """Each row's article total of ``values``."""
        sums = np.bincount(self.art, weights=values, minlength=self.n_articles) if len(values) else np.zeros(0)
        out = sums[self.art]
        return out.astype(np.int64) if values.dtype.kind in "iub" else out

    def cumsum_before(self, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` over the rows before each row in its article."""
        c = np.cumsum(values) - values
        return c - (c[self.first] if len(c) else c)

    def distance(self, flags: np.ndarray, forward: bool) -> np.ndarray:
        """Rows to the nearest flagged row before (or after) each row in its
        article, not counting itself; the article's length when none."""
        if forward:
            nxt = np.where(flags, self.rows, np.iinfo(np.int64).max)
            nxt = np.minimum.accumulate(nxt[::-1])[::-1]
            nxt = np.concatenate([nxt[1:], [np.iinfo(np.int64).max]])
            d = np.where(nxt < self.end, nxt - self.rows, self.n)
        else:
            prv = np.where(flags, self.rows, -1)
            prv = np.maximum.accumulate(prv)
            prv = np.concatenate([[-1], prv[:-1]])
            d = np.where(prv >= self.first, self.rows - prv, self.n)
        return np.minimum(d, self.n)

    def window(self, values: np.ndarray, radius: int) -> np.ndarray:
        """Mean of ``values`` over the ``radius`` rows on each side in the
        article, the row itself left out."""
        c = np.concatenate([[0.0], np.cumsum(values, dtype=np.float64)])
        lo = self.first + np.maximum(self.pos - radius, 0)
        hi = self.first + np.minimum(self.pos + radius + 1, self.n)
        total = c[hi] - c[lo] - values
        count = hi - lo - 1
        return np.divide(total, count, out=np.zeros(len(values)), where=count > 0).astype(np.float32)

    def shift(self, values: np.ndarray, by: int, fill) -> np.ndarray:
        """``values`` of the row ``by`` rows earlier (later if negative) in
        the same article; ``fill`` (a scalar or one per row) where there is none."""
        out = np.array(np.broadcast_to(np.asarray(fill, dtype=np.float32), values.shape), dtype=np.float32)
        src = self.pos - by
        ok = (src >= 0) & (src < self.n)
        out[ok] = values[self.rows[ok] - by]
        return out

    def main_block(self, words: np.ndarray, prose: np.ndarray, gap: int = 6) -> np.ndarray:
        """Per article, the run of prose rows (gaps of at most ``gap`` other
        rows closed) holding the most words (the first such run on a tie)."""
        mask = np.zeros(len(words), dtype=bool)
        p = np.flatnonzero(prose)
        if not len(p):
            return mask
        pa = self.art[p]
        new = np.ones(len(p), dtype=bool)
        new[1:] = (pa[1:] != pa[:-1]) | (np.diff(p) > gap + 1)
        run = np.cumsum(new) - 1
        weight = np.bincount(run, weights=words[p].astype(np.float64))
        run_art = pa[new]
        run_first = p[new]
        run_last = np.zeros(len(run_art), dtype=np.int64)
        np.maximum.at(run_last, run, p)
        order = np.lexsort((np.arange(len(run_art)), -weight, run_art))
        best = order[np.concatenate([[True], run_art[order][1:] != run_art[order][:-1]])]
        diff = np.zeros(len(words) + 1, dtype=np.int64)
        np.add.at(diff, run_first[best], 1)
        np.add.at(diff, run_last[best] + 1, -1)
        return np.cumsum(diff[:-1]) > 0


def context_features(p1: np.ndarray, art: np.ndarray, prose: np.ndarray) -> np.ndarray:
    """The second stage's extra features: first-stage scores around each
    line, and over its article."""
    out = np.zeros((len(p1), len(CONTEXT_FEATURES)), dtype=np.float32)
    if not len(p1):
        return out
    bounds = np.flatnonzero(np.diff(art)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [len(p1)]])
    p = p1.astype(np.float32)
    # Batch-wide, except what must round as the model was trained: the
    # article means (numpy's pairwise float32 sums of each article's own
    # slice) and the window's running sums (float64, from each article's
    # start); a segmented sum over the batch would round otherwise.
    mean = np.empty(len(starts), dtype=np.float32)
    mean_prose = np.empty(len(starts), dtype=np.float32)
    running = []
    for a, (s, e) in enumerate(zip(starts.tolist(), ends.tolist())):
        pa = p[s:e]
        mean[a] = m = pa.mean()
        pr = prose[s:e]
        mean_prose[a] = pa[pr].mean() if pr.any() else m
        running.append(np.cumsum(pa, dtype=np.float64))
    counts = ends - starts
    seg = _Segments(np.repeat(np.arange(len(starts)), counts), counts)
    fill = mean[seg.art]
    out[:, 0] = seg.shift(p, 1, fill)
    out[:, 1] = seg.shift(p, -1, fill)
    out[:, 2] = seg.shift(p, 2, fill)
    out[:, 3] = seg.shift(p, -2, fill)
    # Mean of the 3 rows on each side, the row left out, from the running
    # sums: c[base + k] is the sum of an article's first k rows.
    c = np.zeros(len(p) + len(starts), dtype=np.float64)
    c[np.arange(len(p)) + seg.art + 1] = np.concatenate(running)
    base = seg.first + seg.art
    lo = np.maximum(seg.pos - 3, 0)
    hi = np.minimum(seg.pos + 4, seg.n)
    total = c[base + hi] - c[base + lo] - p
    count = hi - lo - 1
    out[:, 4] = np.divide(total, count, out=np.zeros(len(p)), where=count > 0)
    out[:, 5] = np.maximum.reduce([seg.shift(p, k, 0.0) for k in (1, 2, -1, -2)])
    out[:, 6] = fill
    out[:, 7] = mean_prose[seg.art]
    return out


# --------------------------------------------------------------------------
# Titles

_TITLE_SEP = regex.compile(r"\s+[|\-–—:·•»]\s+")


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def is_title_line(line: str, title: str, min_share: float = 0.5) -> bool:
    """A head line that repeats the page title. Page titles carry the site's
    name ("... - WSJ", "Classificação NASCAR | Autoracing | F1"), so a line
    counts when it equals one of the title's segments or when nearly all its
    words are the title's and it covers at least ``min_share`` of them."""
    return _is_title_tokens(_tokens(line), title, min_share)


def _is_title_tokens(lt: list[str], title: str, min_share: float = 0.5) -> bool:
    """:func:`is_title_line` of a line given as its tokens."""
    if not lt or not title:
        return False
    tt, segments, tset = _title_parts(title)
    if lt == tt or lt in segments:
        return True
    if len(lt) < 3:
        return False
    inside = sum(1 for w in lt if w in tset)
    return inside >= 0.9 * len(lt) and len(set(lt) & tset) >= min_share * len(tset)


@lru_cache(maxsize=64)
def _title_parts(title: str) -> tuple[list[str], list[list[str]], frozenset[str]]:
    tt = _tokens(title)
    return tt, [_tokens(seg) for seg in _TITLE_SEP.split(title)], frozenset(tt)
