"""Run configuration: a TOML file (``configs/default.toml``) read into typed,
frozen settings. Unknown keys are an error, so a typo never silently falls
back to a default."""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from cleaners.boilerplate import RuleSet
from cleaners.dedup import DedupParams

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "configs" / "default.toml"


@dataclass(frozen=True)
class RunSettings:
    shard_size: int = 2000
    executor: str = "processes"
    workers: int = 0
    task_runner: str = "thread"
    dask_address: str = ""


@dataclass(frozen=True)
class InputSettings:
    max_file_bytes: int = 50_000_000
    max_title_words: int = 30


@dataclass(frozen=True)
class BoilerplateSettings:
    rules: str = "rules.toml"
    learn: bool = True
    learn_min_articles: int = 3
    learn_min_share: float = 0.2
    learn_sample_articles: int = 20000
    steps: tuple[str, ...] = ("sections", "rules", "learned", "classifier", "lead", "offtopic")
    offtopic_max_shared: float | bool = 0.14
    model: str = "boilerplate-model.json"
    classifier_threshold: float = 0.975


@dataclass(frozen=True)
class LanguageSettings:
    prefix_chars: int = 500
    fast_prefix_chars: int = 300
    fast_min_prob: float | bool = 0.9
    keep: tuple[str, ...] = ()


@dataclass(frozen=True)
class QualitySettings:
    min_words: int = 50
    max_furniture_share: float | bool = 0.8
    min_sentences: int = 2


@dataclass(frozen=True)
class DedupSettings:
    enabled: bool = True
    num_perm: int = 128
    shingle_size: int = 3
    lsh_threshold: float = 0.3
    min_jaccard: float = 0.5
    min_containment: float = 0.8
    min_shingles: int = 20

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
    examples: int = 5
    top_removed_lines: int = 20


@dataclass(frozen=True)
class ScheduleSettings:
    """Used by ``newsclean serve`` when the command line gives no schedule.
    Not part of the config hash: when a run happens does not change what it
    writes."""

    cron: str = ""
    interval_seconds: float = 0
    timezone: str = "UTC"
    deployment: str = "nightly"


# ---- formats (issue #12): [extract] and [output] ---------------------------
# Kept together so the typed-schema port can move them as one block.


@dataclass(frozen=True)
class ExtractSettings:
    """HTML extraction (trafilatura), see pipelines/formats/extract.py."""

    favor: str = "balanced"  # "precision" | "recall" | "balanced"
    include_tables: bool = True
    include_comments: bool = False
    time_limit: float = 30.0  # seconds of CPU per page; 0 = none
    # A shard holds at most this many HTML pages (extraction costs ~100x
    # the cleaning of a text, so shards of pages are smaller).
    shard_pages: int = 50

    def extractor(self):
        from .formats.extract import Extractor

        return Extractor(self.favor, self.include_tables, self.include_comments, self.time_limit)


@dataclass(frozen=True)
class OutputSettings:
    """Which writers write the corpus, see pipelines/formats/writers.py.
    Not part of the config hash: the rows are the same in every format."""

    formats: tuple[str, ...] = ("jsonl",)

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
        the shipped configs (a config of one's own keeps the trained model)."""
        beside = (Path(self.path).parent / self.boilerplate.model).resolve() if self.path else None
        if beside is not None and beside.exists():
            return beside
        return (DEFAULT_CONFIG.parent / self.boilerplate.model).resolve()

    def ruleset(self) -> RuleSet:
        return RuleSet.from_config(self.rules)

    def digest(self) -> str:
        """Hash of everything that affects the output (not the file path)."""
        d = asdict(self)
        d.pop("path")
        d.pop("schedule")
        d.pop("output")
        if "classifier" in self.boilerplate.steps:
            # The model decides as much as the rules: its bytes are config.
            d["model_sha256"] = _file_digest(self.model_path())
        return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def with_overrides(self, **sections: dict[str, Any]) -> "Config":
        """A copy with some keys of some sections replaced (used by the CLI
        and by benchmarks, e.g. ``with_overrides(dedup={"enabled": False})``)."""
        kwargs = {f.name: getattr(self, f.name) for f in fields(self)}
        for name, values in sections.items():
            kwargs[name] = _build(type(kwargs[name]), {**asdict(kwargs[name]), **values}, name)
        return Config(**kwargs)


def _file_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _build(cls, values: dict[str, Any], section: str):
    known = {f.name for f in fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"unknown key(s) in [{section}]: {', '.join(sorted(unknown))}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return cls(**values)


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


def load_config(path: str | Path | None = None) -> Config:
    path = Path(path) if path else DEFAULT_CONFIG
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    unknown = set(raw) - set(_SECTIONS)
    if unknown:
        raise ValueError(f"{path}: unknown section(s): {', '.join(sorted(unknown))}")
    sections = {name: _build(cls, raw.get(name, {}), name) for name, cls in _SECTIONS.items()}
    rules_path = (path.parent / sections["boilerplate"].rules).resolve()
    with open(rules_path, "rb") as fh:
        rules = tomllib.load(fh)
    return Config(**sections, rules=rules, path=str(path))
