"""newsclean as a user installs it: a wheel built from a copy of the
checkout, installed (not editable) into a fresh virtual environment, run from
a folder that is not the checkout.

The environment borrows the third-party dependencies from the one running
the tests (a path entry, not a site directory: the editable install's hook in
that environment is never run), so the test takes seconds instead of minutes
of unpacking Prefect, SciPy, LightGBM and PyArrow again; everything of
newsclean's own (code, default config, rules, model) must come from the
wheel, and the test checks that it does.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT

# What a build must not see: environments, caches, outputs and leftovers of
# earlier builds (setuptools would package a stale build/lib).
_NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
                                     ".hypothesis", ".state", "clean", "benchmarks", "tests")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(python, newsclean) of a fresh environment holding the wheel."""
    tmp = tmp_path_factory.mktemp("install")
    src, dist, env = tmp / "src", tmp / "dist", tmp / "env"
    shutil.copytree(ROOT, src, ignore=_NOT_SOURCE)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(dist), str(src)],
                   check=True, timeout=600)
    (wheel,) = dist.glob("newsclean-*.whl")
    venv.create(env, with_pip=False)
    python = env / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", "--no-index",
                    str(wheel)], check=True, timeout=600)
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    (Path(purelib) / "borrowed-dependencies.pth").write_text("".join(p + "\n" for p in site.getsitepackages()))
    return wheel, python, env / "bin" / "newsclean"


def test_the_wheel_holds_every_subpackage_and_the_shipped_data(installed):
    wheel, _, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = {p.parent.relative_to(ROOT).as_posix() for top in ("cleaners", "pipelines", "configs")
                for p in (ROOT / top).rglob("__init__.py")}
    assert {"cleaners/boilerplate", "pipelines/formats", "configs"} <= packages
    for pkg in packages:
        assert f"{pkg}/__init__.py" in names, pkg
    data = {p.relative_to(ROOT).as_posix() for p in (ROOT / "configs").rglob("*") if p.suffix in (".toml", ".json")}
    assert {"configs/default.toml", "configs/rules.toml", "configs/boilerplate-model.json"} <= data
    assert data <= names


def test_the_installed_tool_runs_the_sample_from_another_folder(installed, sample_run, tmp_path):
    _, python, newsclean = installed
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PYTHON"))}
    env["NEWSCLEAN_HOME"] = str(tmp_path / "home")
    # newsclean's own modules and data come from the wheel, not the checkout.
    where = subprocess.run([str(python), "-c", "import sys, cleaners.boilerplate, configs, pipelines.cli; "
                            "print(cleaners.boilerplate.__file__, configs.shipped('default.toml'), pipelines.cli.__file__); "
                            "print(*sys.path)"], cwd=elsewhere, env=env, capture_output=True, text=True, check=True)
    files, path = where.stdout.splitlines()
    prefix = str(python.parent.parent)
    assert all(f.startswith(prefix) for f in files.split()), files
    assert str(ROOT) not in path.split() and not any(p.startswith(str(ROOT) + os.sep) and "site-packages" not in p
                                                     for p in path.split()), path

    proc = subprocess.run([str(newsclean), "run", "--input", str(ROOT / "raw"), "--output", "out"], cwd=elsewhere, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    out = elsewhere / "out"
    # The same corpus as the checkout's run: same config, rules and model.
    for name in ("articles.jsonl", "dropped.jsonl"):
        assert (out / name).read_bytes() == (sample_run[0] / name).read_bytes(), name
    assert (out / "report.html").exists()
    # Nothing but the output folder lands where the command was started.
    assert sorted(p.name for p in elsewhere.iterdir()) == ["out"]
