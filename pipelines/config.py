"""Run configuration: a TOML file (``configs/default.toml``) read into typed,
frozen settings.

The whole file is validated at load, before any input is read (pydantic, in
strict mode over the dataclasses below): types, ranges, the allowed values of
every enumerated key, and unknown keys or sections. A typo never silently
falls back to a default, and a wrong type never fails mid-run: every error
names the file, the key, the value given and what is allowed, all of them at
once (:class:`ConfigError`). Strict means no coercion: ``enabled = "no"`` is
an error, not ``True``; ``keep = "en"`` is an error, not the languages
``e`` and ``n``. The rule file ``[boilerplate] rules`` names is checked by
:mod:`cleaners.boilerplate.rules` at the same time.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import asdict, dataclass, field, fields
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, ConfigDict, Field, Strict, TypeAdapter, ValidationError

from cleaners.boilerplate import RuleSet
from cleaners.dedup.params import DedupParams
from configs import shipped
from cleaners.language import LANGDETECT_LANGUAGES

from .errors import UserError

DEFAULT_CONFIG = shipped("default.toml")


class ConfigError(UserError, ValueError):
    """A configuration the pipeline cannot run with; the message lists every
    problem, one per line, each naming the key, the value and what is
    allowed."""


_STRICT = ConfigDict(extra="forbid")
# Strict types: TOML already has types, so a value of the wrong type is a
# mistake, never something to coerce ("no" is not false, "2000" not 2000).
Bool = Annotated[bool, Strict()]
Str = Annotated[str, Strict()]
Share = Annotated[float, Strict(), Field(ge=0.0, le=1.0)]
Positive = Annotated[int, Strict(), Field(ge=1)]
NonNegative = Annotated[int, Strict(), Field(ge=0)]
# Boilerplate step names (cleaners.boilerplate.Boilerplate builds them).
StepName = Literal["sections", "page", "rules", "learned", "lead", "offtopic", "classifier"]
# langdetect's codes (py3langid's "zh" is "zh-cn" / "zh-tw" there).
LanguageCode = Literal[tuple(sorted({*LANGDETECT_LANGUAGES, "zh-cn", "zh-tw"} - {"zh"}))]  # type: ignore[valid-type]


def _unique(values: tuple) -> tuple:
    dups = sorted({v for v in values if values.count(v) > 1})
    if dups:
        raise ValueError(f"names {', '.join(map(repr, dups))} more than once")
    return values


def _dask_address(address: str) -> str:
    # Checked here, not by distributed: a client it cannot build fails later
    # with a traceback of its own.
    if address and not re.fullmatch(r"((tcp|tls|ws|wss|ucx)://)?([^\s/:\[\]]+|\[[0-9a-fA-F:]+\])(:\d{1,5})?/?", address):
        raise ValueError("not a Dask scheduler address: write \"tcp://host:port\" (or tls://, ws://, wss://, ucx://), "
                         "or leave it empty for a local cluster")
    return address


def _time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("not a known IANA time zone (e.g. \"UTC\", \"Europe/Berlin\")") from None
    return name


@dataclass(frozen=True)
class RunSettings:
    __pydantic_config__ = _STRICT
    shard_size: Positive = 2000
    executor: Literal["processes", "prefect", "dask"] = "processes"
    workers: NonNegative = 0
    task_runner: Literal["thread", "process", "dask"] = "thread"
    dask_address: Annotated[str, Strict(), AfterValidator(_dask_address)] = ""


@dataclass(frozen=True)
class InputSettings:
    __pydantic_config__ = _STRICT
    max_file_bytes: Positive = 50_000_000
    max_title_words: NonNegative = 30


@dataclass(frozen=True)
class BoilerplateSettings:
    __pydantic_config__ = _STRICT
    rules: Annotated[str, Strict(), Field(min_length=1)] = "rules.toml"
    learn: Bool = True
    learn_min_articles: Positive = 3
    learn_min_share: Share = 0.2
    steps: Annotated[tuple[StepName, ...], AfterValidator(_unique)] = ("sections", "rules", "learned", "classifier", "lead", "offtopic")
    offtopic_max_shared: Share | Literal[False] = 0.14
    model: Annotated[str, Strict(), Field(min_length=1)] = "boilerplate-model.json"
    # None: the model file's own threshold, chosen by its training on
    # out-of-fold scores; a number trades removal against content kept.
    classifier_threshold: Share | None = None
    # The off-topic step's learned decision for full-size paragraphs
    # (configs/offtopic-model.json, trained by make train-offtopic); false:
    # the [offtopic] rules decide every paragraph.
    offtopic_model: Annotated[str, Strict(), Field(min_length=1)] | Literal[False] = "offtopic-model.json"
    # Opt-in per-site rule files (configs/sites/<source>.toml): rules that
    # match one site's text, applied to that source only.
    site_rules: Annotated[tuple[Annotated[str, Strict(), Field(min_length=1)], ...], AfterValidator(_unique)] = ()


@dataclass(frozen=True)
class LanguageSettings:
    __pydantic_config__ = _STRICT
    prefix_chars: Positive = 500
    fast_prefix_chars: Positive = 300
    fast_min_prob: Share | Literal[False] = 0.9
    keep: Annotated[tuple[LanguageCode, ...], AfterValidator(_unique)] = ()


@dataclass(frozen=True)
class QualitySettings:
    __pydantic_config__ = _STRICT
    min_words: NonNegative = 50
    max_furniture_share: Share | Literal[False] = 0.8
    min_sentences: NonNegative = 2


@dataclass(frozen=True)
class DedupSettings:
    """The [dedup] keys; their defaults are cleaners.dedup.DedupParams'."""

    __pydantic_config__ = _STRICT
    enabled: Bool = True
    num_perm: Annotated[int, Strict(), Field(ge=2, le=1024)] = DedupParams.num_perm
    shingle_size: Annotated[int, Strict(), Field(ge=1, le=20)] = DedupParams.shingle_size
    # 0 would make every pair an LSH candidate; 1 only identical bands.
    lsh_threshold: Annotated[float, Strict(), Field(gt=0.0, le=1.0)] = DedupParams.lsh_threshold
    min_jaccard: Share = DedupParams.min_jaccard
    min_containment: Share = DedupParams.min_containment
    min_shingles: NonNegative = DedupParams.min_shingles

    def params(self) -> DedupParams:
        return DedupParams(
            num_perm=self.num_perm,
            shingle_size=self.shingle_size,
            lsh_threshold=self.lsh_threshold,
            min_jaccard=self.min_jaccard,
            min_containment=self.min_containment,
            min_shingles=self.min_shingles,
        )


@dataclass(frozen=True)
class ReportSettings:
    __pydantic_config__ = _STRICT
    examples: NonNegative = 5
    top_removed_lines: NonNegative = 20


@dataclass(frozen=True)
class ScheduleSettings:
    """Used by ``newsclean serve`` when the command line gives no schedule.
    Not part of the config hash: when a run happens does not change what it
    writes."""

    __pydantic_config__ = _STRICT
    cron: Str = ""
    interval_seconds: Annotated[float, Strict(), Field(ge=0)] = 0
    timezone: Annotated[str, Strict(), AfterValidator(_time_zone)] = "UTC"
    deployment: Annotated[str, Strict(), Field(min_length=1)] = "nightly"


# ---- formats (issue #12): [extract] and [output] ---------------------------
# Kept together so the typed-schema port can move them as one block.


@dataclass(frozen=True)
class ExtractSettings:
    """HTML extraction (trafilatura), see pipelines/formats/extract.py."""

    __pydantic_config__ = _STRICT
    favor: Literal["precision", "recall", "balanced"] = "balanced"
    include_tables: Bool = True
    include_comments: Bool = False
    time_limit: Annotated[float, Strict(), Field(ge=0.0)] = 30.0  # seconds of CPU per page; 0 = none
    # A shard holds at most this many HTML pages (extraction costs ~100x
    # the cleaning of a text, so shards of pages are smaller).
    shard_pages: Positive = 50

    def extractor(self):
        from .formats.extract import Extractor

        return Extractor(self.favor, self.include_tables, self.include_comments, self.time_limit)


@dataclass(frozen=True)
class OutputSettings:
    """Which writers write the corpus, see pipelines/formats/writers.py.
    Not part of the config hash: the rows are the same in every format."""

    __pydantic_config__ = _STRICT
    formats: Annotated[tuple[Literal["jsonl", "parquet"], ...], Field(min_length=1), AfterValidator(_unique)] = ("jsonl",)

    def __post_init__(self) -> None:
        from .formats.writers import WRITERS

        unknown = [f for f in self.formats if f not in WRITERS]
        if unknown or not self.formats:
            raise ValueError(f"[output] formats: unknown {unknown or 'empty list'}; known: {', '.join(WRITERS)}")


# ---- end of formats block ---------------------------------------------------


@dataclass(frozen=True)
class Config:
    run: RunSettings = field(default_factory=RunSettings)
    input: InputSettings = field(default_factory=InputSettings)
    boilerplate: BoilerplateSettings = field(default_factory=BoilerplateSettings)
    language: LanguageSettings = field(default_factory=LanguageSettings)
    quality: QualitySettings = field(default_factory=QualitySettings)
    dedup: DedupSettings = field(default_factory=DedupSettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    extract: ExtractSettings = field(default_factory=ExtractSettings)  # formats block
    output: OutputSettings = field(default_factory=OutputSettings)  # formats block
    # The rule set as loaded (data, so it is part of the config hash).
    rules: dict[str, Any] = field(default_factory=dict)
    path: str = ""

    def model_path(self) -> Path:
        """The block classifier's model file ([boilerplate] model): a
        relative path is looked up beside the configuration file, then among
        the shipped files (a config of one's own keeps the trained model)."""
        return _beside_or_shipped(Path(self.path) if self.path else DEFAULT_CONFIG, self.boilerplate.model)

    def offtopic_model_path(self) -> Path | None:
        """The off-topic model file ([boilerplate] offtopic_model), found as
        :meth:`model_path` finds the classifier's; None when switched off
        (``false``) or when the run has no off-topic step."""
        b = self.boilerplate
        if b.offtopic_model is False or "offtopic" not in b.steps or b.offtopic_max_shared is False:
            return None
        return _beside_or_shipped(Path(self.path) if self.path else DEFAULT_CONFIG, b.offtopic_model)

    def ruleset(self) -> RuleSet:
        return RuleSet.from_config(self.rules)

    def digest(self) -> str:
        """Hash of everything that affects the output (not the file path)."""
        d = asdict(self)
        d.pop("path")
        d.pop("schedule")
        d.pop("output")
        return self._hash_with_models(d)

    def cleaning_digest(self) -> str:
        """Hash of what decides how an article is cleaned and gated: the
        [input], [extract], [boilerplate], [language] and [quality]
        settings, the rules, the models' bytes and newsclean's version. An
        output folder's earlier articles stay as they were cleaned, so a
        run may add to a folder only under the digest its earlier runs had
        (:meth:`pipelines.store.State.check_cleaning`); how the run is
        executed, deduplicated, reported and written is not in it (every
        run deduplicates and writes all of the corpus again)."""
        d = {name: asdict(getattr(self, name)) for name in ("input", "extract", "boilerplate", "language", "quality")}
        # Files count by their content (the rules, site rules included, and
        # the models' bytes below), not by the names that find them.
        for name in ("rules", "model", "offtopic_model", "site_rules"):
            d["boilerplate"].pop(name)
        d["rules"] = self.rules
        d["version"] = _version()
        return self._hash_with_models(d)

    def _hash_with_models(self, d: dict) -> str:
        # The models decide as much as the rules: their bytes are config.
        if "classifier" in self.boilerplate.steps:
            d["model_sha256"] = _file_digest(self.model_path())
        if self.offtopic_model_path() is not None:
            d["offtopic_model_sha256"] = _file_digest(self.offtopic_model_path())
        return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def with_overrides(self, **sections: dict[str, Any]) -> "Config":
        """A copy with some keys of some sections replaced (used by the CLI
        and by benchmarks, e.g. ``with_overrides(dedup={"enabled": False})``),
        validated as the file is."""
        kwargs = {f.name: getattr(self, f.name) for f in fields(self)}
        problems: list[str] = []
        for name, values in sections.items():
            if name not in _SECTIONS:
                problems.append(f"[{name}]: unknown section; known sections: {', '.join(_SECTIONS)}")
                continue
            kwargs[name], errs = _validate(_SECTIONS[name], {**asdict(kwargs[name]), **values}, name)
            problems += errs
        _raise("configuration overrides", problems)
        return Config(**kwargs)


@cache
def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("newsclean")
    except PackageNotFoundError:  # run from a source tree that is not installed
        return "source"


def _beside_or_shipped(config: Path, name: str) -> Path:
    """A file a configuration names: an absolute path as it is; a relative
    one beside the configuration file, else among the shipped files (a copy
    of default.toml elsewhere still finds the rules and model it names),
    else beside the configuration (where the error message points)."""
    beside = (config.parent / name).resolve()
    if beside.exists():
        return beside
    fallback = shipped(name)
    return fallback.resolve() if fallback.exists() else beside


def _file_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


_SECTIONS = {
    "run": RunSettings,
    "input": InputSettings,
    "boilerplate": BoilerplateSettings,
    "language": LanguageSettings,
    "quality": QualitySettings,
    "dedup": DedupSettings,
    "report": ReportSettings,
    "schedule": ScheduleSettings,
    "extract": ExtractSettings,  # formats block
    "output": OutputSettings,  # formats block
}


@cache
def _adapter(cls) -> TypeAdapter:
    return TypeAdapter(cls)


def _show(value: Any) -> str:
    """A value as it would be written in TOML (near enough to recognise)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return repr(value)


def _messages(cls, section: str, values: dict[str, Any], exc: ValidationError) -> list[str]:
    known = ", ".join(f.name for f in fields(cls))
    out: list[str] = []
    by_key: dict[str, list[str]] = {}
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        key = loc[0] if loc else "?"
        if err["type"] in ("unexpected_keyword_argument", "extra_forbidden"):
            out.append(f"[{section}] {key}: unknown key; known keys: {known}")
            continue
        value = values.get(key, err.get("input"))
        msg = err["msg"].removeprefix("Value error, ").replace("Input should be", "must be")
        if key == "keep" and isinstance(value, str):
            msg = f"must be a list of language codes, e.g. keep = [{_show(value)}] (a string would be read letter by letter)"
        elif isinstance(value, str) and err["type"] in ("tuple_type", "list_type"):
            msg = f"must be a list, e.g. {key} = [{_show(value)}]"
        elif len(loc) > 1 and loc[1].isdigit():
            msg = f"item {int(loc[1]) + 1} ({_show(err.get('input'))}): {msg}"
        msgs = by_key.setdefault(key, [])
        if msg not in msgs:  # a union reports once per alternative: "... or ..."
            msgs.append(msg)
    for key, msgs in by_key.items():
        default = next((f.default for f in fields(cls) if f.name == key), None)
        out.append(f"[{section}] {key} = {_show(values.get(key))}: {' or '.join(msgs)} (default {_show(default)})")
    return out


def _validate(cls, values: Any, section: str) -> tuple[Any, list[str]]:
    """The section's settings, or None and the messages of what is wrong."""
    if not isinstance(values, dict):
        return None, [f"[{section}] must be a table of keys, not {_show(values)}"]
    # TOML arrays arrive as lists; the settings hold tuples (frozen, hashable).
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    try:
        return _adapter(cls).validate_python(values), []
    except ValidationError as exc:
        return None, _messages(cls, section, values, exc)


def _raise(where: str, problems: list[str]) -> None:
    if len(problems) == 1:
        raise ConfigError(f"{where}: {problems[0]}")
    if problems:
        raise ConfigError(f"{where}: {len(problems)} configuration problems:\n" + "\n".join(f"  {p}" for p in problems))


def load_config(path: str | Path | None = None) -> Config:
    """Read and validate a run configuration (and the rule file it names);
    raise :class:`ConfigError` listing every problem."""
    path = Path(path) if path else DEFAULT_CONFIG
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    problems = [f"[{name}]: unknown section; known sections: {', '.join(_SECTIONS)}" for name in sorted(set(raw) - set(_SECTIONS))]
    sections: dict[str, Any] = {}
    for name, cls in _SECTIONS.items():
        sections[name], errs = _validate(cls, raw.get(name, {}), name)
        problems += errs
    _raise(str(path), problems)
    rules_path = _beside_or_shipped(path, sections["boilerplate"].rules)
    try:
        with open(rules_path, "rb") as fh:
            rules = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"{path}: [boilerplate] rules = {_show(sections['boilerplate'].rules)}: "
                          f"cannot read {rules_path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{rules_path}: not valid TOML: {exc}") from None
    sites = dict(rules.get("sites", {}))
    for name in sections["boilerplate"].site_rules:
        site_path = _beside_or_shipped(path, name)
        try:
            with open(site_path, "rb") as fh:
                sites[site_path.name.removesuffix(".toml")] = tomllib.load(fh)
        except OSError as exc:
            raise ConfigError(f"{path}: [boilerplate] site_rules: cannot read {site_path}: {exc.strerror or exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{site_path}: not valid TOML: {exc}") from None
    if sites:
        rules = {**rules, "sites": sites}
    # Absolute: the files it names (the model) are found from it in worker
    # processes, which may run in another directory (a Dask cluster's).
    cfg = Config(**sections, rules=rules, path=str(path.absolute()))
    try:
        cfg.ruleset()  # rules.toml is checked by its own loader (cleaners.boilerplate.rules)
    except ValueError as exc:
        raise ConfigError(f"{rules_path}: {exc}") from None
    return cfg
