"""DuckDB, embedded: the local stack's (and the tests') audit engine and Parquet writer. Imported
only where DuckDB is installed (the local stack, the client, the tests): no Lambda carries it."""

from __future__ import annotations

import os
import tempfile
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from shared.audits.sql import render
from shared.fingerprint_index import CAP

# Parquet column types that DuckDB and Athena (Trino) read alike (no unsigned integers).
TYPES = {
    "hash": "BIGINT",
    "t": "INTEGER",
    "frame": "INTEGER",
    "file_id": "INTEGER",
    "span": "INTEGER",
    "voice_no": "VARCHAR",
}


class InvalidDataset(Exception):
    """The uploaded rows are not Parquet with the audit's columns; the message is for the
    uploader (no server path or engine text)."""


# What an audit's uploaded rows hold (client/ailas/dataset.py writes them): integers, none
# empty, within bounds the SQL's INTEGER arithmetic (extent + 2·span) cannot overflow.
DATASET_COLUMNS = ("file_id", "hash", "frame", "span")
MAX_FRAMES = 2**24  # frames of one file: ~6 days of audio at the fingerprint's hop
INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"}
INTEGERS |= {"U" + name for name in INTEGERS}


def check_dataset(path: Path, files: int) -> int:
    """Raise InvalidDataset unless ``path`` is Parquet with the audit's columns as integers in
    range, its files numbered 0 … ``files`` − 1 as the request declared; returns its rows."""
    import duckdb

    source = f"read_parquet({_quoted(path)})"
    with duckdb.connect(config={"threads": 1}) as con:
        try:
            described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()  # noqa: S608
        except duckdb.Error:
            raise InvalidDataset("it is not a Parquet file") from None
        types = {str(row[0]): str(row[1]) for row in described}
        if missing := [c for c in DATASET_COLUMNS if c not in types]:
            raise InvalidDataset(
                f"it has no column {', '.join(missing)} (its columns must be "
                f"{', '.join(DATASET_COLUMNS)}, integers)"
            )
        if wrong := [f"{c} is {types[c]}" for c in DATASET_COLUMNS if types[c] not in INTEGERS]:
            raise InvalidDataset(f"{'; '.join(wrong)}, where an integer is needed")
        bounds = {
            "file_id": (0, files - 1),
            "hash": (0, 2**63 - 1),
            "frame": (0, MAX_FRAMES - 1),
            "span": (1, MAX_FRAMES),
        }
        measures = ", ".join(f"count(*) - count({c}), min({c}), max({c})" for c in bounds)
        try:
            row = con.execute(f"SELECT count(*), {measures} FROM {source}").fetchone()  # noqa: S608
        except duckdb.Error:
            raise InvalidDataset("a part of it could not be read (damaged)") from None
    assert row is not None  # an aggregate has one row
    for i, (column, (low, high)) in enumerate(bounds.items()):
        empty, least, most = row[1 + 3 * i : 4 + 3 * i]
        if empty:
            raise InvalidDataset(f"{empty:,} of its {column} values are empty (null)")
        for value in (least, most):
            if value is not None and not low <= value <= high:
                declared = f" (the request declared {files:,} files)" if column == "file_id" else ""
                raise InvalidDataset(
                    f"its {column} values include {value:,}, outside {low:,} … {high:,}{declared}"
                )
    return int(row[0])


def _quoted(path: str | Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def write_parquet(path: Path, columns: dict[str, np.ndarray]) -> int:
    """Columns of equal length → one Parquet file (zstd); returns its size in bytes."""
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.register("source", columns)
    select = ", ".join(f"CAST({name} AS {TYPES.get(name, 'BIGINT')}) AS {name}" for name in columns)
    con.execute(
        f"COPY (SELECT {select} FROM source) TO {_quoted(path)} "  # noqa: S608 - our names
        "(FORMAT parquet, COMPRESSION zstd)"
    )
    con.close()
    return path.stat().st_size


# Every (file, voice) is decided on its own, so the dataset is joined a few files at a time: a
# batch's votes grow with its rows × the registry's rows, and a batch stays under this product
# (3.2 M × 0.6 M rows peaked at 1.8 GB on bench/audit_scale.py's speech; 10 h × 10 h in one
# query spilled over 30 GB).
BATCH_ROWS_PRODUCT = 1.0e12
FETCH_ROWS = 50_000  # result rows converted at a time


def file_batches(con: Any, dataset: str, registry: str, at_once: int = 1) -> list[tuple[int, int]]:
    """Ranges of file_id whose rows × the registry's rows stay under BATCH_ROWS_PRODUCT shared
    by the ``at_once`` batches that run together (a file larger than that is a batch alone)."""
    registry_rows = int(con.execute(f"SELECT count(*) FROM {registry}").fetchone()[0])  # noqa: S608
    per_file = con.execute(
        f"SELECT file_id, count(*) FROM {dataset} GROUP BY file_id ORDER BY file_id"  # noqa: S608
    ).fetchall()
    budget = BATCH_ROWS_PRODUCT / at_once / max(registry_rows, 1)
    ranges: list[tuple[int, int]] = []
    rows = 0
    for file_id, count in per_file:
        if ranges and rows + count <= budget:
            ranges[-1] = (ranges[-1][0], int(file_id))
            rows += count
        else:
            ranges.append((int(file_id), int(file_id)))
            rows = count
    return ranges


def _kept_registry(con: Any, registry: str) -> str:
    """The registry's rows without the keys the index stop-lists, as a table made once per audit.
    Each batch then reads only the rows of its own keys: the SQL's stop-list finds nothing more
    to stop there (every row of a kept key is passed), and a key no file of the batch holds
    makes no vote, so the rows are the same as over the whole registry, without re-counting
    5.8 M postings per batch (≈ 1.4 CPU s each, 413 batches at 10 h × 10 h)."""
    con.execute(  # a table of the (private, in-memory) database: every cursor reads it
        f"CREATE TABLE audit_registry AS SELECT voice_no, hash, t FROM {registry} "  # noqa: S608
        f"WHERE hash IN (SELECT hash FROM {registry} GROUP BY hash HAVING count(*) < {CAP})"
    )
    return "audit_registry"


def _executed(cursor: Any, sql: str) -> Any:
    """``sql`` run to its end on its own cursor (DuckDB releases the GIL meanwhile)."""
    cursor.execute(sql)
    return cursor


def _rows(cursor: Any) -> Iterator[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    try:
        while chunk := cursor.fetchmany(FETCH_ROWS):
            yield from (dict(zip(names, values, strict=True)) for values in chunk)
    finally:
        cursor.close()


def _in_order(con: Any, statements: Iterable[str], workers: int) -> Iterator[dict[str, Any]]:
    """The statements run ``workers`` at a time, each on one DuckDB thread; their rows in the
    statements' order. A batch is a few seconds of small operators, so one thread per batch
    keeps both cores busy where two threads on one batch left them half idle and spent about
    a quarter more CPU (README, "Measured figures")."""
    pending: deque[Future[Any]] = deque()
    with ThreadPoolExecutor(workers) as pool:
        try:
            for sql in statements:
                pending.append(pool.submit(_executed, con.cursor(), sql))
                if len(pending) > workers:  # one queued: a thread never waits for the reader
                    yield from _rows(pending.popleft().result())
            while pending:
                yield from _rows(pending.popleft().result())
        finally:
            for future in pending:  # the reader stopped early: start nothing more
                future.cancel()


def _statements(con: Any, source: str, kept: str, at_once: int) -> Iterator[str]:
    """The audit SQL per batch of files, each batch given only its own keys' postings."""
    for first, last in file_batches(con, source, kept, at_once):
        where = f"WHERE file_id BETWEEN {first} AND {last}"  # integers we read
        batch = f"(SELECT * FROM {source} {where})"  # noqa: S608
        met = f"(SELECT * FROM {kept} WHERE hash IN (SELECT hash FROM {batch}))"  # noqa: S608
        yield render(batch, met)


def iter_audit_rows(
    dataset: list[Path],
    registry: list[Path],
    memory_limit: str | None = None,
    threads: int | None = None,
) -> Iterator[dict[str, Any]]:
    """The audit SQL over local Parquet files, a batch of files at a time, ``threads`` batches
    at once (default: the machine's cores) → the rows of shared/audits/sql.py, in its order,
    streamed: a 10 h dataset's millions of rows are never all held at once (score.matches
    reads them one (file, voice, tempo) group at a time)."""
    import duckdb

    if not dataset or not registry:
        return
    config: dict[str, Any] = {"threads": 1}  # per query: the batches are the parallel work
    source, registry_source = (
        f"read_parquet([{', '.join(_quoted(p) for p in files)}])" for files in (dataset, registry)
    )
    with tempfile.TemporaryDirectory() as spill:
        if memory_limit:  # beyond it DuckDB spills to disk (an in-memory database needs a folder)
            config |= {"memory_limit": memory_limit, "temp_directory": spill}
        with duckdb.connect(config=config) as con:
            try:
                kept = _kept_registry(con, registry_source)
                workers = threads or os.cpu_count() or 1
                yield from _in_order(con, _statements(con, source, kept, workers), workers)
            except (
                duckdb.InvalidInputException,
                duckdb.BinderException,
                duckdb.IOException,
                duckdb.OutOfRangeException,
                duckdb.ConversionException,
            ):
                # check_dataset names what is wrong; this is what it cannot see beforehand (a
                # file whose Parquet statistics, which its min/max may be read from, lie)
                raise InvalidDataset("it could not be read as audit rows") from None


def audit_rows(
    dataset: list[Path],
    registry: list[Path],
    memory_limit: str | None = None,
    threads: int | None = None,
) -> list[dict[str, Any]]:
    """All of ``iter_audit_rows`` as a list (tests and benchmarks that count or compare rows)."""
    return list(iter_audit_rows(dataset, registry, memory_limit, threads))
