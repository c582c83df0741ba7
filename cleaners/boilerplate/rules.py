"""Rules as data: regexes from ``configs/rules.toml``, generic and per site.

Kinds of rule (the file's header documents them for editors):

* ``line``: a whole line matching is removed (``max_words``, ``where``);
* ``section_end``: a line that opens a trailing block of links or teasers; it
  and everything after it go, when it lies in the article's last ``tail_share``;
* ``prefix``: text glued to the start of the lead (datelines);
* ``suffix``: text glued to the end of a line (tweet attributions, end marks).

Rules are the high-precision part of the cleaner: they run before the block
classifier, and what they remove is never reconsidered. :func:`load` checks
the whole file: an unknown key, a value of the wrong type or out of range, a
reason code the registry does not know or a pattern that does not compile is
an error that names the place, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate
from typing import Any

import regex

from ..reasons import REMOVAL_REASONS
from .blocks import Blocks
from .features import FeaturePatterns, is_title_line
from .offtopic import OfftopicParams
from .page import PageParams

FLAGS = regex.IGNORECASE | regex.UNICODE | regex.V0
KINDS = ("line", "section_end", "prefix", "suffix")
PLACES = ("any", "head", "tail", "edge", "first", "last")


@dataclass(frozen=True, slots=True)
class Rule:
    kind: str  # one of KINDS
    reason: str
    pattern: regex.Pattern
    max_words: int | None = None
    where: str = "any"  # one of PLACES
    # section_end only: how far from the end the section may open (default:
    # the rule set's tail_share); comment threads can be longer than the story.
    tail_share: float | None = None
    # line only: the rule may take a line of the article's protected body
    # (guard "convention"): for conventions shaped like a sentence
    # (cookie notices, widget code) at precision 0.99, which
    # benchmarks/rule_precision.py prints. Other rules pass "outside_body".
    in_body: bool = False
    # line only: the rule may take a line of the protected body when that
    # line ends the body (guard "body_end"): nothing of the body it leaves
    # kept comes after it. For what articles sign off with (author contact,
    # newsletter offers), whose words are sentences an article may also
    # use in its middle ("affiliate links", "newsletters").
    body_end: bool = False
    # section_end only: the section's own lines read as prose (a comment
    # thread), so prose after its opening line is not the article going on
    # unless it is a run of the body's size. A section of headlines (related
    # links) takes no line of the body at all.
    prose_section: bool = False
    # Where the rule was written ("rules.toml [[line]] #3"), so that a
    # removal can be traced to its rule (benchmarks/rule_precision.py).
    name: str = ""


@dataclass(frozen=True, slots=True)
class Settings:
    edge_lines: int = field(default=4, metadata={"min": 1})
    tail_share: float = field(default=0.4, metadata={"min": 0.0, "max": 1.0})
    # Suffix rules look at this many characters at the end of a line: a
    # glued attribution is short, and a search from every position of a
    # long paragraph is most of what suffix rules cost.
    suffix_chars: int = field(default=200, metadata={"min": 1})
    # A trailing section opens only after this many lines of prose.
    section_min_prose: int = field(default=2, metadata={"min": 0})


@dataclass(slots=True)
class RuleSet:
    """Generic rules plus per-site rules, compiled once per process, and the
    parameters of the other steps that ``rules.toml`` holds."""

    rules: list[Rule]
    sites: dict[str, list[Rule]] = field(default_factory=dict)
    settings: Settings = field(default_factory=Settings)
    offtopic: OfftopicParams = field(default_factory=OfftopicParams)
    page: PageParams | None = None
    # The block classifier's pattern features ([classifier] patterns).
    patterns: FeaturePatterns = field(default_factory=lambda: FeaturePatterns((), ()))

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> "RuleSet":
        return load(cfg)

    def for_source(self, source: str | None) -> list[Rule]:
        if source and source in self.sites:
            return self.sites[source] + self.rules
        return self.rules

    # The settings, read where the rules are applied.
    @property
    def edge_lines(self) -> int:
        return self.settings.edge_lines

    def furniture(self, line: str, source: str | None = None) -> str | None:
        """The reason of the first [[line]] rule that takes ``line`` standing
        first in an article ("Skip to main content", "Home", "Share", a date
        alone), or None: such a line is the page's furniture, never its
        headline (:func:`cleaners.chain.split_title`)."""
        words = len(line.split())
        for rule in self.for_source(source):
            # The first line of an article of more lines: never its tail.
            if (rule.kind == "line" and rule.where in ("any", "first", "head", "edge")
                    and (rule.max_words is None or words <= rule.max_words) and rule.pattern.search(line)):
                return rule.reason
        return None


# --------------------------------------------------------------------------
# Loading and checking rules.toml


class RulesError(ValueError):
    """rules.toml holds something the cleaner cannot use."""


_RULE_KEYS = {"reason": str, "pattern": str, "max_words": int, "where": str, "tail_share": float, "case_sensitive": bool,
              "in_body": bool, "body_end": bool, "prose_section": bool}
_SECTIONS = ("settings", *KINDS, "sites", "offtopic", "page", "classifier")


def load(cfg: Mapping[str, Any]) -> RuleSet:
    """Check and compile a parsed ``rules.toml``."""
    _unknown(cfg, _SECTIONS, "rules.toml")
    sites = cfg.get("sites", {})
    if not isinstance(sites, Mapping):
        raise RulesError(f"[sites] must be a table of per-site rule tables, not {sites!r}")
    off = dict(cfg.get("offtopic", {}))
    if "stopwords" in off:
        if not isinstance(off["stopwords"], str):
            raise RulesError(f"[offtopic] stopwords must be a string of words separated by spaces, not {off['stopwords']!r}")
        off["stopwords"] = frozenset(off["stopwords"].split())
    page = typed(PageParams, cfg["page"], "[page]") if "page" in cfg else None
    clf = cfg.get("classifier", {})
    _unknown(clf, ("patterns",), "[classifier]")
    patterns = clf.get("patterns", {})
    if not isinstance(patterns, Mapping):
        raise RulesError("[classifier] patterns must be a table of name = 'regex'")
    for name, src in patterns.items():
        _check_type(src, str, f"[classifier] patterns.{name}")
        try:
            regex.compile(src, regex.MULTILINE)
        except regex.error as exc:
            raise RulesError(f"[classifier] patterns.{name}: pattern does not compile ({exc}): {src!r}") from None
    return RuleSet(
        rules=_parse_rules(cfg, "rules.toml"),
        sites={name: _parse_rules(section, f"[sites.{name!r}]") for name, section in sites.items()},
        settings=typed(Settings, cfg.get("settings", {}), "[settings]"),
        offtopic=typed(OfftopicParams, off, "[offtopic]"),
        page=page if page is not None and page.enabled else None,
        patterns=FeaturePatterns.from_config(patterns),
    )


def _parse_rules(section: Mapping[str, Any], where: str) -> list[Rule]:
    if not isinstance(section, Mapping):
        raise RulesError(f"{where} must be a table, not {section!r}")
    if where != "rules.toml":
        _unknown(section, KINDS, where)
    out = []
    for kind in KINDS:
        entries = section.get(kind, [])
        if not isinstance(entries, list):
            raise RulesError(f"{where} [[{kind}]] must be an array of tables")
        for n, d in enumerate(entries, 1):
            out.append(_rule(kind, d, f"{where} [[{kind}]] #{n}"))
    return out


def _rule(kind: str, d: Any, where: str) -> Rule:
    if not isinstance(d, Mapping):
        raise RulesError(f"{where} must be a table, not {d!r}")
    _unknown(d, _RULE_KEYS, where)
    for key, typ in _RULE_KEYS.items():
        if key in d:
            _check_type(d[key], typ, f"{where} {key}")
    for key in ("reason", "pattern"):
        if key not in d:
            raise RulesError(f"{where}: '{key}' is required")
    if d["reason"] not in REMOVAL_REASONS:
        raise RulesError(f"{where}: reason {d['reason']!r} is not a registered removal reason "
                         f"(cleaners/reasons.py): {', '.join(sorted(REMOVAL_REASONS))}")
    place = d.get("where", "any")
    if place not in PLACES:
        raise RulesError(f"{where}: where = {place!r}; allowed: {', '.join(PLACES)}")
    if "tail_share" in d and (kind != "section_end" or not 0 < d["tail_share"] <= 1):
        raise RulesError(f"{where}: tail_share = {d['tail_share']!r} (only for [[section_end]], in (0, 1])")
    for key in ("in_body", "body_end"):
        if d.get(key) and kind != "line":
            raise RulesError(f"{where}: {key} is only for [[line]] rules")
    if d.get("in_body") and d.get("body_end"):
        raise RulesError(f"{where}: in_body and body_end exclude each other (in_body already takes any line)")
    if d.get("prose_section") and kind != "section_end":
        raise RulesError(f"{where}: prose_section is only for [[section_end]] rules")
    if "max_words" in d and d["max_words"] < 1:
        raise RulesError(f"{where}: max_words = {d['max_words']!r} must be at least 1")
    # Patterns that rely on capitals (city datelines) must say so: under
    # IGNORECASE, \p{Lu} matches any letter.
    flags = FLAGS & ~regex.IGNORECASE if d.get("case_sensitive") else FLAGS
    try:
        pattern = regex.compile(d["pattern"], flags)
    except regex.error as exc:
        raise RulesError(f"{where}: pattern does not compile ({exc}): {d['pattern']!r}") from None
    return Rule(kind, d["reason"], pattern, d.get("max_words"), place, d.get("tail_share"), d.get("in_body", False),
                d.get("body_end", False), d.get("prose_section", False), where)


def _unknown(d: Mapping[str, Any], known, where: str) -> None:
    extra = sorted(set(d) - set(known))
    if extra:
        raise RulesError(f"{where}: unknown key(s) {', '.join(map(repr, extra))}; allowed: {', '.join(sorted(known))}")


def _check_type(value: Any, typ, where: str) -> None:
    ok = {
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, (int, float)) and not isinstance(value, bool),
        bool: isinstance(value, bool),
        str: isinstance(value, str),
    }.get(typ)
    if ok is None:  # tuple[str, ...]
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    if not ok:
        name = getattr(typ, "__name__", "list of strings")
        raise RulesError(f"{where} = {value!r}: must be {'a number' if typ is float else name}")


def typed(cls, values: Mapping[str, Any], where: str):
    """An instance of the dataclass ``cls`` from ``values``, every key known,
    every value of its field's type and within its ``min``/``max`` metadata."""
    if not isinstance(values, Mapping):
        raise RulesError(f"{where} must be a table, not {values!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    _unknown(values, fields, where)
    hints = _hints(cls)
    out = {}
    for key, value in values.items():
        typ = hints[key]
        if typ not in (int, float, bool, str, frozenset[str]):
            typ = tuple
        if typ != frozenset[str]:
            _check_type(value, typ, f"{where} {key}")
        lo, hi = fields[key].metadata.get("min"), fields[key].metadata.get("max")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            span = f"at least {lo}" if hi is None else f"between {lo} and {hi}"
            raise RulesError(f"{where} {key} = {value!r}: must be {span}")
        out[key] = tuple(value) if typ is tuple else value
    return cls(**out)


@lru_cache(maxsize=None)
def _hints(cls) -> dict[str, Any]:
    return typing.get_type_hints(cls)


# --------------------------------------------------------------------------
# Literal pre-checks
#
# A line rule is a regex searched in every line of every article, and most
# of the stage's cost was searches that find nothing in a paragraph of
# prose (an alternation under IGNORECASE is tried at every position). Many
# patterns cannot match without one of a few literal strings ("adsbygoogle",
# "gtag(", ...): a substring test for those, far cheaper than the search,
# skips the search when none is there. The literals are derived from the
# pattern, so a rule edited in rules.toml keeps a correct pre-check; a
# pattern the derivation does not fully understand gets none.

try:
    from re import _constants as _sre, _parser as _sre_parse
except ImportError:  # pragma: no cover - Python before 3.11
    import sre_constants as _sre  # type: ignore[no-redef]
    import sre_parse as _sre_parse  # type: ignore[no-redef]

# The characters outside ASCII that the regex engine's IGNORECASE matches to
# an ASCII letter (I, i, s, k); tests/test_rule_prefilter.py derives them.
FOLDS_TO_ASCII = frozenset("\u0130\u0131\u017f\u212a")
_QUANTIFIER = re.compile(r"\{\d*(,\d*)?\}")
_REPEATS = tuple(op for op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, getattr(_sre, "POSSESSIVE_REPEAT", None)) if op)


class _Unsure(Exception):
    pass


def required_literals(pattern: str) -> frozenset[str] | None:
    """Strings of which every match of ``pattern`` contains at least one
    (case as written), or None when none can be named: a pattern with
    syntax the stdlib parser would read otherwise than the regex engine
    (POSIX classes, fuzzy matching, scoped flags, back references), or a
    branch with no literal."""
    if "[[" in pattern or "[:" in pattern:
        return None
    for m in re.finditer(r"(\\*)\{", pattern):
        if len(m.group(1)) % 2 == 0 and not _QUANTIFIER.match(pattern, m.end() - 1):
            return None  # a literal brace to re, fuzzy matching to regex
    try:
        tree = _sre_parse.parse(pattern)
        if tree.state.flags & ~_sre.SRE_FLAG_UNICODE:
            return None
        found = _seq_literals(list(tree))
    except (_Unsure, re.error, RecursionError, ValueError, TypeError):
        return None
    if not found or any(c in FOLDS_TO_ASCII for lit in found for c in lit):
        return None
    return frozenset(found)


def _seq_literals(items: list) -> set[str] | None:
    """Of a sequence: the literal alternatives whose shortest string is
    longest among its runs of literal characters and its items' own."""
    options: list[set[str]] = []
    run: list[str] = []
    for op, av in items:
        if op is _sre.LITERAL:
            run.append(chr(av))
            continue
        if op is _sre.AT:  # ^, $, \b: zero width, the run goes on
            continue
        if run:
            options.append({"".join(run)})
            run = []
        got = _item_literals(op, av)
        if got:
            options.append(got)
    if run:
        options.append({"".join(run)})
    return max(options, key=lambda o: (min(map(len, o)), -len(o)), default=None)


def _item_literals(op, av) -> set[str] | None:
    if op is _sre.SUBPATTERN:
        _, add, remove, sub = av
        if add or remove:
            raise _Unsure
        return _seq_literals(list(sub))
    if op is _sre.BRANCH:
        out: set[str] = set()
        for alt in av[1]:
            got = _seq_literals(list(alt))
            if not got:
                return None
            out |= got
        return out
    if op in _REPEATS:
        low, _, sub = av
        return _seq_literals(list(sub)) if low >= 1 else None
    if op in (_sre.GROUPREF, _sre.GROUPREF_EXISTS):
        raise _Unsure
    return None


def _precheck(rule: Rule) -> tuple[Rule, tuple[str, ...] | None, bool, bool]:
    """(rule, its literals, whether they are compared case-folded, whether
    they are all ASCII), literals lowercased for an IGNORECASE rule."""
    lits = required_literals(rule.pattern.pattern)
    fold = bool(rule.pattern.flags & regex.IGNORECASE)
    if lits is None:
        return rule, None, fold, True
    if fold:
        lits = frozenset(lit.lower() for lit in lits)
    return rule, tuple(sorted(lits)), fold, all(lit.isascii() for lit in lits)


def _lowered(line: str) -> tuple[str | None, str | None]:
    """The line lowercased for literal tests of IGNORECASE rules: (for
    rules with ASCII literals only, for any rule); None where ``str.lower``
    could disagree with the regex engine's case folding."""
    if line.isascii():
        low = line.lower()
        return low, low
    if FOLDS_TO_ASCII.isdisjoint(line):
        # A literal of non-ASCII letters can be matched case-insensitively
        # by letters str.lower does not map onto it (σ and ς): those rules
        # search as before.
        return line.lower(), None
    return None, None


# --------------------------------------------------------------------------
# The steps


def _in_place(rule: Rule, pos: int, n: int, edge: int) -> bool:
    if rule.where == "any":
        return True
    if rule.where == "first":
        return pos == 0
    if rule.where == "last":
        return pos == n - 1
    head, tail = pos < edge, pos >= n - edge
    return head if rule.where == "head" else tail if rule.where == "tail" else head or tail


class _RuleStep:
    """Rules of some kinds, for the article's source (site rules first)."""

    KINDS: tuple[str, ...] = ()

    def __init__(self, rules: RuleSet):
        self.rules = rules
        self._by_source: dict[str | None, tuple[list, ...]] = {}

    def _for(self, source: str | None) -> tuple[list[Rule], ...]:
        key = source if source in self.rules.sites else None
        split = self._by_source.get(key)
        if split is None:
            split = self._by_source[key] = self._arrange(self.rules.for_source(key))
        return split

    def _arrange(self, rules: list[Rule]) -> tuple[list, ...]:
        """What a step keeps per source, built once: its rules by kind."""
        return tuple([r for r in rules if r.kind == k] for k in self.KINDS)


class SectionStep(_RuleStep):
    """What hangs off the end: suffixes glued to a line (tweet attributions,
    end marks) and trailing sections of links or comments, from their
    opening line on. Runs before page trimming, where "the end" is the end
    of what the scraper handed over. A section cuts only after the
    article's body, never across it (guard ``after_body``): a "Comment"
    link or "prev next" above a story opens no thread; a refused cut is
    counted in ``Blocks.refused``."""

    name = "sections"
    KINDS = ("suffix", "section_end")

    def __call__(self, b: Blocks) -> None:
        suffixes, sections = self._for(b.source)
        s = self.rules.settings
        lines = b.lines
        live = b.live()
        for rule in suffixes:
            for i in live:
                m = rule.pattern.search(lines[i], max(0, len(lines[i]) - s.suffix_chars))
                if m and m.start() > 0:
                    b.trim(i, m.start(), len(lines[i]), rule.reason, by=rule.name)
        n = len(live)
        if not sections or not n:
            return
        # A trailing section ends an article: it opens only after some prose
        # (a "Comment" share link above a story does not open a thread).
        flags = b.prose()
        prose = list(accumulate((flags[i] for i in live), initial=0))
        for rule in sections:
            share = s.tail_share if rule.tail_share is None else rule.tail_share
            for pos, i in enumerate(live):
                if pos >= n * (1 - share) and prose[pos] >= s.section_min_prose and rule.pattern.search(lines[i]):
                    # After the article's main run; and a section of
                    # headlines takes no line of the body either (an article
                    # that goes on after a "Related" box).
                    if not b.body_before(live, pos) or (not rule.prose_section and not b.body.isdisjoint(live[pos:])):
                        b.refused[rule.reason] += 1
                        continue
                    for j in live[pos:]:
                        b.remove(j, rule.reason, "after_body", by=rule.name)
                    break


class RuleStep(_RuleStep):
    """Title lines and line rules; positions (``where``) count the lines
    still kept, so after page trimming they are the article's own."""

    name = "rules"
    KINDS = ("line",)

    def _arrange(self, rules: list[Rule]) -> tuple[list, ...]:
        """The line rules with their literal pre-checks (:func:`_precheck`)."""
        (line_rules,) = super()._arrange(rules)
        return ([_precheck(r) for r in line_rules],)

    def __call__(self, b: Blocks) -> None:
        (checks,) = self._for(b.source)
        lines = b.lines
        live = b.live()
        n, edge, title = len(live), self.rules.settings.edge_lines, b.title
        ending: dict[int, Rule] = {}  # body lines a body_end rule matched
        for pos, i in enumerate(live):
            line = lines[i]
            if title and pos < edge and len(line) <= 2 * len(title) + 20 and is_title_line(line, title):
                b.remove(i, "title", "title")
                continue
            nw = len(line.split())
            lowered = None
            for rule, lits, fold, ascii_lits in checks:
                if rule.max_words is not None and nw > rule.max_words:
                    continue
                if not _in_place(rule, pos, n, edge):
                    continue
                if lits is not None:
                    if not fold:
                        text = line
                    else:
                        if lowered is None:
                            lowered = _lowered(line)
                        text = lowered[0] if ascii_lits else lowered[1]
                    if text is not None and not any(lit in text for lit in lits):
                        continue  # none of the strings every match holds
                if rule.pattern.search(line):
                    if rule.body_end and i in b.body:
                        ending[i] = rule
                    else:
                        b.remove(i, rule.reason, "convention" if rule.in_body else "outside_body", by=rule.name)
                    break
        if ending:
            _remove_body_end(b, ending)


def _remove_body_end(b: Blocks, ending: dict[int, Rule]) -> None:
    """Remove the protected lines a ``body_end`` rule matched that end the
    body: walking back from the last line, body lines already removed or
    matched are the sign-off; the first kept body line that is neither is
    the article, and it and everything before it stay (counted as refused)."""
    body, removed = b.body, b.removed
    at_end = True
    for i in reversed(b.nonblank):
        if i not in body or i in removed:
            continue
        rule = ending.get(i)
        if rule is None:
            at_end = False
        elif at_end:
            b.remove(i, rule.reason, "body_end", by=rule.name)
        else:
            b.refused[rule.reason] += 1


class LeadStep:
    """A dateline glued to the first sentence ("PORTVILLE (Northwire) - The
    council ..."), trimmed off the first line still kept: bylines and
    dateline lines above it are gone by then."""

    name = "lead"

    def __init__(self, rules: RuleSet):
        self.rules = rules

    def __call__(self, b: Blocks) -> None:
        live = b.live()
        if not live:
            return
        first = live[0]
        for rule in self.rules.for_source(b.source):
            if rule.kind == "prefix":
                m = rule.pattern.search(b.lines[first])
                if m and m.end() < len(b.lines[first]):
                    b.trim(first, 0, m.end(), rule.reason, by=rule.name)
