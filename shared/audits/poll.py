"""The audit_poll worker's rule: an Athena audit's query is looked at off the request path, one
delayed SQS message at a time (engine.watch). While the query runs the message is sent again
with a doubling delay; past engine.POLL_MAX_AGE_S the query is stopped and the audit fails with
a reason; a failed or cancelled query fails the audit; a finished stage starts the next of
engine.audit_statements_athena (the first two store tables), and the last one's result CSV is
read from S3 as a stream, scored by the matcher's rule and judged (service.complete): in this
invocation, or above ranges.RANGE_BYTES in byte ranges side by side (shared/audits/ranges.py:
a message a range on the same queue). The stored tables are dropped when the audit ends,
either way.

Idempotent: a message for an audit that is no longer ``processing`` with this very execution
(finished already, or started again) changes nothing."""

from __future__ import annotations

from typing import Any

from shared import query_jobs
from shared.audits import engine, ranges, service
from shared.clock import now
from shared.logging import logger


def handle(message: dict[str, Any]) -> str:
    """One poll or range message → what it did: ignored, waiting, stage N, K ranges, range i,
    expired, failed or done. A transient AWS error is raised (SQS delivers the message again);
    any other fails the audit."""
    from shared.voices.ingest import INTERNAL_ERROR, transient

    if "export_of" in message:  # a voice's export INSERT, not an audit
        from shared.audits import export

        return export.follow(message)
    audit_id, execution = str(message["audit_id"]), str(message["execution_id"])
    job = query_jobs.get(service.KIND, audit_id)
    if job is None or job["status"] != "processing" or job.get("athena_execution") != execution:
        return "ignored"  # a repeated message after completion, or a superseded query
    try:
        return _poll(job, message)
    except Exception as error:
        if transient(error):
            raise
        logger.exception("audit poll failed", extra={"audit_id": audit_id})
        _fail(audit_id, *INTERNAL_ERROR)
        return "failed"


def _poll(job: dict[str, Any], message: dict[str, Any]) -> str:
    audit_id, execution = job["audit_id"], job["athena_execution"]
    state, stats = engine.athena_state(execution)
    if state in engine.RUNNING:
        return _still_running(audit_id, execution, message)
    if state != "SUCCEEDED":
        logger.warning(
            "audit query ended",
            extra={"audit_id": audit_id, "state": state, "reason": stats["reason"]},
        )
        _fail(audit_id, *failure(state, stats["reason"]))
        return "failed"
    stage = int(job.get("athena_stage", engine.STAGES))
    if stage < engine.STAGES:
        return _next_stage(job, stage, message)
    return ranges.handle(job, stats, message)


def _next_stage(job: dict[str, Any], stage: int, message: dict[str, Any]) -> str:
    """Stage ``stage`` stored its table: start the next statement, and look at it later. The
    audit's age still counts from its first statement."""
    audit_id, was = job["audit_id"], job["athena_execution"]
    statement = engine.audit_statements_athena(audit_id, job["algorithm"])[stage]
    execution = engine.athena_start(statement)
    if not service.record_execution(audit_id, execution, stage + 1, was):
        engine.athena_stop(execution)  # another delivery started it first
        return "ignored"
    engine.watch(audit_id, execution, 0, float(message["started"]))
    return f"stage {stage + 1}"


# Athena's reasons for rows that do not fit the dataset table (its types, its Parquet): the
# uploader's to mend. Any other reason is the registry's, and names its tables and bucket.
DATA_ERRORS = (
    "HIVE_BAD_DATA",
    "HIVE_CANNOT_OPEN_SPLIT",
    "HIVE_CURSOR_ERROR",
    "HIVE_PARTITION_SCHEMA_MISMATCH",
    "INVALID_CAST_ARGUMENT",
    "NUMERIC_VALUE_OUT_OF_RANGE",
)


def failure(state: str, reason: str) -> tuple[str, str]:
    """The audit's error for a query that ended ``state`` with Athena's ``reason``: what the
    uploader can act on, without Athena's text (S3 paths, table names; it goes to the log)."""
    if any(code in reason for code in DATA_ERRORS) or "not a Parquet file" in reason:
        return (
            "invalid_dataset",
            "The upload is not audit rows: its columns or values do not fit "
            "(file_id, hash, frame and span, as integers).",
        )
    if state == "CANCELLED":
        return "query_failed", "The audit's query was CANCELLED; submit the audit again."
    return (
        "query_failed",
        f"The audit's query ended {state}; submit it again, and if it fails again, contact the "
        "association with the audit's id.",
    )


def _fail(audit_id: str, code: str, reason: str) -> None:
    query_jobs.fail(service.KIND, audit_id, code, reason)
    engine.drop_work_tables(audit_id)


def _still_running(audit_id: str, execution: str, message: dict[str, Any]) -> str:
    started = float(message["started"])
    if now().timestamp() - started > engine.POLL_MAX_AGE_S:
        engine.athena_stop(execution)
        hours = engine.POLL_MAX_AGE_S / 3600
        reason = (
            f"The audit's query ran longer than {hours:g} h and was stopped; "
            "audit the dataset in smaller parts, or ask the association."
        )
        _fail(audit_id, "query_timeout", reason)
        return "expired"
    engine.watch(audit_id, execution, int(message.get("attempt", 0)) + 1, started)
    return "waiting"
