"""Words, shingles and entities of a text, as hashes: what near-duplicate
detection keeps of an article (:class:`Fingerprint`).

Tokens are found and hashed on the UTF-8 bytes of the lower-cased text with
numpy; shingles are the distinct 32-bit hashes of word k-grams; entities
(numbers and mid-sentence names) are kept as a bottom-k sketch, what tells
one templated story from another filled into the same sentences.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

# Bumped whenever tokens or shingle hashes change: signatures kept by earlier
# runs are only comparable with signatures made the same way.
SIGNATURE_VERSION = 4

# Tokens are found and hashed on the UTF-8 bytes of the lower-cased text with
# numpy, never as Python strings: a regex that builds one string per word
# costs more than all the rest of shingling and signing together.
#
# A token is a maximal run of word bytes: ASCII letters and digits, and
# every byte of a non-ASCII character except the punctuation and symbols of
# U+0080-U+00BF (no-break space, guillemets, ...) and U+2000-U+206F
# (typographic quotes, dashes, ellipsis, ...). Copies of one story that
# differ in quote style, dashes or spacing have the same tokens.
_WORD_BYTE = np.zeros(256, dtype=bool)
_WORD_BYTE[ord("0") : ord("9") + 1] = True
_WORD_BYTE[ord("a") : ord("z") + 1] = True
_WORD_BYTE[0x80:] = True
# Polynomial token hash: sum of byte_i * P**i over the token's bytes (mod
# 2**64), then a 64-bit mixer. With prefix sums of byte_j * P**j over the
# whole text, every token's hash is one subtraction and one multiplication
# by P**-start (P is odd, so it has an inverse mod 2**64).
_P = 0x100000001B3
_powers: list[np.ndarray] = []


def _power_tables(n: int) -> tuple[np.ndarray, np.ndarray]:
    """P**i and P**-i (mod 2**64) for i < n, grown on demand and kept."""
    if not _powers or len(_powers[0]) < n:
        size = max(1 << 14, 1 << (n - 1).bit_length())
        with np.errstate(over="ignore"):
            pw = np.cumprod(np.full(size, _P, dtype=np.uint64))
            inv = np.cumprod(np.full(size, pow(_P, -1, 1 << 64), dtype=np.uint64))
        pw = np.concatenate([[np.uint64(1)], pw[:-1]])
        inv = np.concatenate([[np.uint64(1)], inv[:-1]])
        _powers[:] = [pw, inv]
    return _powers[0], _powers[1]


def _word_spans(text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The lower-cased text's UTF-8 bytes and its tokens' start and end
    offsets."""
    lowered = text.lower()
    b = np.frombuffer(lowered.encode("utf-8"), dtype=np.uint8)
    return (b, *_spans(b, lowered.isascii()))


def _spans(b: np.ndarray, ascii: bool) -> tuple[np.ndarray, np.ndarray]:
    """Start and end offsets of the tokens of UTF-8 bytes ``b``."""
    w = np.zeros(len(b) + 2, dtype=bool)
    word = w[1:-1]
    np.take(_WORD_BYTE, b, out=word)
    if not ascii:
        if len(b) >= 2:
            lead = np.flatnonzero(b[:-1] == 0xC2)  # U+0080-U+00BF
            word[lead] = False
            word[lead + 1] = False
        if len(b) >= 3:
            lead = np.flatnonzero(b[:-2] == 0xE2)
            lead = lead[(b[lead + 1] & 0xFE) == 0x80]  # U+2000-U+207F
            word[lead] = False
            word[lead + 1] = False
            word[lead + 2] = False
    edges = np.flatnonzero(w[1:] != w[:-1])
    return edges[0::2], edges[1::2]


def token_hashes(text: str) -> np.ndarray:
    """64-bit hashes of the tokens of ``text``, in order (uint64)."""
    return _hash_spans(*_word_spans(text))


def _hash_spans(b: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    if not len(starts):
        return np.empty(0, dtype=np.uint64)
    pw, inv = _power_tables(len(b) + 1)
    with np.errstate(over="ignore"):
        prefix = np.empty(len(b) + 1, dtype=np.uint64)
        prefix[0] = 0
        np.cumsum(b * pw[: len(b)], out=prefix[1:])
        h = (prefix[ends] - prefix[starts]) * inv[starts]
        h += (ends - starts).astype(np.uint64)
        return _fmix64(h)


def _fmix64(h: np.ndarray) -> np.ndarray:
    # MurmurHash3's 64-bit finalizer: every input bit reaches every output bit.
    h = h ^ (h >> np.uint64(33))
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    return h


def tokens(text: str) -> list[str]:
    """The tokens of ``text`` as strings (what :func:`token_hashes` hashes;
    for inspection and tests, the pipeline never builds them)."""
    b, starts, ends = _word_spans(text)
    raw = b.tobytes()
    return [raw[s:e].decode("utf-8", errors="replace") for s, e in zip(starts.tolist(), ends.tolist())]


def text_hash(th: np.ndarray) -> str:
    """Exact-duplicate key: the normalised token stream (its token hashes)."""
    return hashlib.blake2b(np.ascontiguousarray(th, dtype=np.uint64).tobytes(), digest_size=16).hexdigest()


# Odd 32-bit multipliers that mix token positions into a shingle hash.
_MIX = np.array([0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D, 0x27D4EB2F, 0x165667B1, 0xD3A2646C | 1, 0xFD7046C5, 0xB55A4F09], dtype=np.uint32)


def shingle_hashes(th: np.ndarray, k: int) -> np.ndarray:
    """Distinct 32-bit hashes of the word ``k``-grams, from the token hashes
    ``th`` (:func:`token_hashes`), sorted.

    Texts shorter than ``k`` tokens get one shingle of the whole text, so
    that a short text still has a signature.
    """
    if not len(th):
        return np.empty(0, dtype=np.uint32)
    t32 = (th >> np.uint64(32)).astype(np.uint32)
    k = min(k, len(t32))
    n = len(t32) - k + 1
    with np.errstate(over="ignore"):
        acc = t32[:n] * _MIX[0]
        for j in range(1, k):
            acc = (acc ^ (acc >> np.uint32(15))) + t32[j : j + n] * _MIX[j % len(_MIX)]
    # sort + neighbour test: several times faster than np.unique at this size.
    acc.sort()
    keep = np.empty(len(acc), dtype=bool)
    keep[0] = True
    np.not_equal(acc[1:], acc[:-1], out=keep[1:])
    return acc[keep]


@dataclass(frozen=True)
class Fingerprint:
    """What dedup needs of one article's text."""

    shingles: np.ndarray  # distinct shingle hashes (uint32, sorted)
    exact: str  # exact-duplicate key
    tokens: int  # number of tokens
    entities: np.ndarray  # entity sketch (uint32[ENTITY_K], see entity_sketch)
    n_entities: int  # distinct entity tokens


# Entity tokens: numbers and names, what tells one templated story from
# another. Copies and versions of one story carry the same scores, prices,
# temperatures and names; a sports result, a market report or a weather
# report filled into the same sentences carries others. A token is an entity
# if it holds a digit, or starts with a capital letter (ASCII) and does not
# open a sentence or a line (an opening capital says nothing).
_DIGIT = np.zeros(256, dtype=bool)
_DIGIT[ord("0") : ord("9") + 1] = True
_UPPER = np.zeros(256, dtype=bool)
_UPPER[ord("A") : ord("Z") + 1] = True
_OPENER = np.zeros(256, dtype=bool)  # a token after one of these opens a sentence
for _c in '.!?:;"\n\u201c([':
    if ord(_c) < 128:
        _OPENER[ord(_c)] = True
_SPACE = np.zeros(256, dtype=bool)
for _c in " \t\r'*-#>":
    _SPACE[ord(_c)] = True
ENTITY_K = 24


def entity_mask(text: str, b: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Which tokens (spans of ``b``, the lower-cased UTF-8 of ``text``) are
    entities: numbers and mid-sentence capitalised words."""
    if not len(starts):
        return np.zeros(0, dtype=bool)
    orig = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    # Only where lower() kept every byte offset (always for ASCII) can the
    # original bytes tell capitals; else the lowered ones (no capitals).
    return _entity_mask(orig if len(orig) == len(b) else b, b, starts, ends)


def _entity_mask(orig: np.ndarray, b: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    digits = np.concatenate([[0], np.cumsum(_DIGIT[b], dtype=np.int32)])
    mask = digits[ends] > digits[starts]
    capital = np.flatnonzero(_UPPER[orig[starts]])
    # The last byte before each capitalised token that is not a space or a
    # quote: step back over such bytes (a few steps at most, as a rule).
    at = starts[capital] - 1
    for _ in range(8):
        back = (at >= 0) & _SPACE[orig[np.maximum(at, 0)]]
        if not back.any():
            break
        at[back] -= 1
    else:
        solid = np.flatnonzero(~_SPACE[orig])
        at = np.searchsorted(solid, starts[capital]) - 1
        at = np.where(at >= 0, solid[np.maximum(at, 0)], -1)
    prev = np.where(at >= 0, orig[np.maximum(at, 0)], ord("\n"))
    mask[capital] |= ~_OPENER[prev]
    return mask


def entity_sketch(hashes: np.ndarray) -> np.ndarray:
    """The ENTITY_K smallest of a set of 32-bit entity token hashes, sorted,
    padded with 0xFFFFFFFF (a bottom-k sketch: exact for the few numbers
    and names of a short report, a fair sample of a long article's).
    Not a MinHash: with a dozen entities a 16-value MinHash is too coarse
    to tell two weather reports apart."""
    out = np.full(ENTITY_K, 0xFFFFFFFF, dtype=np.uint32)
    h = np.unique(hashes.astype(np.uint32, copy=False))[:ENTITY_K]
    out[: len(h)] = h
    return out


def fingerprint(text: str, k: int) -> Fingerprint:
    b, starts, ends = _word_spans(text)
    th = _hash_spans(b, starts, ends)
    ent = th[entity_mask(text, b, starts, ends)]
    ent = np.unique(fmix32((ent >> np.uint64(32)).astype(np.uint32)))
    return Fingerprint(shingle_hashes(th, k), text_hash(th), len(th), entity_sketch(ent), int(ent.size))


def fmix32(h: np.ndarray) -> np.ndarray:
    # MurmurHash3's finalizer, as datasketch applies it before permuting.
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


# Bytes of text hashed in one go by fingerprints(): every numpy call is
# amortised over a hundred-odd articles, and the power tables stay at 16 MB
# (they grow to the batch: 2 x 8 bytes a byte).
BATCH_BYTES = 1 << 19


def fingerprints(texts: list[str], k: int, batch_bytes: int = BATCH_BYTES) -> list[Fingerprint]:
    """:func:`fingerprint` of many texts at once, the same values: the texts
    are joined (a newline between two, which no token crosses and which
    opens a sentence as a text's start does) and tokenised, hashed,
    shingled and deduplicated in one numpy pass per batch."""
    out: list[Fingerprint] = []
    batch: list[str] = []
    size = 0
    for text in texts:
        batch.append(text)
        size += len(text) + 1
        if size >= batch_bytes:
            out += _batch_fingerprints(batch, k)
            batch, size = [], 0
    return out + (_batch_fingerprints(batch, k) if batch else [])


def _batch_fingerprints(texts: list[str], k: int) -> list[Fingerprint]:
    low = [t.lower() for t in texts]
    lowered = "\n".join(low)
    ascii = lowered.isascii()
    low_bytes = lowered.encode("utf-8")
    orig_bytes = "\n".join(texts).encode("utf-8")
    sizes = [len(t) + 1 if t.isascii() else len(t.encode("utf-8")) + 1 for t in low]
    if len(orig_bytes) != len(low_bytes):
        # A text whose lower() moved byte offsets keeps its lowered bytes as
        # the "original" too: no capitals, as entity_mask does for it.
        orig_bytes = b"\n".join(o if len(o) == len(lb) else lb
                                for o, lb in ((t.encode("utf-8"), t.lower().encode("utf-8")) for t in texts))
    b = np.frombuffer(low_bytes, dtype=np.uint8)
    orig = np.frombuffer(orig_bytes, dtype=np.uint8)
    n = len(texts)
    byte_doc = np.repeat(np.arange(n, dtype=np.int32), sizes)
    starts, ends = _spans(b, ascii)
    th = _hash_spans(b, starts, ends)
    tok_doc = byte_doc[starts]
    n_tok = np.bincount(tok_doc, minlength=n)
    tok_start = np.concatenate([[0], np.cumsum(n_tok)[:-1]])

    # Shingles: k-grams that start and end in one text.
    t32 = (th >> np.uint64(32)).astype(np.uint32)
    shingle_doc = np.empty(0, dtype=np.int64)
    acc = np.empty(0, dtype=np.uint32)
    if len(t32) >= k:
        m = len(t32) - k + 1
        with np.errstate(over="ignore"):
            acc = t32[:m] * _MIX[0]
            for j in range(1, k):
                acc = (acc ^ (acc >> np.uint32(15))) + t32[j : j + m] * _MIX[j % len(_MIX)]
        first = np.arange(m)
        inside = tok_doc[first] == tok_doc[first + k - 1]
        acc, shingle_doc = acc[inside], tok_doc[first[inside]]
    shingles = _per_doc_unique(shingle_doc, acc, n)
    for d in np.flatnonzero((n_tok > 0) & (n_tok < k)).tolist():  # shorter than k: one shingle of it all
        shingles[d] = shingle_hashes(th[tok_start[d] : tok_start[d] + n_tok[d]], k)

    # Entities: the distinct fmix32 of the entity tokens' high halves.
    mask = _entity_mask(orig, b, starts, ends) if len(starts) else np.zeros(0, dtype=bool)
    ent = fmix32((th[mask] >> np.uint64(32)).astype(np.uint32))
    ent_doc, ent, n_ent = _distinct(tok_doc[mask], ent, n)
    # Sketches: each text's ENTITY_K smallest (its first, in sorted order).
    sketches = np.full((n, ENTITY_K), 0xFFFFFFFF, dtype=np.uint32)
    rank = np.arange(len(ent)) - np.repeat(np.cumsum(n_ent) - n_ent, n_ent)
    low = rank < ENTITY_K
    sketches[ent_doc[low], rank[low]] = ent[low]

    tok_end = (tok_start + n_tok).tolist()
    return [Fingerprint(sh, text_hash(th[a:e]), e - a, sk, c)
            for sh, a, e, sk, c in zip(shingles, tok_start.tolist(), tok_end, sketches, n_ent.tolist())]


def sorted_unique(codes: np.ndarray) -> np.ndarray:
    """The distinct values of ``codes`` (sorted in place), sorted. Sort and
    neighbour test: np.unique hashes, several times slower on these uint64
    codes of packed pairs."""
    codes.sort()
    if len(codes):
        keep = np.empty(len(codes), dtype=bool)
        keep[0] = True
        np.not_equal(codes[1:], codes[:-1], out=keep[1:])
        codes = codes[keep]
    return codes


def _distinct(doc: np.ndarray, values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (document, value) pairs of ``n`` documents, sorted:
    their documents, their values (uint32) and the count per document."""
    key = sorted_unique((doc.astype(np.uint64) << np.uint64(32)) | values.astype(np.uint64))
    docs = (key >> np.uint64(32)).astype(np.int64)
    return docs, (key & np.uint64(0xFFFFFFFF)).astype(np.uint32), np.bincount(docs, minlength=n)


def _per_doc_unique(doc: np.ndarray, values: np.ndarray, n: int) -> list[np.ndarray]:
    """The distinct ``values`` of each of ``n`` documents, sorted (uint32)."""
    _, vals, counts = _distinct(doc, values, n)
    return np.split(vals, np.cumsum(counts)[:-1])
