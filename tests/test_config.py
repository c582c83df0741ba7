"""The run configuration is validated whole at load: every bad value is an
error naming the key, the value and what is allowed, never a silent
fallback or a failure mid-run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipelines.config import DEFAULT_CONFIG, ConfigError, load_config


def _write(tmp_path: Path, body: str) -> Path:
    shutil.copy(DEFAULT_CONFIG.parent / "rules.toml", tmp_path / "rules.toml")
    path = tmp_path / "run.toml"
    path.write_text(body, encoding="utf-8")
    return path


# (TOML, words the message must hold: the section and key, the value, what is allowed)
BAD = [
    ('[language]\nkeep = "en"', ["[language] keep", '"en"', 'keep = ["en"]']),
    ('[language]\nkeep = ["en", "english"]', ["[language] keep", '"english"', "'de'"]),
    ('[language]\nkeep = ["en", "en"]', ["[language] keep", "more than once"]),
    ('[dedup]\nenabled = "no"', ["[dedup] enabled", '"no"', "boolean"]),
    ('[dedup]\nenabled = 0', ["[dedup] enabled", "= 0", "boolean"]),
    ("[run]\nshard_size = -5", ["[run] shard_size", "-5", "greater than or equal to 1"]),
    ("[run]\nshard_size = 0", ["[run] shard_size", "= 0", "greater than or equal to 1"]),
    ('[run]\nshard_size = "2000"', ["[run] shard_size", '"2000"', "integer"]),
    ("[run]\nshard_size = [2000]", ["[run] shard_size", "[2000]", "integer"]),
    ("[run]\nshard_size = 2000.5", ["[run] shard_size", "2000.5", "integer"]),
    ('[run]\nexecutor = "threads"', ["[run] executor", '"threads"', "'processes' or 'prefect'"]),
    ('[run]\ntask_runner = "ray"', ["[run] task_runner", '"ray"', "'dask'"]),
    ("[run]\nworkers = -1", ["[run] workers", "-1", "greater than or equal to 0"]),
    ("[run]\nshardsize = 10", ["[run] shardsize", "unknown key", "shard_size"]),
    ("[dedup]\nmin_jaccard = 5.0", ["[dedup] min_jaccard", "5.0", "less than or equal to 1"]),
    ("[dedup]\nmin_containment = -0.1", ["[dedup] min_containment", "-0.1", "greater than or equal to 0"]),
    ("[dedup]\nlsh_threshold = -1", ["[dedup] lsh_threshold", "-1", "greater than 0"]),
    ("[dedup]\nnum_perm = 0", ["[dedup] num_perm", "= 0", "greater than or equal to 2"]),
    ('[dedup]\nshingle_size = "3"', ["[dedup] shingle_size", '"3"', "integer"]),
    ("[quality]\nmax_furniture_share = 1.5", ["[quality] max_furniture_share", "1.5", "less than or equal to 1", "False"]),
    ("[quality]\nmin_words = -3", ["[quality] min_words", "-3", "greater than or equal to 0"]),
    ("[language]\nfast_min_prob = true", ["[language] fast_min_prob", "true", "False"]),
    ("[language]\nprefix_chars = 0", ["[language] prefix_chars", "= 0", "greater than or equal to 1"]),
    ('[boilerplate]\nsteps = ["rules", "rulez"]', ["[boilerplate] steps", '"rulez"', "'offtopic'"]),
    ('[boilerplate]\nsteps = "rules"', ["[boilerplate] steps", '"rules"', 'steps = ["rules"]']),
    ("[boilerplate]\nlearn_min_share = 2", ["[boilerplate] learn_min_share", "= 2", "less than or equal to 1"]),
    ('[boilerplate]\nlearn = "yes"', ["[boilerplate] learn", '"yes"', "boolean"]),
    ('[boilerplate]\nrules = "missing.toml"', ["[boilerplate] rules", '"missing.toml"', "cannot read"]),
    ('[schedule]\ntimezone = "Mars/Olympus"', ["[schedule] timezone", '"Mars/Olympus"', "time zone"]),
    ("[schedule]\ninterval_seconds = -60", ["[schedule] interval_seconds", "-60", "greater than or equal to 0"]),
    ("[report]\nexamples = 2.5", ["[report] examples", "2.5", "integer"]),
    ("[dedupe]\nenabled = false", ["[dedupe]", "unknown section", "dedup"]),
    ("run = 5", ["[run]", "table"]),
    ("[run\nshard_size = 1", ["not valid TOML"]),
]


@pytest.mark.parametrize("body,words", BAD, ids=[b.split("\n")[-1][:40] for b, _ in BAD])
def test_a_bad_value_is_refused_at_load_naming_key_value_and_what_is_allowed(tmp_path, body, words):
    path = _write(tmp_path, body)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    msg = str(err.value)
    assert str(path) in msg
    for w in words:
        assert w in msg, f"{w!r} not in {msg!r}"


def test_every_problem_is_reported_at_once(tmp_path):
    path = _write(tmp_path, '[run]\nshard_size = 0\nexecutor = "x"\n[dedup]\nenabled = "no"\nmin_jaccard = 7\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    msg = str(err.value)
    assert "4 configuration problems" in msg
    for key in ("[run] shard_size", "[run] executor", "[dedup] enabled", "[dedup] min_jaccard"):
        assert key in msg


GOOD = [
    ('[language]\nkeep = ["en"]', lambda c: c.language.keep == ("en",)),
    ('[language]\nkeep = ["zh-cn", "de"]', lambda c: c.language.keep == ("zh-cn", "de")),
    ("[dedup]\nenabled = false", lambda c: c.dedup.enabled is False),
    ("[dedup]\nmin_jaccard = 1", lambda c: c.dedup.min_jaccard == 1.0),
    ("[quality]\nmax_furniture_share = false", lambda c: c.quality.max_furniture_share is False),
    ("[language]\nfast_min_prob = false", lambda c: c.language.fast_min_prob is False),
    ("[run]\nshard_size = 1", lambda c: c.run.shard_size == 1),
    ('[boilerplate]\nsteps = ["rules", "lead"]', lambda c: c.boilerplate.steps == ("rules", "lead")),
    ('[schedule]\ntimezone = "Europe/Berlin"', lambda c: c.schedule.timezone == "Europe/Berlin"),
]


@pytest.mark.parametrize("body,check", GOOD, ids=[b.replace("\n", " ")[:40] for b, _ in GOOD])
def test_good_values_load_as_their_types(tmp_path, body, check):
    assert check(load_config(_write(tmp_path, body)))


def test_the_default_file_is_exactly_the_defaults():
    from pipelines.config import Config

    cfg = load_config()
    assert cfg.language.keep == () and cfg.dedup.enabled is True
    for name in ("run", "input", "boilerplate", "language", "quality", "dedup", "report"):
        assert getattr(cfg, name) == getattr(Config(), name), name


@pytest.mark.parametrize("overrides,words", [
    ({"dedup": {"enabled": "no"}}, ["[dedup] enabled", '"no"']),
    ({"run": {"shard_size": 0}}, ["[run] shard_size", "= 0"]),
    ({"run": {"nope": 1}}, ["[run] nope", "unknown key"]),
])
def test_overrides_are_validated_like_the_file(overrides, words):
    with pytest.raises(ConfigError) as err:
        load_config().with_overrides(**overrides)
    for w in words:
        assert w in str(err.value)


def test_a_bad_rules_file_is_refused_at_load_naming_the_file(tmp_path):
    path = _write(tmp_path, "")
    (tmp_path / "rules.toml").write_text('[[footer]]\npattern = "("\nreason = "footer"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "rules.toml" in str(err.value)


def test_the_cli_prints_the_problem_and_exits_2_without_a_traceback(tmp_path):
    import subprocess
    import sys

    path = _write(tmp_path, '[language]\nkeep = "en"\n')
    proc = subprocess.run([sys.executable, "-m", "pipelines.cli", "run", "--input", str(tmp_path), "--output", str(tmp_path / "out"),
                           "--config", str(path)], capture_output=True, text=True, timeout=120, cwd=DEFAULT_CONFIG.parent.parent)
    assert proc.returncode == 2, proc.stderr
    assert "[language] keep" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out" / "articles.jsonl").exists()
