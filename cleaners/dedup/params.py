"""The thresholds of near-duplicate detection, in one place."""

from __future__ import annotations

from dataclasses import dataclass

from .lsh import lsh_params


@dataclass(frozen=True)
class DedupParams:
    """Defaults chosen on real copies (extractions of one page by different
    tools), on both halves of the first dev set (``benchmarks/dedup_dev.py``)
    and on the tuning half of the fresh set (``benchmarks/dedup_fresh.py``;
    its report half was frozen first and never tuned on): index low, then
    verify, so copies with different leftovers are found without chaining
    unrelated stories together. The configuration's [dedup] section sets
    some of them (pipelines.config.DedupSettings takes its defaults here)."""

    num_perm: int = 128
    shingle_size: int = 3
    seed: int = 1
    # LSH is tuned for this Jaccard (28 bands x 2 rows at 128 permutations);
    # candidates below it are mostly missed. Low on purpose: a copy cut to a
    # quarter of a long version has Jaccard ~0.25 with it (at 0.3, a third of
    # such copies on the fresh tuning half were never candidates).
    lsh_threshold: float = 0.2
    # (bands, rows) override; None derives them from lsh_threshold.
    bands_rows: tuple[int, int] | None = None
    # A candidate is a duplicate if its estimated Jaccard reaches this ...
    # Not lower: 0.4 finds a few more truncated copies on the fresh tuning
    # half, but an estimate is +-0.04 at 128 permutations, and BBC holds
    # follow-ups at Jaccard 0.33 to the story they continue.
    min_jaccard: float = 0.5
    # ... or if this share of the smaller article's shingles is in the larger
    # one (a truncated copy); only for articles of at least min_shingles.
    # Not lower: on the real copies 0.7 finds a few more copies, but on BBC
    # it also merges rewritten follow-ups that share two thirds of their text.
    min_containment: float = 0.8
    min_shingles: int = 20
    # Versions of one text, not one template: a pair is a duplicate only if
    # this share of the smaller one's entities (numbers, names) is in the
    # larger one's, when both have at least min_entities of them.
    min_entity_containment: float = 0.7
    min_entities: int = 4
    # ... unless this share of the smaller one's shingles is in the larger:
    # then the text itself says copy, and entities in leftovers (captions,
    # a gallery's credits) that one copy kept and the other lost must not
    # split it off.
    entity_free_containment: float = 0.95
    # A cluster follows verified pairs from version to version, but every
    # member must still hold this share of its shingles in common with the
    # cluster's best article (smaller in larger) and pass the entity test
    # against it: a chain of versions stays one cluster, a chain of
    # different stories through a shared neighbour does not.
    core_containment: float = 0.5
    # ... or be almost all inside a member that passes (this share of its
    # shingles in that member's; a verified pair): see components.
    inside_containment: float = 0.9
    # Verified pairs at least this similar are the same text: followed
    # whatever the core test says (one copy of a text never goes to another
    # cluster than its twin).
    same_text_jaccard: float = 0.8
    # Canonical: among the members with at least this share of the most
    # complete member's words, the latest published.
    complete_share: float = 0.9

    def bands(self) -> tuple[int, int]:
        return self.bands_rows or lsh_params(self.lsh_threshold, self.num_perm)
