"""DuckDB, embedded: the local stack's (and the tests') audit engine and Parquet writer. Imported
only where DuckDB is installed (the local stack, the client, the tests): no Lambda carries it."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from shared.audits.sql import render

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
    """The uploaded rows are not Parquet with the audit's columns."""


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


def audit_rows(
    dataset: list[Path],
    registry: list[Path],
    memory_limit: str | None = None,
    threads: int | None = None,
) -> list[dict[str, Any]]:
    """The audit SQL over local Parquet files → histogram rows (see shared/audits/sql.py)."""
    import duckdb

    if not dataset or not registry:
        return []
    config: dict[str, Any] = {"threads": threads} if threads else {}
    sources = [
        f"read_parquet([{', '.join(_quoted(p) for p in files)}])" for files in (dataset, registry)
    ]
    with tempfile.TemporaryDirectory() as spill:
        if memory_limit:  # beyond it DuckDB spills to disk (an in-memory database needs a folder)
            config |= {"memory_limit": memory_limit, "temp_directory": spill}
        with duckdb.connect(config=config) as con:
            try:
                cursor = con.execute(render(*sources))
            except (duckdb.InvalidInputException, duckdb.BinderException, duckdb.IOException) as e:
                raise InvalidDataset(str(e).splitlines()[0]) from None
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
