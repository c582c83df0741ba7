"""Writers of the corpus: the same rows (``articles``, ``dropped``) in each
format that ``[output] formats`` names.

* ``jsonl``: ``articles.jsonl`` / ``dropped.jsonl``, one compact JSON
  object per line (keys an entry does not have are absent).
* ``parquet``: ``articles.parquet`` / ``dropped.parquet``, written with
  pyarrow against the fixed schemas below (documented in
  ``docs/parquet-schema.md``): ``duplicates`` and ``edits`` are nested
  lists of structs, a key absent from a JSONL row is null. Loads with
  ``datasets.load_dataset("parquet", data_files=...)``, pandas, polars,
  DuckDB.

Every file is written to a temporary name and renamed into place. Files of
a registered format that the configuration leaves out are removed: an
output folder never keeps a stale copy of an earlier corpus beside the
current one.

The rows are produced by the caller as a function returning a fresh
iterator, so each format streams them in turn and memory stays flat.

A new format is a class with ``suffix``, ``write(path, name, rows)`` and
``read(path)``, plus one line in :data:`WRITERS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ..store import atomic_open, read_jsonl, write_jsonl

NAMES = ("articles", "dropped")


def _schemas():
    import pyarrow as pa

    s, f, b, i = pa.string(), pa.float64(), pa.bool_(), pa.int64()
    duplicate = pa.struct([("id", s), ("similarity", f), ("containment", f), ("exact", b), ("relation", s)])
    edit = pa.struct([("reason", s), ("text", s), ("detail", s), ("score", f)])
    articles = pa.schema([
        ("id", s), ("title", s), ("text", s), ("language", s), ("language_prob", f), ("url", s), ("source", s),
        ("published", s), ("author", s), ("sitename", s), ("duplicates", pa.list_(duplicate)),
        ("edits", pa.list_(edit)), ("flags", pa.list_(s)), ("raw_chars", i),
    ])
    dropped = pa.schema([
        ("id", s), ("reason", s), ("detail", s), ("source", s), ("language", s), ("canonical", s),
        ("similarity", f), ("containment", f), ("relation", s), ("path", s), ("line", i), ("raw", s),
    ])
    return {"articles": articles, "dropped": dropped}


class JsonlWriter:
    suffix = ".jsonl"

    def write(self, path: Path, name: str, rows: Iterable[dict]) -> int:
        return write_jsonl(path, rows)

    def read(self, path: Path) -> Iterator[dict]:
        return read_jsonl(path)


class ParquetWriter:
    suffix = ".parquet"
    batch_rows = 2000
    compression = "zstd"

    def write(self, path: Path, name: str, rows: Iterable[dict]) -> int:
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = _schemas()[name]
        known = set(schema.names)
        n = 0
        with atomic_open(path, "wb") as fh:
            with pq.ParquetWriter(fh, schema, compression=self.compression) as writer:
                batch: list[dict] = []
                for row in rows:
                    extra = set(row) - known
                    if extra:
                        # A field the schema does not know would be lost
                        # silently: the schema (and its doc) must say it.
                        raise ValueError(f"{name} row {row.get('id')!r} has field(s) {sorted(extra)} "
                                         f"that the Parquet schema lacks (pipelines/formats/writers.py)")
                    batch.append(row)
                    if len(batch) >= self.batch_rows:
                        writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                        n += len(batch)
                        batch = []
                if batch or n == 0:
                    writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                    n += len(batch)
        return n

    def read(self, path: Path) -> Iterator[dict]:
        """Rows as dicts; a key the JSONL row leaves out is None here (and
        an edit's absent ``detail`` / ``score`` are left out, as
        :meth:`Edit.to_dict` does)."""
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        for batch in pf.iter_batches():
            for row in batch.to_pylist():
                if "edits" in row:
                    row["edits"] = [{k: v for k, v in e.items() if v is not None and (k != "detail" or v)} for e in row["edits"] or []]
                yield row


WRITERS: dict[str, JsonlWriter | ParquetWriter] = {
    "jsonl": JsonlWriter(),
    "parquet": ParquetWriter(),
}


def output_path(out: Path, name: str, fmt: str) -> Path:
    return Path(out) / f"{name}{WRITERS[fmt].suffix}"


def write_corpus(out: Path, formats: Iterable[str], rows: dict[str, Callable[[], Iterable[dict]]]) -> dict[str, int]:
    """Write every name of ``rows`` (name -> function giving its rows) in
    every format; remove the files of formats not asked for. Returns the
    row count per name."""
    formats = list(dict.fromkeys(formats))
    counts: dict[str, int] = {}
    for fmt in formats:
        for name, make in rows.items():
            counts[name] = WRITERS[fmt].write(output_path(out, name, fmt), name, make())
    for fmt in WRITERS:
        if fmt not in formats:
            for name in rows:
                output_path(out, name, fmt).unlink(missing_ok=True)
    return counts


def read_corpus(out: Path, name: str) -> Iterator[dict]:
    """The rows of ``name`` from whichever format the folder holds (JSONL
    first): the report and ``explain`` read the corpus through this."""
    for fmt, writer in WRITERS.items():
        path = output_path(out, name, fmt)
        if path.exists():
            return writer.read(path)
    return iter(())
