"""An Athena audit's result scored in parts, each within one audit_poll invocation.

At catalogue scale the result CSV can hold ~10⁹ rows: more than one Lambda invocation (15
minutes) can score. So the worker scores until its budget is spent (the invocation's remaining
time less ``PART_MARGIN_S``, or ``PART_ROWS`` rows), stopping only where a (file, voice) starts,
stores the part's matches in S3 (``athena-work/<audit_id>/matches-<part>-<start>-<end>.json``,
named by the byte range it scored, so two deliveries that scored the same range write the same
bytes), records where the part ended on the job (a conditional write on its part counter), and
sends itself a continuation message (part, byte offset) on the same queue. The next part reads
the CSV from that offset with a ranged GET. The part that reaches the end gathers every part's
matches in order and completes the audit once.

Idempotent under at-least-once delivery: a message for a part the job does not await (an
older part, another offset) changes nothing; one for the part recorded last sends its
continuation only if that was not sent yet (``score_sent``), or completes the audit again if
it was the last (``service.complete`` is conditional on ``processing``)."""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from typing import Any

from shared import aws, query_jobs, store
from shared.audits import engine, ranges, score, service
from shared.logging import logger
from shared.settings import get_settings

PART_MARGIN_S = 120.0  # left of an invocation when its part stops: store, record, send or judge
PART_ROWS: int | None = None  # rows a part may read at most (tests); None: time decides
END = -1  # a part's end offset when it reached the end of the result


@dataclass(frozen=True)
class Budget:
    """How long a part may score: until ``deadline`` (time.monotonic) or ``rows`` rows."""

    deadline: float = math.inf
    rows: int | None = None

    @classmethod
    def of(cls, remaining_ms: int | None) -> Budget:
        """The invocation's remaining time (Lambda's context) less the margin; none locally."""
        left = math.inf if remaining_ms is None else remaining_ms / 1000 - PART_MARGIN_S
        return cls(time.monotonic() + left, PART_ROWS)

    def spent(self, rows: int) -> bool:
        over = self.rows is not None and rows >= self.rows
        return over or time.monotonic() >= self.deadline


def part_key(audit_id: str, part: int, start: int, end: int) -> str:
    last = "end" if end == END else str(end)
    return f"{engine.WORK_PREFIX}{audit_id}/matches-{part}-{start}-{last}.json"


def _ends(job: dict[str, Any]) -> list[int]:
    """Where each recorded part ended (``END`` for the last one)."""
    return [int(e) for e in job.get("score_ends", [])]


def next_part(
    job: dict[str, Any], stats: dict[str, Any], message: dict[str, Any], budget: Budget
) -> str:
    """The result's next part for a message asking for it (the final stage's poll message
    is part 0): part N, done, or ignored; a result above ranges.RANGE_BYTES is scored in
    ranges side by side instead."""
    if ranges.wanted(job, stats, message):
        return ranges.handle(job, stats, message)  # a large result: ranges side by side
    part, ends = int(message.get("part", 0)), _ends(job)
    if part == len(ends) - 1:
        return _onward(job, stats, part)  # recorded: its continuation may not have left
    start = ends[-1] if ends else 0
    if part != len(ends) or (part and int(message.get("offset", END)) != start):
        return "ignored"  # an older part, or not where this audit's next part starts
    begun = time.monotonic()
    result = score.scored(engine.result_rows_at(stats["output"], start), budget.spent)
    end = END if result.next_at is None else result.next_at
    body = {"rows": result.rows, "matches": [asdict(m) for m in result.matches]}
    key = part_key(job["audit_id"], part, start, end)
    aws.s3.put(get_settings().bucket, key, json.dumps(body).encode())
    seconds = time.monotonic() - begun
    logger.info(
        "audit part scored",
        extra={"audit_id": job["audit_id"], "part": part, "rows": result.rows, "s": seconds},
    )
    if not _record(job, part, end):
        return "ignored"  # another delivery recorded this part first
    return _onward({**job, "score_ends": [*ends, end]}, stats, part)


def _record(job: dict[str, Any], part: int, end: int) -> bool:
    """The part's end, appended if the job still awaits this very part of this query."""
    counted = "attribute_not_exists(score_parts)" if part == 0 else "score_parts = :part"
    values = {":e": job["athena_execution"], ":processing": "processing", ":end": [end]}
    values |= {":parts": part + 1} | ({":part": part} if part else {})
    ends = "list_append(score_ends, :end)" if part else ":end"
    return store.conditionally(
        lambda: store.registry().update_item(
            Key=query_jobs.key(service.KIND, job["audit_id"]),
            UpdateExpression=f"SET score_parts = :parts, score_ends = {ends}",
            ConditionExpression=f"#status = :processing AND athena_execution = :e AND {counted}",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=values,
        )
    )


def _onward(job: dict[str, Any], stats: dict[str, Any], part: int) -> str:
    """After part ``part`` was recorded: complete the audit if it was the last, else ask for
    the next part once."""
    ends = _ends(job)
    if ends[part] == END:
        return _complete(job, stats)
    if int(job.get("score_sent", 0)) > part:
        return "ignored"  # its continuation was sent
    engine.continue_scoring(job["audit_id"], job["athena_execution"], part + 1, ends[part])
    store.conditionally(
        lambda: store.registry().update_item(
            Key=query_jobs.key(service.KIND, job["audit_id"]),
            UpdateExpression="SET score_sent = :next",
            ConditionExpression="#status = :processing",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":next": part + 1, ":processing": "processing"},
        )
    )
    return f"part {part + 1}"


def _gather(job: dict[str, Any]) -> tuple[list[score.FileMatch], int]:
    """Every recorded part's matches, in the result's order, and the rows they read."""
    ends, found, rows = _ends(job), [], 0
    for part, end in enumerate(ends):
        start = ends[part - 1] if part else 0
        body = aws.s3.get(get_settings().bucket, part_key(job["audit_id"], part, start, end))
        if body is None:
            raise LookupError(f"the scored part {part} of audit {job['audit_id']} is gone")
        stored = json.loads(body)
        found += [score.FileMatch(**m) for m in stored["matches"]]
        rows += int(stored["rows"])
    return found, rows


def _complete(job: dict[str, Any], stats: dict[str, Any]) -> str:
    matched, rows = _gather(job)
    summary = {"engine": "athena", "bytes_scanned": stats["bytes_scanned"], "result_rows": rows}
    try:
        service.complete(job, matched, {**summary, "scored_parts": len(_ends(job))})
    except store.TransactionFailed:
        return "ignored"  # a second delivery of the last part finished it first
    engine.drop_work_tables(job["audit_id"])
    return "done"
