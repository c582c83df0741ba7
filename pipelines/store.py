"""Files on disk: atomic writes and the incremental state of an output folder.

Output folder layout (documented in the README):

    articles.jsonl      kept canonical articles, the whole corpus seen so far
    dropped.jsonl       every other input article, with reason and detail
    report.json/.html   figures of the corpus and of the latest run
    runs/<run>.json     one record per run (what it read, added, counted, timed)
    runs/<run>.changes.jsonl  the ids that run added or replaced (the record
                        keeps their counts)
    state/              what later runs build on:
      manifest.json     format version, dedup parameters, list of segments,
                        size and checksum of every state file
      segments/NNNNN/   one per run that read new input (see Segment)
    .newsclean.lock     the run lock (see OutputLock)

One generation at a time
------------------------
``articles.jsonl``, ``dropped.jsonl``, ``report.json`` and ``report.html``
belong together, so they are written as one generation and switched at
once: a run writes them into ``generations/<run_id>/``, then points the
symlink ``current`` at that folder (a new symlink renamed over the old one,
which is atomic). The four documented names are symlinks
``articles.jsonl -> current/articles.jsonl`` and so on, so every path the
README names stays readable, and a crash or a full disk before the switch
leaves the previous generation whole. A reader that opens two of the files
and must see one generation resolves ``current`` once and reads through
that folder. The previous generation is kept for readers still in it; older
ones are removed by the next run.

The lock and stale files
------------------------
A run holds an exclusive ``fcntl.flock`` on ``.newsclean.lock`` from start
to end; the file names the holder (pid, host, start time). A second run on
the folder is refused at once with that holder in the message. The kernel
releases the lock when its process dies, however it dies, so the lock file
a killed run leaves behind holds no lock and the next run takes it over.
Under the lock, everything a dead run may have left is removed at start:
staging folders, segment folders the manifest does not list, generations
other than the current and previous ones, temporary files of atomic writes.

The dedup state
---------------
``manifest.json``::

    {"format": 1,
     "dedup": {"num_perm": 128, "shingle_size": 3, "scheme": "affine32",
               "seed": 1, "signature_version": 3},
     "cleaning": "<16 hex digits>",
     "segments": ["00001", "00002", ...]}

``dedup`` says how the signatures were made; a run with other values refuses
the folder (signatures made differently are not comparable). ``cleaning`` is
the :meth:`~pipelines.config.Config.cleaning_digest` the articles were
cleaned under; a run under another one refuses the folder too (its articles
would be cleaned differently from the earlier ones, and the outputs would
not be those of one run over all the input). ``segments``
lists the committed segments in run order; a segment is written under
``state/.staging-<run_id>`` (a name no other run uses) and renamed into
place before the manifest names it, so a crashed run leaves no half segment
behind. ``files`` maps the path of every state file (relative to ``state/``)
to ``{"size": bytes, "xxh128": hex}``; every run checks them all before it
reads any (:meth:`State.verify`), so a deleted, truncated or edited file is
refused with its name, never read as a smaller corpus. (Format 1 folders,
whose manifest has no ``files`` and whose index files are not escaped, are
upgraded in place on open.)

A segment holds, per shard ``SSSSS`` of that run:

* ``SSSSS.repaired.jsonl``: every document of the shard after extraction and
  repair (stage 1), in output order, one JSON line
  ``{"article": ..., "hash": ..., "pos": [path, place], "prepared": true}``:
  what cleaning starts from, in this run and whenever a later run cleans
  the article again (the input may be gone by then). ``pos`` is the input
  file's relative path and the document's place in it: the one order of
  the outputs (:func:`pipelines.stages.position`).
* ``SSSSS.lines.npy``: the shard's line table, a numpy array of
  :data:`cleaners.boilerplate.learned.LINE_ROW` (source, line key, article
  fingerprint as 64-bit hashes, the article's row in the repaired file, and
  whether the row counts in the statistics). The union of all tables is the
  exact learned statistics (:class:`cleaners.boilerplate.SourceLineStats`);
  the same rows are the index from (source, line) to the articles holding
  it, through which a run finds the earlier articles to clean again when it
  changes a line's learned status.
* ``SSSSS.index.tsv``: one line per document of the shard,
  ``id <TAB> content hash <TAB> kind`` with kind ``candidate`` (passed the
  gates, goes to dedup) or ``filtered`` (dropped by a gate). The id is
  escaped (``\\`` ``\t`` ``\n`` ``\r`` for backslash, tab, newline and
  carriage return; :func:`index_line`), so any id is one field. The content
  hash is of the raw text and title: a later run skips an id whose hash is
  unchanged and supersedes it otherwise (the latest segment's version of an
  id is the only one that counts).
* ``SSSSS.candidates.jsonl``: the cleaned candidates in output order, one
  JSON article per line (the output fields) plus ``_pos``. (Segments of
  format 2 also carry ``_dedup``, what the sidecar below now holds; dedup
  reads it there when a shard has no sidecar.)
* ``SSSSS.dedup.arrow``: the dedup sidecar, an Arrow IPC file with one row
  per line of the candidates file (:data:`SIDECAR_FIELDS`): ``id``,
  position (``pos_path``, ``pos_n``; null for an article read before
  positions were recorded), ``words`` (word count, the canonical rule),
  ``shingles`` (distinct shingles, for containment), ``exact`` (the
  exact-duplicate key, a hash of the normalised token stream),
  ``published``, ``entities`` (the entity sketch, uint32) and
  ``n_entities``: everything dedup needs, so it never parses an article.
* ``SSSSS.signatures.npy``: the candidates' MinHash signatures, a numpy
  ``uint32`` array ``[n_candidates, num_perm]``, row ``k`` for line ``k``
  of the candidates file. Values are datasketch ``affine32`` MinHash values
  (``MinHash(num_perm, seed)``'s permutations) over the word-shingle hashes
  of :func:`cleaners.dedup.fingerprint`, so ``Signer.to_minhash(row)`` is a
  ``datasketch.MinHash`` usable with ``MinHashLSH``.
* ``SSSSS.filtered.jsonl``: the ``dropped.jsonl`` lines of the filtered
  documents (plus ``_pos``).

Shards ``rSSSSS`` hold the earlier articles this run cleaned again (index,
candidates, signatures, filtered; no repaired text or line table: those stay
where the article was first read), and ``rejected.jsonl`` /
``rejected.index.tsv`` the documents quarantined while reading. Every file
is written in the staging folder and listed, with its checksum, when the
segment is committed, so a run killed at any point leaves either the
previous state or the whole new segment.

No LSH index is stored: bucket keys are a few vectorised operations over
the signature matrix, and every run clusters all active candidates of all
segments again (band by band), so that cluster membership after any sequence
of runs is exactly that of one run over all the input, and a later, more
complete copy can take over as canonical. The outputs are then rewritten
from the segments.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import orjson
import xxhash

from cleaners.boilerplate.learned import LINE_ROW

from .errors import UserError, is_disk_error

# 3: candidates carry no ``_dedup`` (the sidecar ``.dedup.arrow`` holds it),
# so code that reads format 2 must refuse a format 3 folder; format 2
# folders are read as they are (their shards have no sidecar).
STATE_FORMAT = 3
READABLE_FORMATS = (1, 2, STATE_FORMAT)
OUTPUTS = ("articles.jsonl", "dropped.jsonl", "articles.parquet", "dropped.parquet", "report.json", "report.html")
LOCK_NAME = ".newsclean.lock"
# The run record is written into its generation before the switch, so it is
# committed with the outputs it describes; runs/<run_id>.json is its copy,
# put back at the next start if the run died between the switch and the copy.
RUN_RECORD = "run.json"
# runs/<run_id>.changes.jsonl: the ids a run added or replaced (the record
# keeps their counts; see pipelines.corpus).
CHANGES_SUFFIX = ".changes.jsonl"
# Temporary files of atomic_open carry this in their name, so that the ones
# a killed run left can be told from anything else at the next start.
TMP_MARK = ".newsclean-tmp-"


class OutputError(UserError, RuntimeError):
    """A problem with the output folder that the user has to resolve (the
    CLI prints it without a traceback)."""


class OutputLocked(OutputError):
    """Another run holds the output folder."""


class StateError(OutputError):
    """A state file is missing or differs from what the manifest recorded."""


def rebuild_hint(output: str | Path) -> str:
    return f"the state in {output} cannot be trusted: {rebuild_command(output)}"


def rebuild_command(output: str | Path) -> str:
    return (f"move the folder aside and rebuild it from all of its input with "
            f"`newsclean run --input <all input> --output {output}`")


@contextmanager
def atomic_open(path: str | Path, mode: str = "w") -> Iterator[IO]:
    """Write to a temporary file beside ``path`` and rename it into place, so
    a reader never sees a half-written file and a crash leaves the old one."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}{TMP_MARK}", dir=path.parent)
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp creates 0600; outputs are meant to be shared like any file.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        if is_disk_error(exc):
            raise write_error(exc, path) from exc
        raise


def write_error(exc: OSError, path: str | Path) -> OutputError:
    """The one line a disk error while writing ends in: the file, the cause,
    what to do. Writes are atomic and outputs switch as one generation, so
    the outputs are still the previous run's, whole."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        todo = "free space on its disk"
    elif exc.errno == errno.EROFS:
        todo = "mount it writable or choose another --output"
    else:
        todo = "make it writable for this user or choose another --output"
    return OutputError(f"cannot write {path}: {os.strerror(exc.errno)}; the outputs are left as the "
                       f"previous run wrote them: {todo}, then run again")


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
    """The objects of a JSON-lines file of an output folder; a line that is
    not JSON is an :class:`StateError` naming the file and line (these files
    are newsclean's own: a broken one was damaged)."""
    path = Path(path)
    if not path.exists():
        return
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except ValueError as exc:
                    raise StateError(f"{path}, line {lineno}: not valid JSON ({exc}); the file was damaged") from None


def save_npy(path: str | Path, array: np.ndarray) -> None:
    with atomic_open(path, "wb") as fh:
        np.save(fh, array)


# The columns of a shard's dedup sidecar (see Segment), one row per candidate.
SIDECAR_FIELDS = ("id", "pos_path", "pos_n", "words", "shingles", "exact", "published", "entities", "n_entities")


def sidecar_schema(fields: Sequence[str] = SIDECAR_FIELDS):
    """The Arrow schema of a dedup sidecar, or of the ``fields`` of it."""
    import pyarrow as pa

    s, i = pa.string(), pa.int64()
    types = {"id": s, "pos_path": s, "pos_n": i, "words": i, "shingles": i, "exact": s, "published": s,
             "entities": pa.list_(pa.uint32()), "n_entities": i}
    return pa.schema([(name, types[name]) for name in fields])


def save_sidecar(path: str | Path, columns: dict[str, list]) -> None:
    """Write a dedup sidecar (:data:`SIDECAR_FIELDS`; ``entities``: one
    uint32 sketch per row, as bytes) as an Arrow IPC file."""
    import pyarrow as pa

    schema = sidecar_schema()
    sketches = columns["entities"]
    flat = np.frombuffer(b"".join(sketches), dtype=np.uint32)
    offsets = np.zeros(len(sketches) + 1, dtype=np.int32)
    np.cumsum([len(b) // 4 for b in sketches], out=offsets[1:])
    arrays = [pa.array(columns[name], type=schema.field(name).type) if name != "entities"
              else pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat, type=pa.uint32()))
              for name in SIDECAR_FIELDS]
    with atomic_open(path, "wb") as fh:
        with pa.ipc.new_file(fh, schema) as writer:
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))


def sketch_matrix(column) -> np.ndarray:
    """A sidecar's ``entities`` column as a uint32 array [rows, k]."""
    ents = column.combine_chunks()
    flat = ents.flatten().to_numpy(zero_copy_only=False).astype(np.uint32, copy=False)
    return flat.reshape(len(ents), -1) if len(ents) else np.empty((0, 0), np.uint32)


# --------------------------------------------------------------------------
# Index lines: ids are escaped so that a tab, newline or carriage return in
# an id (or a .txt path) cannot split a line or a field.

_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_UNESCAPE = re.compile(r"\\(.)")
_UNESCAPES = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}


def escape_field(value: str) -> str:
    return value.translate(_ESCAPE)


def unescape_field(value: str) -> str:
    return _UNESCAPE.sub(lambda m: _UNESCAPES.get(m.group(1), m.group(0)), value) if "\\" in value else value


def index_line(doc_id: str, chash: str, kind: str) -> str:
    return f"{escape_field(doc_id)}\t{chash}\t{kind}"


def _parse_index(path: Path, escaped: bool) -> Iterator[tuple[str, str, str]]:
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                raise StateError(f"{path}, line {lineno}: {len(parts)} fields, not 3 (id, hash, kind); the file was damaged")
            doc_id, chash, kind = parts
            yield (unescape_field(doc_id) if escaped else doc_id), chash, kind


# --------------------------------------------------------------------------
# The lock


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class OutputLock:
    """An exclusive lock on an output folder for the whole of a run.

    Reentrant within a process (the CLI takes it before the flow, which takes
    it again when a deployment runs it directly)."""

    _held: dict[str, list] = {}  # real path -> [fd, depth]

    def __init__(self, output: str | Path):
        self.output = Path(output)
        self.path = self.output / LOCK_NAME

    def acquire(self) -> None:
        self.output.mkdir(parents=True, exist_ok=True)
        key = os.path.realpath(self.path)
        if key in self._held:
            self._held[key][1] += 1
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = self._holder(fd)
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            raise OutputLocked(f"{self.output} is in use by another newsclean run ({holder}); "
                               "wait for it to finish, or give this run another --output") from None
        # A lock file left by a run that died holds no lock (the kernel
        # released it with the process): it is simply taken over.
        info = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        self._held[key] = [fd, 1]

    @staticmethod
    def _holder(fd: int) -> str:
        try:
            info = json.loads(os.pread(fd, 4096, 0) or b"{}")
            pid, host = int(info["pid"]), str(info["host"])
        except (OSError, ValueError, KeyError, TypeError):
            return "holder unknown"
        text = f"pid {pid} on host {host}, started {info.get('started', '?')}"
        if host == socket.gethostname() and not _pid_alive(pid):
            text += "; that process is gone, but a child of it still holds the lock"
        return text

    def release(self) -> None:
        key = os.path.realpath(self.path)
        held = self._held.get(key)
        if held is None:
            return
        held[1] -= 1
        if held[1] == 0:
            del self._held[key]
            fcntl.flock(held[0], fcntl.LOCK_UN)
            os.close(held[0])

    def __enter__(self) -> "OutputLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


# --------------------------------------------------------------------------
# Generations of the outputs


def current_generation(output: str | Path) -> Path:
    """The folder the documented output names point into: the current
    generation, or the output folder itself for one written before
    generations (or assembled by hand)."""
    out = Path(output)
    cur = out / "current"
    return cur.resolve() if cur.is_dir() else out


def new_generation(output: str | Path, run_id: str) -> Path:
    gen = Path(output) / "generations" / run_id
    if gen.exists():
        shutil.rmtree(gen)
    gen.mkdir(parents=True)
    return gen


def _symlink_replace(target: str, link: Path) -> None:
    tmp = link.parent / f".{link.name}{TMP_MARK}{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(target, tmp)
    os.replace(tmp, link)


def commit_generation(output: str | Path, gen: Path) -> None:
    """Make ``gen`` the current generation in one rename, then make sure the
    documented names point through ``current`` (once per folder)."""
    out = Path(output)
    for name in OUTPUTS:  # everything lands on disk before it is visible
        f = gen / name
        if f.exists():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
    _symlink_replace(os.path.relpath(gen, out), out / "current")
    link_outputs(out)
    dfd = os.open(out, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def link_outputs(output: str | Path) -> None:
    """Point the documented output names through ``current`` (a folder
    without generations is left as it is)."""
    out = Path(output)
    if not (out / "current").is_dir():
        return
    for name in OUTPUTS:
        link = out / name
        want = f"current/{name}"
        if not (out / "current" / name).exists():
            # A format this run did not write: no link that points nowhere.
            if link.is_symlink():
                link.unlink()
            continue
        if not (link.is_symlink() and os.readlink(link) == want):
            _symlink_replace(want, link)


_LEGACY_TMP = re.compile(r"^\..+\.(jsonl|json|html|tsv|npy)\.[a-z0-9_]{8}$")


def clear_stale(output: str | Path, keep_segments: Iterable[str]) -> list[str]:
    """Remove what a run that died left behind (call under the lock):
    staging folders, unlisted segment folders, old generations and
    temporary files; put back the record of a run that died after its
    outputs switched (see :data:`RUN_RECORD`). Returns what was removed,
    relative to ``output``."""
    out = Path(output)
    removed: list[str] = []
    record = out / "current" / RUN_RECORD
    if record.is_file():
        run_id = json.loads(record.read_text(encoding="utf-8"))["run_id"]
        if not (out / "runs" / f"{run_id}.json").exists():
            with atomic_open(out / "runs" / f"{run_id}.json", "wb") as fh:
                fh.write(record.read_bytes())

    def rm(p: Path) -> None:
        removed.append(os.path.relpath(p, out))
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)

    # A run's changes file lands in runs/ before its outputs switch; one
    # whose run left no record describes outputs that never became current.
    for p in (out / "runs").glob(f"*{CHANGES_SUFFIX}"):
        if not (out / "runs" / f"{p.name[:-len(CHANGES_SUFFIX)]}.json").exists():
            rm(p)

    state = out / "state"
    for p in state.glob(".staging-*"):
        rm(p)
    keep = set(keep_segments)
    if (state / "segments").is_dir():
        for p in (state / "segments").iterdir():
            if p.name not in keep:
                rm(p)
    gens = out / "generations"
    removed += prune_generations(out)
    dirs = [out, out / "runs", state, *((state / "segments").iterdir() if (state / "segments").is_dir() else ()),
            *(gens.iterdir() if gens.is_dir() else ())]
    for d in dirs:
        if d.is_dir():
            for p in d.iterdir():
                if p.name.startswith(".") and (TMP_MARK in p.name or _LEGACY_TMP.match(p.name)):
                    rm(p)
    return sorted(removed)


def prune_generations(output: str | Path) -> list[str]:
    """Remove every generation but the current one and the one before it
    (kept for readers still in it); returns what was removed."""
    out = Path(output)
    gens = out / "generations"
    if not gens.is_dir():
        return []
    cur = current_generation(out)
    names = sorted(p.name for p in gens.iterdir())
    previous = [n for n in names if n < cur.name][-1:] if cur.parent == gens.resolve() else names[-1:]
    removed = []
    for n in names:
        if gens / n != cur and (gens / n).resolve() != cur and n not in previous:
            shutil.rmtree(gens / n, ignore_errors=True)
            removed.append(f"generations/{n}")
    return removed


def file_entry(path: Path) -> dict:
    h = xxhash.xxh3_128()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return {"size": size, "xxh128": h.hexdigest()}


@dataclass
class Segment:
    """One run's new documents, as the shards that processed them wrote them.

    Per shard ``NNNNN``: ``NNNNN.candidates.jsonl`` (cleaned articles that
    passed the gates, input order), ``NNNNN.signatures.npy`` (their MinHash
    signatures, uint32 [n, num_perm]), ``NNNNN.dedup.arrow`` (what dedup
    needs of them, see :data:`SIDECAR_FIELDS`), ``NNNNN.filtered.jsonl`` (articles
    dropped before dedup), ``NNNNN.index.tsv`` (id, content hash, kind for
    every document of the shard). ``rejected.jsonl`` / ``rejected.index.tsv``
    hold the documents quarantined while reading.
    """

    path: Path
    escaped: bool = True  # False for segments of format 1 (ids written raw)

    def shards(self) -> list[str]:
        return sorted(p.name.split(".")[0] for p in self.path.glob("*.candidates.jsonl"))

    def candidates(self, shard: str) -> Path:
        return self.path / f"{shard}.candidates.jsonl"

    def signatures(self, shard: str) -> Path:
        return self.path / f"{shard}.signatures.npy"

    def filtered(self, shard: str) -> Path:
        return self.path / f"{shard}.filtered.jsonl"

    def sidecar(self, shard: str) -> Path:
        return self.path / f"{shard}.dedup.arrow"

    def sidecar_table(self, shard: str):
        """The shard's dedup sidecar as an Arrow table (:data:`SIDECAR_FIELDS`),
        or None for a shard written before sidecars."""
        path = self.sidecar(shard)
        if not path.exists():
            return None
        import pyarrow as pa

        try:
            with pa.memory_map(str(path)) as source:
                table = pa.ipc.open_file(source).read_all()
        except (OSError, pa.ArrowInvalid) as exc:
            raise StateError(f"{path}: not a dedup sidecar ({exc})") from None
        if table.schema.names != list(SIDECAR_FIELDS):
            raise StateError(f"{path}: columns {table.schema.names}, not those of a dedup sidecar {list(SIDECAR_FIELDS)}")
        return table

    def load_sidecar(self, shard: str) -> dict[str, Any] | None:
        """The shard's dedup sidecar as columns (lists; ``entities`` a uint32
        array [rows, k]), or None for a shard written before sidecars."""
        table = self.sidecar_table(shard)
        if table is None:
            return None
        cols = {name: table.column(name).to_pylist() for name in SIDECAR_FIELDS if name != "entities"}
        cols["entities"] = sketch_matrix(table.column("entities"))
        return cols

    def rejected_index(self) -> Iterator[tuple[str, str, str]]:
        path = self.path / "rejected.index.tsv"
        return _parse_index(path, self.escaped) if path.exists() else iter(())

    def repaired(self, shard: str) -> Path:
        return self.path / f"{shard}.repaired.jsonl"

    def lines(self, shard: str) -> Path:
        return self.path / f"{shard}.lines.npy"

    def load_lines(self, shard: str) -> np.ndarray:
        path = self.lines(shard)
        try:
            table = np.load(path)
        except (OSError, ValueError) as exc:
            raise StateError(f"{path}: not a line table ({exc})") from None
        if table.dtype != LINE_ROW:
            raise StateError(f"{path}: a table of {table.dtype}, not of line rows {LINE_ROW}")
        return table

    @property
    def rejected(self) -> Path:
        return self.path / "rejected.jsonl"

    def shard_index(self, shard: str) -> Iterator[tuple[str, str, str]]:
        return _parse_index(self.path / f"{shard}.index.tsv", self.escaped)

    def read_index(self) -> Iterator[tuple[str, str, str]]:
        for idx in sorted(self.path.glob("*.index.tsv")):
            yield from _parse_index(idx, self.escaped)

    def load_signatures(self, shard: str, rows: int, num_perm: int) -> np.ndarray:
        return load_signature_matrix(self.signatures(shard), rows, num_perm)


def load_signature_matrix(path: str | Path, rows: int, num_perm: int, mapped: bool = False) -> np.ndarray:
    """A shard's signature matrix (memory-mapped with ``mapped``), checked
    against the shard's candidate rows and the run's permutations."""
    try:
        sig = np.load(path, mmap_mode="r" if mapped else None)
    except (OSError, ValueError) as exc:
        raise StateError(f"{path}: not a signature matrix ({exc})") from None
    if sig.dtype != np.uint32 or sig.ndim != 2 or sig.shape != (rows, num_perm):
        raise StateError(f"{path}: signatures {sig.dtype} {list(sig.shape)} do not match the {rows} candidates "
                         f"of its shard × {num_perm} permutations")
    return sig


def seen_ids(segments: Iterable[Segment]) -> dict[str, tuple[str, str]]:
    """id -> (content hash, kind) of every document the runs of ``segments``
    read (the latest version wins)."""
    out: dict[str, tuple[str, str]] = {}
    for seg in segments:
        for doc_id, chash, kind in seg.read_index():
            out[doc_id] = (chash, kind)
    return out


@dataclass
class State:
    """The ``state/`` folder of an output directory."""

    root: Path
    manifest: dict = field(default_factory=dict)

    @classmethod
    def open(cls, output: str | Path, verify: bool = True) -> "State":
        """Open (and by default verify) the state of an output folder; a
        folder of format 1 is upgraded in place."""
        root = Path(output) / "state"
        manifest_path = root / "manifest.json"
        manifest: dict = {}
        if manifest_path.exists():
            try:
                manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
                if not isinstance(manifest, dict):
                    raise ValueError("not an object")
            except ValueError as exc:
                raise StateError(f"{manifest_path}: not a valid manifest ({exc}); {rebuild_hint(output)}") from None
        elif (root / "segments").is_dir() and any((root / "segments").iterdir()):
            raise StateError(f"{manifest_path} is missing but {root / 'segments'} holds segments; {rebuild_hint(output)}")
        fmt = manifest.get("format")
        if manifest and fmt not in READABLE_FORMATS:
            raise StateError(f"{root}: state format {fmt} is not {STATE_FORMAT}; use a new output folder")
        state = cls(root, manifest)
        if manifest and fmt == 1:
            state._upgrade()
        if verify:
            state.verify()
        return state

    def _upgrade(self) -> None:
        names = list(self.manifest.get("segments", []))
        for name in names:
            if not (self.root / "segments" / name).is_dir():
                raise StateError(f"{self.root / 'segments' / name}: segment listed in the manifest is missing; {rebuild_hint(self.root.parent)}")
        if (self.root / "boilerplate.json").exists() and names:
            os.replace(self.root / "boilerplate.json", self.root / "segments" / names[-1] / "boilerplate.json")
        self.manifest = {**self.manifest, "format": STATE_FORMAT, "unescaped": names, "files": {}}
        for name in names:
            self.manifest["files"].update(self._entries(self.root / "segments" / name))
        write_json(self.root / "manifest.json", self.manifest)

    def _entries(self, folder: Path, name: str | None = None) -> dict[str, dict]:
        name = name or folder.name
        return {f"segments/{name}/{p.name}": file_entry(p) for p in sorted(folder.iterdir()) if p.is_file()}

    def verify(self) -> None:
        """Check every state file the manifest lists: present, of its size,
        of its checksum. Refuses (:class:`StateError`) naming the first file
        that differs and the command to rebuild."""
        files = self.manifest.get("files", {})
        for name in self.manifest.get("segments", []):
            seg = self.root / "segments" / name
            if not seg.is_dir():
                raise StateError(f"state/segments/{name}: segment folder listed in the manifest is missing; {rebuild_hint(self.root.parent)}")
        for rel, want in sorted(files.items()):
            path = self.root / rel
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                raise StateError(f"state/{rel}: state file is missing; {rebuild_hint(self.root.parent)}") from None
            if size != want["size"]:
                raise StateError(f"state/{rel}: {size:,} bytes, the manifest recorded {want['size']:,} (truncated or changed); "
                                 f"{rebuild_hint(self.root.parent)}")
            if file_entry(path)["xxh128"] != want["xxh128"]:
                raise StateError(f"state/{rel}: content differs from its checksum in the manifest (changed outside newsclean); "
                                 f"{rebuild_hint(self.root.parent)}")

    def check_params(self, params: dict) -> None:
        """Signatures of earlier runs are only comparable under the same
        MinHash parameters."""
        old = self.manifest.get("dedup")
        if old and old != params:
            raise OutputError(
                f"{self.root}: earlier runs used dedup parameters {old}, this run {params}; "
                "signatures would not be comparable. Use a new output folder or the same [dedup] settings."
            )

    def check_cleaning(self, digest: str) -> None:
        """The folder's articles were cleaned under the configuration whose
        :meth:`~pipelines.config.Config.cleaning_digest` the manifest
        records; a run under another one would add articles cleaned
        differently to them, and its outputs would no longer be those of
        one run over all the input. (A folder of a version that did not
        record it is taken as it is.)"""
        old = self.manifest.get("cleaning")
        if old and old != digest:
            raise OutputError(
                f"{self.root.parent}: its articles were cleaned under another configuration or newsclean version "
                f"(cleaning digest {old}, this run {digest}; [input], [extract], [boilerplate], [language], [quality], "
                f"the rules and the models count). Use a new output folder, or {rebuild_command(self.root.parent)}"
            )

    @property
    def segments(self) -> list[Segment]:
        unescaped = set(self.manifest.get("unescaped", []))
        return [Segment(self.root / "segments" / name, name not in unescaped) for name in self.manifest.get("segments", [])]

    def next_segment_name(self) -> str:
        return f"{len(self.manifest.get('segments', [])) + 1:05d}"

    def commit_segment(self, staging: Path, name: str, dedup_params: dict, cleaning: str) -> Segment:
        """Move a fully written staging folder into place, then record it and
        the checksums of its files in the manifest (renamed into place: the
        segment counts once the manifest names it)."""
        target = self.root / "segments" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        entries = self._entries(staging, name)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
        self.manifest = {
            **self.manifest,
            "format": STATE_FORMAT,
            "dedup": dedup_params,
            "cleaning": cleaning,
            "segments": [*self.manifest.get("segments", []), name],
            "files": {**self.manifest.get("files", {}), **entries},
        }
        write_json(self.root / "manifest.json", self.manifest)
        return Segment(target)

