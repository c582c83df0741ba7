"""The README's tables come from the code and the committed results: the
reason codes from the registry, the benchmark figures from
``benchmarks/results/*.json`` through ``benchmarks/readme_table.py``."""

from __future__ import annotations

import importlib.util

from cleaners import reasons
from conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_lists_every_reason_code():
    assert reasons.markdown_table() in README
    for code in ("classifier", "no_article", "gallery", "wire_credit", "code"):
        assert code in reasons.REASONS


def test_every_figure_in_the_readme_table_comes_from_a_results_file():
    spec = importlib.util.spec_from_file_location("readme_table", ROOT / "benchmarks" / "readme_table.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    block = README[README.index(mod.BEGIN) + len(mod.BEGIN):README.index(mod.END)].strip()
    assert block == mod.table(), "README figures differ from benchmarks/results: run benchmarks/readme_table.py --write"
    assert block.count("\n") >= 2, "the table has no figures"
