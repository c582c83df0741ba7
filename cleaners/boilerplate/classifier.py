"""The block classifier: a trained model scores every block still kept.

Hand-written rules match what someone has seen; a crawl of thousands of
sites is mostly what nobody has. The classifier judges a block by what
carries across sites: its shape (length, digits, capitals, punctuation,
whether it ends a sentence), where it stands (among prose or among short
lines, inside the article's block of prose or outside it), what the steps
before it removed around it, how much it repeats the title, whether it
repeats inside the article (gallery captions), news conventions (photo
credits, gallery counters, timestamps, wire credits, widget code: patterns
kept as data in ``[classifier]`` of ``configs/rules.toml``), and, in a
second stage, the first stage's scores of its neighbours (a block among
furniture is furniture).

Scores are kept apart from decisions: :class:`BlockModel` only scores; the
step removes blocks scored at or above the configured threshold (reason
``classifier``, the score in the edit). The model is two LightGBM boosters
in one JSON file (``configs/boilerplate-model.json``), trained by
``make train-boilerplate`` (``benchmarks/train_boilerplate.py``) and loaded
once per process. An article whose kept blocks are all protected body (most
of a clean corpus) is not scored: no score could remove any of them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from .blocks import RUN_GAP, Blocks
from .features import FEATURE_VERSION, FeaturePatterns, context_features, feature_names, local_features


class BlockModel:
    """Two LightGBM boosters: local features, then local plus context."""

    def __init__(self, data: Mapping):
        import lightgbm

        if data.get("feature_version") != FEATURE_VERSION:
            raise ValueError(f"boilerplate model has feature version {data.get('feature_version')}, this code "
                             f"{FEATURE_VERSION}: retrain it (make train-boilerplate)")
        self.meta = {k: v for k, v in data.items() if k not in ("stage1", "stage2")}
        self.features = tuple(data["features"])
        self.pattern_digest = data["pattern_digest"]
        self.stage1 = lightgbm.Booster(model_str=data["stage1"])
        self.stage2 = lightgbm.Booster(model_str=data["stage2"])

    @classmethod
    def load(cls, path: str | Path) -> "BlockModel":
        return _load(str(Path(path).resolve()))

    def check(self, patterns: FeaturePatterns) -> None:
        if feature_names(patterns) != self.features or patterns.digest != self.pattern_digest:
            raise ValueError("the boilerplate model was trained with other [classifier] patterns than rules.toml "
                             "holds: retrain it (make train-boilerplate)")

    def score(self, X: np.ndarray, art: np.ndarray, need: np.ndarray | None = None) -> np.ndarray:
        """P(furniture) of every row (of the rows ``need`` marks; 0 for the
        others). The first stage scores every row: its scores are the
        neighbours' context of the second."""
        if not len(X):
            return np.zeros(0, dtype=np.float32)
        p1 = self.stage1.predict(X, num_threads=1)
        prose = X[:, self.features.index("is_prose")] > 0
        ctx = context_features(p1, art, prose)
        if need is None:
            return self.stage2.predict(np.hstack([X, ctx]), num_threads=1).astype(np.float32)
        out = np.zeros(len(X), dtype=np.float32)
        if need.any():
            out[need] = self.stage2.predict(np.hstack([X[need], ctx[need]]), num_threads=1)
        return out


@lru_cache(maxsize=4)
def _load(path: str) -> BlockModel:
    return BlockModel(json.loads(Path(path).read_text(encoding="utf-8")))


class ClassifierStep:
    """Removes the kept blocks the model scores at or above ``threshold``
    (reason ``classifier``, with the score), outside the article's body
    only (guard ``outside_body``): a score is a guess, and a guess never
    takes prose of the article's main run."""

    name = "classifier"

    def __init__(self, model: BlockModel, patterns: FeaturePatterns, threshold: float):
        model.check(patterns)
        self.model, self.patterns, self.threshold = model, patterns, threshold

    def __call__(self, b: Blocks) -> None:
        self.batch([b])

    def scores(self, batch: Sequence[Blocks]) -> np.ndarray:
        X, art = local_features(batch, self.patterns)
        return self.model.score(X, art)

    def batch(self, batch: Sequence[Blocks]) -> None:
        # An article whose kept lines are all protected body is not scored:
        # guard outside_body would refuse each of them whatever its score,
        # so scoring them only counted refusals (those are no longer counted
        # in Blocks.refused). That is most articles of a clean corpus.
        # Features, both stages and the context are per article, so leaving
        # one out of the batch changes no other article's scores; the
        # others are scored and decided exactly as before.
        picked = [b for b in batch if not _all_kept_are_body(b)]
        if not picked:
            return
        need = np.fromiter((i not in b.removed for b in picked for i in b.nonblank),
                           dtype=bool, count=sum(len(b.nonblank) for b in picked))
        X, art = local_features(picked, self.patterns)
        p = self.model.score(X, art, need)
        k = 0
        for b in picked:
            for i in b.nonblank:
                if p[k] >= self.threshold and i not in b.removed:
                    b.remove(i, "classifier", "outside_body", float(p[k]))
                k += 1


def _all_kept_are_body(b: Blocks) -> bool:
    """Every line still kept is in ``b.body``, known without building the
    body when it is not built yet (building it here would also fix it
    before the lead's dateline trim, which the steps after this one would
    see): kept lines are all prose and the prose lines form one run (no gap
    wider than RUN_GAP), which is then the main run, all of it body. At a
    tenth of the body's cost."""
    removed = b.removed
    if b._body is not None:
        body = b._body
        return all(i in body or i in removed for i in b.nonblank)
    prose = b.prose()
    last = None
    for pos, i in enumerate(b.nonblank):
        if prose[i]:
            if last is not None and pos - last - 1 > RUN_GAP:
                return False
            last = pos
        elif i not in removed:
            return False
    return True
