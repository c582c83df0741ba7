"""The shipped data of newsclean: the default run configuration
(``default.toml``), the boilerplate rules (``rules.toml``), the block
classifier (``boilerplate-model.json``) and the opt-in per-site rule files
(``sites/*.toml``).

They are package data, installed with the code (``pip install .`` or a
wheel), so ``newsclean`` finds them from any folder; the files stay where a
checkout keeps them, here in ``configs/``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def shipped(name: str) -> Path:
    """The path of a shipped file, e.g. ``shipped("default.toml")``. pip
    installs packages as folders, never zipped, so this is a real file."""
    return Path(str(resources.files(__name__).joinpath(name)))
