"""newsclean's cleaning and dedup logic: plain Python, no orchestration.

Stages, each a module of small pure steps that return the cleaned text and
what they removed with a reason code:

* :mod:`cleaners.repair`: bytes to clean Unicode (encoding, mojibake, markdown)
* :mod:`cleaners.boilerplate`: rules, learned per-source lines, off-topic inserts
* :mod:`cleaners.language`: deterministic language identification
* :mod:`cleaners.gates`: keep / drop decisions with reason codes
* :mod:`cleaners.dedup`: MinHash signatures, banded LSH, verified clusters
* :mod:`cleaners.chain`: stages 1-4 composed for one article
"""

from .chain import Chain, split_title
from .record import Article, Edit

__all__ = ["Article", "Chain", "Edit", "split_title"]
