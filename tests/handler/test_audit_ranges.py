"""An Athena audit's result above ranges.RANGE_BYTES scored in byte ranges side by side
(shared/audits/ranges.py), through the audit_poll handler on moto as AWS runs it: the final
poll sends a message a range on the same queue, and the range that completes the set judges.
(A result within one range is scored by the final poll itself: test_dataset_audits.py.)"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from infra.local_worker import SqsPoller
from shared import aws, query_jobs
from shared.audio.engine import AUDIT_ALGORITHM
from shared.audits import duck, engine, export, ranges, score, service
from shared.aws import client
from shared.settings import get_settings
from tests import audiofiles
from tests.handler.test_dataset_audits import (
    RATE,
    _as_athena_stores,
    _athena_audit,
    _athena_will_return,
    _dataset,
    _deliver,
    _plain_s3,  # noqa: F401 - the module's autouse fixture
    _poll_worker,
)
from tests.handler.test_dataset_audits import scene as scene  # a fixture

Rows = list[dict[str, Any]]


def _rows(scene: dict[str, Any], tmp_path: Path) -> tuple[bytes, Rows]:
    """Four files, four (file, voice) groups in the result, three of them matches: the rows
    DuckDB returns for the audit's SQL (what Athena's result CSV holds)."""
    a, b = scene["speech"]["a"], scene["speech"]["b"]
    clips = [a[2 * RATE : 6 * RATE], b[RATE : 5 * RATE], a[4 * RATE :], audiofiles.speech(4, 13)]
    body = _dataset(tmp_path, clips)
    (tmp_path / "export").mkdir(exist_ok=True)
    registry_files = export.download(AUDIT_ALGORITHM, tmp_path / "export")
    return body, list(duck.iter_audit_rows([tmp_path / "d.parquet"], registry_files))


def _groups(rows: Rows) -> list[tuple[int, str]]:
    return list(dict.fromkeys((r["file_id"], r["voice_no"]) for r in rows))


def _to_last_stage(registry: Any, scene: dict[str, Any], body: bytes, rows: Rows) -> Any:
    """An audit on Athena whose two stored stages ran: the next poll scores the result."""
    _athena_will_return(rows)
    job = _athena_audit(registry, scene, body)
    _as_athena_stores(job["audit_id"])
    return job


def _drain(worker: SqsPoller) -> int:
    delivered = 0
    while count := _deliver(worker):
        delivered += count
    return delivered


def _waiting() -> int:
    return aws.sqs.waiting(engine.poll_queue_url())


def _send(message: dict[str, Any]) -> None:
    client("sqs").send_message(QueueUrl=engine.poll_queue_url(), MessageBody=json.dumps(message))


@pytest.fixture
def athena(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AILAS_AUDIT_ENGINE", "athena")
    monkeypatch.setattr(engine, "POLL_FIRST_S", 0)  # each look now, not in 10 s


def test_the_result_is_read_from_any_group_start_with_quoted_fields_across_chunks() -> None:
    """Byte offsets stay true where a quoted field holds commas, quotes and a line break, and a
    record straddles several 5-byte chunks: reading from each row's offset gives the rest."""
    names = ["file_id", "voice_no", "votes"]
    values = [["0", 'V-1,"a"\nb', "3"], ["0", "V-2", ""], ["1", "ボイス", "12"], ["2", "x", "7"]]
    quoted = [",".join('"' + v.replace('"', '""') + '"' for v in row) for row in [names, *values]]
    location = f"s3://{get_settings().bucket}/athena-results/quoted.csv"
    aws.s3.put(get_settings().bucket, "athena-results/quoted.csv", "\n".join(quoted).encode())
    everything = list(engine.result_rows_at(location, 0, chunk_bytes=5))
    assert [r["voice_no"] for _, r in everything] == [v[1] for v in values]
    assert everything[1][1]["votes"] is None and everything[0][1]["votes"] == 3
    for n, (offset, _) in enumerate(everything):
        assert list(engine.result_rows_at(location, offset, chunk_bytes=5)) == everything[n:]


def _failing_once(put: Callable[..., None], marker: str) -> Callable[..., None]:
    failed: list[str] = []

    def flaky(bucket: str, key: str, body: bytes) -> None:
        if marker in key and not failed:
            failed.append(key)
            error = {"Error": {"Code": "SlowDown"}, "ResponseMetadata": {"HTTPStatusCode": 503}}
            raise ClientError(error, "PutObject")
        put(bucket, key, body)

    return flaky


def test_a_range_that_fails_is_retried_or_fails_its_audit(
    registry: Any,
    app: Any,
    scene: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    athena: None,
) -> None:
    body, rows = _rows(scene, tmp_path)
    whole, third = [m.as_dict() for m in score.matches(rows)], _groups(rows)[2]
    # S3 refuses range 1's matches once (503 SlowDown): SQS delivers its message again
    monkeypatch.setattr(aws.s3, "put", _failing_once(aws.s3.put, "/matches-range-1-"))
    first = _poll_worker(app)  # a failed message comes back at once (Lambda: after 90 min)
    worker = SqsPoller(first.handler, first.name, first.queue_url, first.queue_arn, retry_after_s=0)
    job = _to_last_stage(registry, scene, body, rows)
    _in_three_ranges(worker, job["audit_id"], monkeypatch)
    assert _drain(worker) == 1 + 3 + 1  # the fan-out, three ranges, range 1 again
    done = query_jobs.get(service.KIND, job["audit_id"])
    assert done["status"] == "done" and service.json_result(job["audit_id"])["matches"] == whole
    # the third (file, voice)'s second row is no row Athena could write: the range that scores
    # it fails the audit, with a reason; the ranges after it change nothing
    second = [n for n, r in enumerate(rows) if (r["file_id"], r["voice_no"]) == third][1]
    bad = [{**r, "votes": "x"} if n == second else r for n, r in enumerate(rows)]
    job = _to_last_stage(registry, scene, body, bad)
    _in_three_ranges(worker, job["audit_id"], monkeypatch)
    assert _drain(worker) == 1 + 3 and _waiting() == 0
    failed = query_jobs.get(service.KIND, job["audit_id"])
    assert (failed["status"], failed["error"]["code"]) == ("failed", "internal_error")
    assert len(failed.get("score_done", set())) < 3
    tables = client("glue").get_tables(DatabaseName=engine.database())["TableList"]
    assert not {t["Name"] for t in tables} & set(engine.work_tables(job["audit_id"]))


def _in_three_ranges(worker: SqsPoller, audit_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The two stored stages delivered; RANGE_BYTES set so the result is three ranges."""
    assert _deliver(worker) == 1 and _deliver(worker) == 1
    execution = query_jobs.get(service.KIND, audit_id)["athena_execution"]
    size = engine.result_size(engine.athena_state(execution)[1]["output"])
    monkeypatch.setattr(ranges, "RANGE_BYTES", size // 3 + 1)


def test_a_large_result_scored_in_ranges_side_by_side_gives_exactly_the_matches_of_the_whole(
    registry: Any,
    app: Any,
    scene: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    athena: None,
) -> None:
    body, rows = _rows(scene, tmp_path)
    whole = [m.as_dict() for m in score.matches(rows)]
    monkeypatch.setattr(engine, "RESULT_CHUNK_BYTES", 7)  # records straddle chunks
    job = _to_last_stage(registry, scene, body, rows)
    worker = _poll_worker(app)
    assert _deliver(worker) == 1 and _deliver(worker) == 1  # the two stored stages
    audit_id = job["audit_id"]
    execution = query_jobs.get(service.KIND, audit_id)["athena_execution"]
    size = engine.result_size(engine.athena_state(execution)[1]["output"])
    monkeypatch.setattr(ranges, "RANGE_BYTES", size // 5 + 1)  # five ranges, cutting groups
    assert _deliver(worker) == 1 and _waiting() == 5  # the final poll fans out
    fanned = query_jobs.get(service.KIND, audit_id)
    assert (fanned["score_ranges"], fanned["score_bytes"]) == (5, size)
    # repeats and strays before any range is scored: every range again, the final poll again,
    # a range this result does not have, and a range of a superseded execution
    message = {"audit_id": audit_id, "execution_id": execution}
    for part in range(5):
        _send({**message, "range": part})
    engine.watch(audit_id, execution)
    _send({**message, "range": 5})
    _send({**message, "range": 0, "execution_id": "superseded"})
    assert _drain(worker) == 5 + 5 + 3
    done = query_jobs.get(service.KIND, audit_id)
    assert done["status"] == "done" and service.json_result(audit_id)["matches"] == whole
    assert done["summary"]["scored_ranges"] == 5
    assert done["summary"]["result_rows"] == len(rows)  # each (file, voice) scored once
    for part in range(5):  # after the end: nothing changes
        _send({**message, "range": part})
    assert _drain(worker) == 5 and query_jobs.get(service.KIND, audit_id) == done


def test_a_range_is_any_byte_span_every_group_scored_once(registry: Any) -> None:
    """Ranges of any size (one byte up), over a result whose groups the ranges cut anywhere:
    their rows together are the result's, each once, in order."""
    names = ["file_id", "voice_no", "votes"]
    groups = [(0, "V-1", 3), (0, "V-2", 1), (1, "V-1", 4), (2, "V-3", 2)]
    values = [[str(f), v, str(n)] for f, v, count in groups for n in range(count)]
    text = "\n".join(",".join(f'"{v}"' for v in row) for row in [names, *values]) + "\n"
    bucket, key = get_settings().bucket, "athena-results/ranges.csv"
    aws.s3.put(bucket, key, text.encode())
    location, size = f"s3://{bucket}/{key}", len(text.encode())
    everything = [row for _, row in engine.result_rows_at(location)]
    for count in (1, 2, 3, 7, size // 3, size):
        owned = [row for part in range(count) for row in ranges.owned(location, part, count, size)]
        assert owned == everything, count


def test_rows_that_repeat_their_evidence_are_typed_as_each_alone(registry: Any) -> None:
    """The evidence columns are typed once per run of equal values: every row still equals its
    own record typed alone, where one evidence column changes (a NULL becoming a number) or
    only the anchor times do."""
    names = ["file_id", "voice_no", "votes", "b1", "qt", "vt"]
    values = [
        ["0", "V-1", "9", "", "1", "2"],
        ["0", "V-1", "9", "", "3", "4"],
        ["0", "V-1", "9", "2", "3", "4"],
        ["0", "V-2", "9", "2", "5", ""],
        ["1", "V-2", "9", "2", "5", "6"],
    ]
    text = "\n".join(",".join(f'"{v}"' if v else "" for v in row) for row in [names, *values])
    bucket, key = get_settings().bucket, "athena-results/typed.csv"
    aws.s3.put(bucket, key, text.encode())
    read = [row for _, row in engine.result_rows_at(f"s3://{bucket}/{key}", chunk_bytes=5)]
    assert read == [engine.typed(names, v) for v in values]
    assert read[0]["b1"] is None and read[2]["b1"] == 2 and read[3]["vt"] is None


def test_a_last_range_that_fails_after_recording_completes_when_delivered_again(
    registry: Any,
    app: Any,
    scene: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    athena: None,
) -> None:
    """The range whose record makes the set whole fails to complete the audit (a transient
    error): its message comes back, finds every range recorded and completes the audit."""
    body, rows = _rows(scene, tmp_path)
    whole = [m.as_dict() for m in score.matches(rows)]
    failed: list[str] = []
    complete = service.complete

    def flaky(job: dict[str, Any], *args: Any) -> None:
        if not failed:
            failed.append(job["audit_id"])
            error = {"Error": {"Code": "SlowDown"}, "ResponseMetadata": {"HTTPStatusCode": 503}}
            raise ClientError(error, "TransactWriteItems")
        complete(job, *args)

    monkeypatch.setattr(service, "complete", flaky)
    first = _poll_worker(app)
    worker = SqsPoller(first.handler, first.name, first.queue_url, first.queue_arn, retry_after_s=0)
    job = _to_last_stage(registry, scene, body, rows)
    _in_three_ranges(worker, job["audit_id"], monkeypatch)
    assert _drain(worker) == 1 + 3 + 1  # the fan-out, three ranges, the last one again
    done = query_jobs.get(service.KIND, job["audit_id"])
    assert failed == [job["audit_id"]] and done["status"] == "done"
    assert sorted(done["score_done"]) == [0, 1, 2] and done["summary"]["scored_ranges"] == 3
    assert service.json_result(job["audit_id"])["matches"] == whole
    assert done["summary"]["result_rows"] == len(rows)
