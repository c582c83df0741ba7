"""Files on disk: atomic writes and the incremental state of an output folder.

Output folder layout (documented in the README):

    articles.jsonl      kept canonical articles, the whole corpus seen so far
    dropped.jsonl       every other input article, with reason and detail
    report.json/.html   figures of the corpus and of the latest run
    runs/<run>.json     one record per run (what it read, added, counted, timed)
    state/              what later runs build on:
      manifest.json     format version, dedup parameters, list of segments
      boilerplate.json  per-source line statistics (learned boilerplate)
      segments/NNNNN/   one per run that read new input (see Segment)

The dedup state
---------------
``manifest.json``::

    {"format": 1,
     "dedup": {"num_perm": 128, "shingle_size": 3, "scheme": "affine32",
               "seed": 1, "signature_version": 3},
     "segments": ["00001", "00002", ...]}

``dedup`` says how the signatures were made; a run with other values refuses
the folder (signatures made differently are not comparable). ``segments``
lists the committed segments in run order; a segment is written under
``state/.staging-NNNNN`` and renamed into place before the manifest names
it, so a crashed run leaves no half segment behind.

A segment holds, per shard ``SSSSS`` of that run:

* ``SSSSS.index.tsv``: one line per document of the shard,
  ``id <TAB> content hash <TAB> kind`` with kind ``candidate`` (passed the
  gates, goes to dedup) or ``filtered`` (dropped by a gate). The content
  hash is of the raw text and title: a later run skips an id whose hash is
  unchanged and supersedes it otherwise (the latest segment's version of an
  id is the only one that counts).
* ``SSSSS.candidates.jsonl``: the cleaned candidates in input order, one
  JSON article per line (the output fields) plus ``_dedup``:
  ``{"words": int, "shingles": int, "exact": str}``: word count (the
  canonical rule), number of distinct shingles (for containment) and the
  exact-duplicate key (hash of the normalised token stream).
* ``SSSSS.signatures.npy``: the candidates' MinHash signatures, a numpy
  ``uint32`` array ``[n_candidates, num_perm]``, row ``k`` for line ``k``
  of the candidates file. Values are datasketch ``affine32`` MinHash values
  (``MinHash(num_perm, seed)``'s permutations) over the word-shingle hashes
  of :func:`cleaners.dedup.fingerprint`, so ``Signer.to_minhash(row)`` is a
  ``datasketch.MinHash`` usable with ``MinHashLSH``.
* ``SSSSS.filtered.jsonl``: the ``dropped.jsonl`` lines of the filtered
  documents.

and ``rejected.jsonl`` / ``rejected.index.tsv`` for documents quarantined
while reading.

No LSH index is stored: bucket keys are a few vectorised operations over
the signature matrix, and every run clusters all active candidates of all
segments again (band by band), so that cluster membership after any sequence
of runs is exactly that of one run over all the input, and a later, more
complete copy can take over as canonical. The outputs are then rewritten
from the segments.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, IO

import numpy as np
import orjson

STATE_FORMAT = 1


@contextmanager
def atomic_open(path: str | Path, mode: str = "w") -> Iterator[IO]:
    """Write to a temporary file beside ``path`` and rename it into place, so
    a reader never sees a half-written file and a crash leaves the old one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp creates 0600; outputs are meant to be shared like any file.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def dumps(obj: Any) -> str:
    """One compact JSON line, non-ASCII as is: the bytes ``json.dumps(obj,
    ensure_ascii=False, separators=(",", ":"))`` gives, five times faster
    (every article is serialised four times on its way through a run)."""
    return orjson.dumps(obj).decode("utf-8")


def write_jsonl(path: str | Path, rows: Iterable[dict]) -> int:
    n = 0
    with atomic_open(path) as fh:
        for row in rows:
            fh.write(dumps(row))
            fh.write("\n")
            n += 1
    return n


def write_json(path: str | Path, obj: Any) -> None:
    with atomic_open(path) as fh:
        json.dump(obj, fh, ensure_ascii=False, indent=2, sort_keys=True)
        fh.write("\n")


def read_jsonl(path: str | Path) -> Iterator[dict]:
    path = Path(path)
    if not path.exists():
        return
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def save_npy(path: str | Path, array: np.ndarray) -> None:
    with atomic_open(path, "wb") as fh:
        np.save(fh, array)


@dataclass
class Segment:
    """One run's new documents, as the shards that processed them wrote them.

    Per shard ``NNNNN``: ``NNNNN.candidates.jsonl`` (cleaned articles that
    passed the gates, input order), ``NNNNN.signatures.npy`` (their MinHash
    signatures, uint32 [n, num_perm]), ``NNNNN.filtered.jsonl`` (articles
    dropped before dedup), ``NNNNN.index.tsv`` (id, content hash, kind for
    every document of the shard). ``rejected.jsonl`` / ``rejected.index.tsv``
    hold the documents quarantined while reading.
    """

    path: Path

    def shards(self) -> list[str]:
        return sorted(p.name.split(".")[0] for p in self.path.glob("*.candidates.jsonl"))

    def candidates(self, shard: str) -> Path:
        return self.path / f"{shard}.candidates.jsonl"

    def signatures(self, shard: str) -> Path:
        return self.path / f"{shard}.signatures.npy"

    def filtered(self, shard: str) -> Path:
        return self.path / f"{shard}.filtered.jsonl"

    @property
    def rejected(self) -> Path:
        return self.path / "rejected.jsonl"

    def read_index(self) -> Iterator[tuple[str, str, str]]:
        for idx in sorted(self.path.glob("*.index.tsv")):
            with open(idx, encoding="utf-8") as fh:
                for line in fh:
                    doc_id, chash, kind = line.rstrip("\n").split("\t")
                    yield doc_id, chash, kind


@dataclass
class State:
    """The ``state/`` folder of an output directory."""

    root: Path
    manifest: dict = field(default_factory=dict)

    @classmethod
    def open(cls, output: str | Path) -> "State":
        root = Path(output) / "state"
        manifest_path = root / "manifest.json"
        manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
        if manifest and manifest.get("format") != STATE_FORMAT:
            raise RuntimeError(f"{root}: state format {manifest.get('format')} is not {STATE_FORMAT}; use a new output folder")
        return cls(root, manifest)

    def check_params(self, params: dict) -> None:
        """Signatures of earlier runs are only comparable under the same
        MinHash parameters."""
        old = self.manifest.get("dedup")
        if old and old != params:
            raise RuntimeError(
                f"{self.root}: earlier runs used dedup parameters {old}, this run {params}; "
                "signatures would not be comparable. Use a new output folder or the same [dedup] settings."
            )

    @property
    def segments(self) -> list[Segment]:
        return [Segment(self.root / "segments" / name) for name in self.manifest.get("segments", [])]

    def seen(self) -> dict[str, str]:
        """id -> content hash of every document earlier runs read (the latest
        version wins)."""
        out: dict[str, str] = {}
        for seg in self.segments:
            for doc_id, chash, _kind in seg.read_index():
                out[doc_id] = chash
        return out

    def next_segment_name(self) -> str:
        return f"{len(self.manifest.get('segments', [])) + 1:05d}"

    def commit_segment(self, staging: Path, name: str, dedup_params: dict) -> Segment:
        """Move a fully written staging folder into place, then record it."""
        target = self.root / "segments" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
        self.manifest = {
            "format": STATE_FORMAT,
            "dedup": dedup_params,
            "segments": [*self.manifest.get("segments", []), name],
        }
        write_json(self.root / "manifest.json", self.manifest)
        return Segment(target)

    @property
    def boilerplate_path(self) -> Path:
        return self.root / "boilerplate.json"
