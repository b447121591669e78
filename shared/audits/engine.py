"""Which SQL engine audits run on, and Athena's side of it.

The local stack runs DuckDB embedded (the same SQL over the same Parquet, fetched from the local
S3); a deployed stage runs Athena: the workgroup, Glue database and tables are in
infra/resources.yaml. ``AILAS_AUDIT_ENGINE`` overrides the choice (``duckdb`` or ``athena``)."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import re
from collections.abc import Generator, Iterable, Iterator
from itertools import tee
from typing import Any

from shared import aws
from shared.audits.sql import stages
from shared.aws import client
from shared.clock import now
from shared.settings import get_settings

BUCKETS_SQL = 16  # must equal export.BUCKETS (the partition column is computed in SQL)
RESULTS_PREFIX = "athena-results/"  # the workgroup's OutputLocation in the audio bucket
WORK_PREFIX = "athena-work/"  # an audit's stored stages (expired by the bucket's lifecycle)
STAGES = 3  # sql.stages: two stored tables, then the result rows
RESULT_CHUNK_BYTES = 1 << 16  # a result CSV is read this many bytes at a time
# The audit-poll queue's schedule (functions/events/audit_poll.py): a first look after
# POLL_FIRST_S, the delay doubling up to POLL_MAX_DELAY_S (SQS allows 900 s); a query still
# running POLL_MAX_AGE_S after it started is stopped and its audit failed.
POLL_FIRST_S = 10
POLL_MAX_DELAY_S = 300
POLL_MAX_AGE_S = 2 * 3600


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


def _sources(audit_id: str, algorithm: str) -> tuple[str, str]:
    """The audit's two row sources over the Glue tables: the uploaded dataset (its audit_id
    partition) and the export (its algorithm partition)."""
    db = database()
    dataset = (
        f"(SELECT file_id, hash, frame, span FROM {db}.audit_dataset "  # noqa: S608
        f"WHERE audit_id = {_literal(audit_id)})"
    )
    registry = (
        f"(SELECT voice_no, hash, t FROM {db}.fingerprint_export "  # noqa: S608
        f"WHERE algorithm = {_literal(algorithm)})"
    )
    return dataset, registry


def work_tables(audit_id: str) -> tuple[str, str]:
    """The two tables an audit's first stages store (sql.stages), named after the audit: Glue
    table names are lower case letters, digits and underscores."""
    name = "audit_" + re.sub(r"[^a-z0-9]", "_", audit_id.lower())
    return f"{name}_fans", f"{name}_live"


def audit_statements_athena(audit_id: str, algorithm: str) -> tuple[str, str, str]:
    """The audit as Athena runs it: sql.stages' three statements, the first two stored as
    Parquet tables (CREATE TABLE … AS) under athena-work/<audit_id>/ and the third the result
    rows. One statement would do, but Trino runs a WITH query again at every reference to it:
    the join 134 times over (README)."""
    db = database()
    fans, live = work_tables(audit_id)
    one, two, three = stages(*_sources(audit_id, algorithm), f"{db}.{fans}", f"{db}.{live}")
    where = f"s3://{get_settings().bucket}/{WORK_PREFIX}{audit_id}"

    def stored(table: str, sql: str) -> str:
        return (
            f"CREATE TABLE {db}.{table} WITH (format = 'PARQUET', "
            f"external_location = '{where}/{table}/') AS {sql}"
        )

    return stored(fans, one), stored(live, two), three


def drop_work_tables(audit_id: str) -> None:
    """Forget the audit's work tables (their files expire with the athena-work/ lifecycle)."""
    glue = client("glue")
    for table in work_tables(audit_id):
        # never made (a stage failed first), or dropped by an earlier delivery: nothing to do
        with contextlib.suppress(glue.exceptions.EntityNotFoundException):
            glue.delete_table(DatabaseName=database(), Name=table)


def results_location() -> str:
    """Where the workgroup writes query results (its enforced OutputLocation)."""
    return f"s3://{get_settings().bucket}/{RESULTS_PREFIX}"


def athena_start(sql: str, request: str | None = None) -> str:
    """Start a query in the stage's workgroup (which fixes the results location and the
    bytes-scanned limit); returns its execution id. The location is passed as well: the
    workgroup enforces the same one, and moto writes the result CSV only where it is told.
    ``request``: a name for this start; the same name never starts a second query (Athena's
    ClientRequestToken, 32–128 characters: hashed to 64)."""
    token = {"ClientRequestToken": hashlib.sha256(request.encode()).hexdigest()} if request else {}
    reply = client("athena").start_query_execution(
        QueryString=sql,
        WorkGroup=workgroup(),
        QueryExecutionContext={"Database": database()},
        ResultConfiguration={"OutputLocation": results_location()},
        **token,
    )
    return str(reply["QueryExecutionId"])


def athena_stop(execution_id: str) -> None:
    client("athena").stop_query_execution(QueryExecutionId=execution_id)


RUNNING = ("QUEUED", "RUNNING")  # an execution not ended yet


def athena_state(execution_id: str) -> tuple[str, dict[str, Any]]:
    """QUEUED, RUNNING, SUCCEEDED, FAILED or CANCELLED, and the execution's statistics, reason
    and result CSV (``<results location><execution id>.csv``)."""
    execution = client("athena").get_query_execution(QueryExecutionId=execution_id)
    query = execution["QueryExecution"]
    output = query.get("ResultConfiguration", {}).get("OutputLocation")
    return query["Status"]["State"], {
        "bytes_scanned": query.get("Statistics", {}).get("DataScannedInBytes", 0),
        "reason": query["Status"].get("StateChangeReason", ""),
        "output": output or f"{results_location()}{execution_id}.csv",
    }


def typed(names: list[str], values: list[str]) -> dict[str, Any]:
    """One result row typed as the SQL's columns: Athena writes text; every column but voice_no
    is an integer, and a missing background bin (NULL: an empty field) stays None."""
    return {
        k: (v if k == "voice_no" else int(v) if v else None)
        for k, v in zip(names, values, strict=True)
    }


def _records(chunks: Iterable[bytes], start: int) -> Iterator[tuple[int, bytes]]:
    """A CSV body's records, each with the byte offset it starts at (``start`` being the first
    chunk's). A record ends at a line break outside quotes: after an even number of quote
    characters since its start (RFC 4180 doubles a quote inside a quoted field), so a quoted
    line break stays in its field, and a record may straddle any number of chunks."""
    pending, at = b"", start  # what is not yielded yet (the record under way), and where
    for chunk in chunks:
        data = pending + chunk
        begin, position, quoted = 0, 0, False
        for line in data.split(b"\n")[:-1]:  # the last piece has no line break yet
            end = position + len(line)
            quoted ^= line.count(b'"') % 2 == 1
            if not quoted:
                yield at + begin, line if begin == position else data[begin:end]
                begin = end + 1
            position = end + 1
        pending, at = data[begin:], at + begin
    if pending.strip():
        yield at, pending


def _bucket_key(location: str) -> tuple[str, str]:
    """``s3://bucket/key`` → (bucket, key)."""
    bucket, _, key = location.removeprefix("s3://").partition("/")
    return bucket, key


def _body_records(
    location: str, start: int, chunk_bytes: int
) -> Generator[tuple[int, bytes], None, None]:
    """The records of a result CSV in S3 from byte ``start`` on (a ranged GET), streamed."""
    chunks = aws.s3.chunks(*_bucket_key(location), start, chunk_bytes)
    try:
        yield from _records(chunks, start)
    finally:
        chunks.close()


def _parsed(records: Iterable[tuple[int, bytes]]) -> Iterator[tuple[int, list[str]]]:
    """Each record's fields, by one csv reader for the stream (one record a line given)."""
    offsets, texts = tee(records)
    fields = csv.reader(record.decode("utf-8") for _, record in texts)
    return ((offset, values) for (offset, _), values in zip(offsets, fields, strict=True))


def result_rows_at(
    location: str, start: int = 0, chunk_bytes: int | None = None
) -> Iterator[tuple[int, dict[str, Any]]]:
    """The rows of a query's result CSV in S3 (header first, as Athena writes it) from the
    record starting at byte ``start`` (0: the header), each with its byte offset: where a
    later read may start again. Read as a stream, one chunk of the body in memory at a time;
    from a later offset the header is read apart."""
    size = chunk_bytes or RESULT_CHUNK_BYTES
    records = _parsed(_body_records(location, start, size))
    if start:
        names = _header(location, size)
    else:
        first = next(records, None)
        names = first[1] if first else []
    yield from _typed_rows(names, records)


def _typed_rows(
    names: list[str], records: Iterable[tuple[int, list[str]]]
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each record typed (``typed``). The audit's rows repeat their tempo factor's evidence
    in every column but the last two (the anchor times), so those are typed once per run of
    equal values: typing every column of every row was about a quarter of the scoring."""
    if "voice_no" in names[-2:]:  # not the audit's columns: each record alone
        yield from ((offset, typed(names, values)) for offset, values in records if values)
        return
    head, (qt, vt) = names[:-2], names[-2:]
    last: list[str] | None = None
    prefix: dict[str, Any] = {}
    for offset, values in records:
        if not values:
            continue
        if values[:-2] != last:
            last, prefix = values[:-2], typed(head, values[:-2])
        row, q, v = prefix.copy(), values[-2], values[-1]
        row[qt], row[vt] = int(q) if q else None, int(v) if v else None
        yield offset, row


def result_size(location: str) -> int:
    """A query's result CSV's size in bytes (a HeadObject)."""
    return int(aws.s3.head(*_bucket_key(location))["ContentLength"])


def record_start(location: str, at: int, chunk_bytes: int | None = None) -> int:
    """The first record of a result CSV that starts at or after byte ``at`` (the size if none):
    after the first line break from byte ``at`` − 1 on. The audit's result has no line break
    inside a field (its columns are numbers and voice numbers), so every line break ends a
    record and a range's first record is found without reading from the start."""
    if at == 0:
        return 0
    position = at - 1
    chunks = aws.s3.chunks(*_bucket_key(location), position, chunk_bytes or RESULT_CHUNK_BYTES)
    try:
        for chunk in chunks:
            if (found := chunk.find(b"\n")) >= 0:
                return position + found + 1
            position += len(chunk)
    finally:
        chunks.close()
    return position


def _header(location: str, chunk_bytes: int) -> list[str]:
    """A result CSV's column names: its first record, and no more of the body read."""
    records = _body_records(location, 0, chunk_bytes)
    try:
        first = next(records, None)
    finally:
        records.close()
    return next(csv.reader([first[1].decode("utf-8")])) if first else []


def result_rows(location: str, chunk_bytes: int | None = None) -> Iterator[dict[str, Any]]:
    """The rows of a query's result CSV in S3, streamed (``result_rows_at`` from its start)."""
    return (row for _, row in result_rows_at(location, 0, chunk_bytes))


def poll_queue_url() -> str:
    return aws.sqs.stage_queue(get_settings().audit_poll_queue_url, "audit-poll")


def watch(audit_id: str, execution_id: str, attempt: int = 0, started: float | None = None) -> int:
    """Ask the audit-poll worker to look at the query later (a delayed SQS message: durable, and
    off the request path); returns the delay in seconds."""
    message = {
        "audit_id": audit_id,
        "execution_id": execution_id,
        "started": now().timestamp() if started is None else started,
    }
    return _look_later(message, attempt)


def watch_export(voice_no: str, algorithm: str, execution_id: str, attempt: int = 0) -> int:
    """Ask the audit-poll worker to look at a voice's export INSERT later (export.follow)."""
    message = {"export_of": voice_no, "algorithm": algorithm, "execution_id": execution_id}
    return _look_later(message, attempt)


def _look_later(message: dict[str, Any], attempt: int) -> int:
    """One delayed audit-poll message, the delay doubling with ``attempt`` up to its cap."""
    delay = min(POLL_MAX_DELAY_S, POLL_FIRST_S * 2**attempt)
    client("sqs").send_message(
        QueueUrl=poll_queue_url(),
        MessageBody=json.dumps({**message, "attempt": attempt}),
        DelaySeconds=delay,
    )
    return delay


def score_range(audit_id: str, execution_id: str, part: int) -> None:
    """Ask the audit-poll worker to score range ``part`` of the result (shared/audits/
    ranges.py), at once."""
    message = {"audit_id": audit_id, "execution_id": execution_id, "range": part}
    client("sqs").send_message(QueueUrl=poll_queue_url(), MessageBody=json.dumps(message))
