"""An Athena audit's result scored in byte ranges of at most ``RANGE_BYTES``, each within one
audit_poll invocation.

The final stage's poll finds the result's size (a HeadObject) and K = max(1, ⌈size /
RANGE_BYTES⌉). K = 1 (every result up to ≈ 2.4 M rows): the poll scores the whole result itself
and completes the audit, with no more job state and no more messages. K > 1: it records K on the
job (a conditional write: once) and sends K messages ``{audit_id, execution_id, range}`` on the
audit-poll queue, which Lambda's event source runs at once. Range i is bytes [i·size/K,
(i+1)·size/K). Every range skips the (file, voice) under way at its first record (the range
before scores it) and scores on through the (file, voice) under way at the first record at or
after its end, so every (file, voice) is scored exactly once, whatever the ranges cut. Each range
stores its matches in S3 (``athena-work/<audit>/matches-range-<i>-of-<K>.json``: a repeat writes
the same bytes) and adds i to the job's ``score_done`` set (conditional: each range once); the
write that makes the set whole gathers the ranges in order and completes the audit. A repeated
or stale message changes nothing; one for a recorded range when every range is recorded
completes the audit again (``service.complete`` is conditional), which finishes an audit whose
last range failed after recording."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from shared import aws, query_jobs, store
from shared.audits import engine, score, service
from shared.logging import logger
from shared.settings import get_settings

# a range's bytes: ≈ 2.4 M rows of ≈ 105 B, ≈ 40 s at 65 k rows/s (bench/audit_results.py;
# ≈ 70 s on a 1 GB Lambda's 0.58 vCPU if the rate scales), far inside one invocation
RANGE_BYTES = 256 << 20


def range_key(audit_id: str, part: int, ranges: int) -> str:
    return f"{engine.WORK_PREFIX}{audit_id}/matches-range-{part}-of-{ranges}.json"


def handle(job: dict[str, Any], stats: dict[str, Any], message: dict[str, Any]) -> str:
    """The final stage's poll or a range's message (the query SUCCEEDED) → done, K ranges,
    range i or ignored."""
    if "range" in message:
        return _score(job, stats, int(message["range"]))
    if "score_ranges" in job:
        return _fan_out(job, stats, int(job["score_bytes"]))  # the final poll again
    size = engine.result_size(stats["output"])
    if size <= RANGE_BYTES:
        whole = score.scored(engine.result_rows(stats["output"]))
        return _complete(job, stats, whole.matches, whole.rows, 1)
    return _fan_out(job, stats, size)


def _fan_out(job: dict[str, Any], stats: dict[str, Any], size: int) -> str:
    """Record the ranges once and send a message for each range not yet recorded."""
    if "score_ranges" not in job:
        count = -(-size // RANGE_BYTES)
        if not _claim(job, count, size):
            return "ignored"  # another delivery fanned out first
        job = {**job, "score_ranges": count, "score_bytes": size}
    elif job.get("score_fanned"):
        return "ignored"
    done = _done(job)
    for part in range(int(job["score_ranges"])):
        if part not in done:
            engine.score_range(job["audit_id"], job["athena_execution"], part)
    _update(job, "SET score_fanned = :true", {":true": True})
    return f"{job['score_ranges']} ranges"


def _claim(job: dict[str, Any], count: int, size: int) -> bool:
    return store.conditionally(
        lambda: _update(
            job,
            "SET score_ranges = :count, score_bytes = :size",
            {":count": count, ":size": size},
            " AND attribute_not_exists(score_ranges)",
        )
    )


def _update(job: dict[str, Any], expression: str, values: dict[str, Any], more: str = "") -> Any:
    """An update of the job while it is processing this very query (``more``: its condition's
    rest)."""
    return store.registry().update_item(
        Key=query_jobs.key(service.KIND, job["audit_id"]),
        UpdateExpression=expression,
        ConditionExpression="#status = :processing AND athena_execution = :e" + more,
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":processing": "processing", ":e": job["athena_execution"]}
        | values,
        ReturnValues="UPDATED_NEW",
    )


def _done(job: dict[str, Any]) -> set[int]:
    return {int(part) for part in job.get("score_done", set())}


def _score(job: dict[str, Any], stats: dict[str, Any], part: int) -> str:
    """Score range ``part``, store its matches, record it; complete if it was the last."""
    ranges, done = int(job.get("score_ranges", 0)), _done(job)
    if not 0 <= part < ranges:
        return "ignored"  # not a range of this audit's result
    if part in done:
        return _gathered(job, stats) if len(done) == ranges else "ignored"
    result = score.scored(owned(stats["output"], part, ranges, int(job["score_bytes"])))
    body = {"rows": result.rows, "matches": [asdict(m) for m in result.matches]}
    aws.s3.put(
        get_settings().bucket, range_key(job["audit_id"], part, ranges), json.dumps(body).encode()
    )
    logger.info("audit range scored", extra={"audit_id": job["audit_id"], "range": part})
    recorded: list[set[int]] = []
    if not store.conditionally(lambda: recorded.append(_record(job, part))):
        return "ignored"  # another delivery recorded this range first
    if len(recorded[0]) < ranges:
        return f"range {part}"
    return _gathered(job, stats)


def _record(job: dict[str, Any], part: int) -> set[int]:
    """Add ``part`` to the recorded ranges, once; the recorded ranges after."""
    reply = _update(
        job,
        "ADD score_done :part",
        {":part": {part}, ":n": part, ":ranges": int(job["score_ranges"])},
        " AND score_ranges = :ranges AND NOT contains(score_done, :n)",
    )
    return {int(p) for p in reply["Attributes"]["score_done"]}


def bounds(part: int, ranges: int, size: int) -> tuple[int, int]:
    """Range ``part``'s bytes [start, end) of a result of ``size`` bytes cut in ``ranges``."""
    return part * size // ranges, (part + 1) * size // ranges


def owned(location: str, part: int, ranges: int, size: int) -> Iterator[score.Row]:
    """The rows of the (file, voice) groups range ``part`` scores (its ``bounds``: [start,
    end)): from the first group that starts after its first record (or the result's first, for
    the first range) through the group under way at the first record at or after ``end``."""
    start, end = bounds(part, ranges, size)
    first = engine.record_start(location, start)
    if first >= size:
        return
    crossed, group = False, None
    for at, row in engine.result_rows_at(location, first):
        key = (row["file_id"], row["voice_no"])
        if key != group:  # a (file, voice) starts here
            if crossed:
                return  # the range after scores it
            group, skipping = key, start > 0 and at == first
        crossed = crossed or at >= end
        if not skipping:
            yield row


def _gathered(job: dict[str, Any], stats: dict[str, Any]) -> str:
    """Every range's stored matches, in the result's order, judged."""
    ranges, found, rows = int(job["score_ranges"]), [], 0
    for part in range(ranges):
        body = aws.s3.get(get_settings().bucket, range_key(job["audit_id"], part, ranges))
        if body is None:
            raise LookupError(f"the scored range {part} of audit {job['audit_id']} is gone")
        stored = json.loads(body)
        found += [score.FileMatch(**m) for m in stored["matches"]]
        rows += int(stored["rows"])
    return _complete(job, stats, found, rows, ranges)


def _complete(
    job: dict[str, Any], stats: dict[str, Any], found: list[score.FileMatch], rows: int, k: int
) -> str:
    summary = {"engine": "athena", "bytes_scanned": stats["bytes_scanned"], "result_rows": rows}
    try:
        service.complete(job, found, {**summary, "scored_ranges": k})
    except store.TransactionFailed:
        return "ignored"  # another delivery completed it first
    engine.drop_work_tables(job["audit_id"])
    return "done"
