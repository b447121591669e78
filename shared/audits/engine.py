"""Which SQL engine audits run on, and Athena's side of it.

The local stack runs DuckDB embedded (the same SQL over the same Parquet, fetched from the local
S3); a deployed stage runs Athena: the workgroup, Glue database and tables are in
infra/resources.yaml. ``AILAS_AUDIT_ENGINE`` overrides the choice (``duckdb`` or ``athena``)."""

from __future__ import annotations

import os
from typing import Any

from shared.audits.sql import render
from shared.aws import client
from shared.settings import get_settings

BUCKETS_SQL = 16  # must equal export.BUCKETS (the partition column is computed in SQL)


def name() -> str:
    chosen = os.environ.get("AILAS_AUDIT_ENGINE")
    return chosen or ("duckdb" if get_settings().stage == "local" else "athena")


def database() -> str:
    return f"ailas_{get_settings().stage}"


def workgroup() -> str:
    return f"ailas-{get_settings().stage}-audits"


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def export_insert_sql(voice_no: str, algorithm: str) -> str:
    """Athena writes a voice's staged pairs into the Parquet export (partition columns last)."""
    db = database()
    return (
        f"INSERT INTO {db}.fingerprint_export "  # noqa: S608 - quoted literals, our own names
        f"SELECT voice_no, hash, t, algorithm, CAST(hash % {BUCKETS_SQL} AS INTEGER) AS bucket "
        f"FROM {db}.fingerprint_staging "
        f"WHERE algorithm = {_literal(algorithm)} AND voice_no = {_literal(voice_no)}"
    )


def audit_sql_athena(audit_id: str, algorithm: str, voice_nos: list[str] | None = None) -> str:
    """The audit SQL over the Glue tables: the uploaded dataset (its audit_id partition) and the
    export (its algorithm partition)."""
    db = database()
    dataset = (
        f"(SELECT file_id, hash, frame, span FROM {db}.audit_dataset "  # noqa: S608
        f"WHERE audit_id = {_literal(audit_id)})"
    )
    registry = (
        f"(SELECT voice_no, hash, t FROM {db}.fingerprint_export "  # noqa: S608
        f"WHERE algorithm = {_literal(algorithm)})"
    )
    return render(dataset, registry)


def athena_start(sql: str) -> str:
    """Start a query in the stage's workgroup (which fixes the results location and the
    bytes-scanned limit); returns its execution id."""
    reply = client("athena").start_query_execution(
        QueryString=sql,
        WorkGroup=workgroup(),
        QueryExecutionContext={"Database": database()},
    )
    return str(reply["QueryExecutionId"])


def athena_state(execution_id: str) -> tuple[str, dict[str, Any]]:
    """QUEUED, RUNNING, SUCCEEDED, FAILED or CANCELLED, and the execution's statistics."""
    execution = client("athena").get_query_execution(QueryExecutionId=execution_id)
    query = execution["QueryExecution"]
    return query["Status"]["State"], {
        "bytes_scanned": query.get("Statistics", {}).get("DataScannedInBytes", 0),
        "reason": query["Status"].get("StateChangeReason", ""),
    }


def athena_rows(execution_id: str) -> list[dict[str, Any]]:
    """The result rows, typed as the SQL's columns (Athena returns text; a missing background
    bin stays None)."""
    pages = client("athena").get_paginator("get_query_results")
    rows: list[dict[str, Any]] = []
    names: list[str] = []
    for page in pages.paginate(QueryExecutionId=execution_id):
        for row in page["ResultSet"]["Rows"]:
            values = [cell.get("VarCharValue") for cell in row["Data"]]
            if not names:
                names = [str(v) for v in values]
                continue
            rows.append(
                {
                    k: (v if k == "voice_no" or v is None else int(v))
                    for k, v in zip(names, values, strict=True)
                }
            )
    return rows
