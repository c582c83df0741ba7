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
    ('[run]\nexecutor = "threads"', ["[run] executor", '"threads"', "'processes', 'prefect' or 'dask'"]),
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


def test_relative_paths_resolve_beside_the_config_file_not_where_it_runs(tmp_path, monkeypatch):
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "mine.toml").write_text('[[line]]\nreason = "footer"\npattern = "^Mine only$"\n', encoding="utf-8")
    (conf / "run.toml").write_text('[boilerplate]\nrules = "mine.toml"\n', encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "mine.toml").write_text("not toml [", encoding="utf-8")
    monkeypatch.chdir(elsewhere)
    cfg = load_config(Path("..") / "conf" / "run.toml")
    assert [r["pattern"] for r in cfg.rules["line"]] == ["^Mine only$"]
    # A model of one's own beside the file wins over the shipped one.
    assert cfg.model_path() == DEFAULT_CONFIG.parent / "boilerplate-model.json"
    (conf / "boilerplate-model.json").write_text("{}", encoding="utf-8")
    assert cfg.model_path() == (conf / "boilerplate-model.json").resolve()


def test_a_copy_of_the_default_config_elsewhere_finds_the_shipped_rules_and_model(tmp_path):
    shutil.copy(DEFAULT_CONFIG, tmp_path / "my.toml")
    cfg, default = load_config(tmp_path / "my.toml"), load_config()
    assert cfg.rules == default.rules and cfg.rules
    assert cfg.model_path() == default.model_path() == DEFAULT_CONFIG.parent / "boilerplate-model.json"
    assert cfg.digest() == default.digest()


def _refused(tmp_path: Path, *args: str) -> tuple[list[str], float]:
    """Run ``newsclean run ARGS``; its stderr lines and seconds, after
    checking that it exited 2 and created nothing."""
    import os
    import subprocess
    import sys
    import time

    before = sorted(tmp_path.rglob("*"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["NEWSCLEAN_HOME"] = str(tmp_path / "home")
    t = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "pipelines.cli", "run", *args], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path, env=env)
    took = time.monotonic() - t
    assert proc.returncode == 2, proc.stderr
    assert sorted(tmp_path.rglob("*")) == before
    return proc.stderr.splitlines(), took


REFUSALS = [
    ("missing input", ["--input", "no-such-folder", "--output", "out"], "input no-such-folder: no such file or folder"),
    ("output is a file", ["--input", "{raw}", "--output", "a-file"], "output a-file: exists and is not a folder"),
    ("output under a file", ["--input", "{raw}", "--output", "a-file/out"], "output a-file/out: cannot be created in a-file: not a folder"),
    ("output not writable", ["--input", "{raw}", "--output", "/proc/newsclean-out"], "output /proc/newsclean-out: cannot be created in /proc: not writable"),
    ("bad config", ["--input", "{raw}", "--output", "out", "--config", "bad.toml"], "bad.toml: [language] keep = \"en\": must be a list"),
    ("missing config", ["--input", "{raw}", "--output", "out", "--config", "none.toml"], "none.toml: cannot read the configuration"),
]


@pytest.mark.parametrize("case,args,line", REFUSALS, ids=[c for c, _, _ in REFUSALS])
def test_the_cli_refuses_before_starting_anything_in_one_line(tmp_path, case, args, line):
    from conftest import ROOT

    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    (tmp_path / "bad.toml").write_text('[language]\nkeep = "en"\n', encoding="utf-8")
    lines, took = _refused(tmp_path, *(a.format(raw=ROOT / "raw") for a in args))
    assert len(lines) == 1 and lines[0].startswith(f"newsclean run: {line}"), lines
    # Before any import that matters (under a second on an idle machine:
    # benchmarks/startup.py); loose here, the machine may be busy.
    assert took < 5


def test_debug_shows_the_traceback_of_a_refusal(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "pipelines.cli", "--debug", "run", "--input", str(tmp_path / "none"),
                           "--output", str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" in proc.stderr and "UserError" in proc.stderr
    assert proc.stderr.splitlines()[-1] == f"newsclean run: input {tmp_path / 'none'}: no such file or folder"
