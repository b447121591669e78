"""Bulk dataset audits through the API and the upload processor, on moto: the export follows
voice events, the join runs on DuckDB, the verdicts come from the fairness rule, and an audit is
its owner's (and operators') alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
from click.testing import CliRunner
from moto.moto_api import state_manager

from ailas.dataset import query_rows
from infra.local_worker import SqsPoller
from infra.ops import cli
from shared import aws, events, fingerprint_index, query_jobs, store
from shared.audio.engine import AUDIT_ALGORITHM, audit_hashes, index_hashes
from shared.audio.fingerprint import peaks_of
from shared.audits import duck, engine, export, restore, score, service, sql, staging
from shared.aws import client
from shared.clock import now
from shared.settings import get_settings
from shared.uploads import UploadedObject
from shared.voices import service as voices
from tests import audiofiles
from tests.scenario import ai_sheet

RATE = 16000


def _new_voice(registry: Any, holder: Any, performer_id: str) -> str:
    """A voice sheet accepted, its upload still awaited."""
    reply = registry.api.post(
        "/v1/voices",
        {
            "title": "台詞",
            "performer_ids": [performer_id],
            "rights": {"holder_role": "agency"},
            "file": {"filename": "a.wav", "size_bytes": 1000, "content_type": "audio/wav"},
        },
        token=holder.token,
    )
    return str(reply.json["voice_no"])


def _register(registry: Any, holder: Any, performer_id: str, samples: np.ndarray) -> str:
    """A voice registered as ingest leaves it: indexed, staged for the export, then the event."""
    voice_no = _new_voice(registry, holder, performer_id)
    hashes, times = audit_hashes(peaks_of(samples, RATE))
    staging.stage(voice_no, AUDIT_ALGORITHM, hashes, times)
    voices.transition(
        voice_no,
        to="registered",
        allowed_from=("awaiting_upload",),
        actor="test",
        action="voice.registered",
        changes={
            "audio": {"duration_s": 8.0, "fingerprint_algorithm": AUDIT_ALGORITHM},
            "index": {"items": len(hashes), "bytes": 0},
        },
    )
    return voice_no


def _upload(audit: dict[str, Any], body: bytes) -> UploadedObject:
    key = audit["upload"]["fields"]["key"]
    reply = client("s3").put_object(Bucket=get_settings().bucket, Key=key, Body=body)
    return UploadedObject(get_settings().bucket, key, len(body), reply["ETag"].strip('"'))


def _dataset(tmp_path: Path, clips: list[np.ndarray]) -> bytes:
    parts = []
    for file_id, clip in enumerate(clips):
        rows = query_rows(peaks_of(clip, RATE))
        parts.append({"file_id": np.full(len(rows["hash"]), file_id), **rows})
    columns = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    duck.write_parquet(tmp_path / "d.parquet", columns)
    return (tmp_path / "d.parquet").read_bytes()


@pytest.fixture(autouse=True)
def _plain_s3(aws: dict[str, str]) -> None:
    """In-process moto evaluates aws:SecureTransport as false, so the bucket's TLS-only policy
    would refuse every write (as in test_ingest_bounds.py)."""
    client("s3").delete_bucket_policy(Bucket=get_settings().bucket)


@pytest.fixture
def scene(registry: Any) -> dict[str, Any]:
    holder = registry.member("rights_holder")
    willing, silent = registry.member("performer"), registry.member("performer")
    everything = dict.fromkeys(["training", "fine_tuning", "tts"], "allow")
    registry.api.put(
        f"/v1/performers/{willing.member_id}/intent",
        {"uses": everything, "commercial": "allow"},
        token=willing.token,
    )
    speech = {name: audiofiles.speech(8, seed=seed) for name, seed in (("a", 11), ("b", 12))}
    voice_a = _register(registry, holder, willing.member_id, speech["a"])
    voice_b = _register(registry, holder, silent.member_id, speech["b"])
    for seq, voice_no in enumerate((voice_a, voice_b)):  # the subscriber, as the stream calls it
        data = {"voice_no": voice_no, "from": "processing", "to": "registered"}
        event = events.DomainEvent(seq, "voice.registered", f"voice:{voice_no}", "t", "", data)
        export.on_voice_event(event)
    business = registry.member("business")
    sheet = ai_sheet([voice_a], uses=["tts"])
    ai_no = registry.api.post("/v1/ai-systems", sheet, token=business.token).json["ai_no"]
    return {"business": business, "ai_no": ai_no, "a": voice_a, "b": voice_b, "speech": speech}


def test_the_export_follows_registration_and_the_audit_judges_each_voice_found(
    registry: Any, scene: dict[str, Any], tmp_path: Path
) -> None:
    listed = client("s3").list_objects_v2(
        Bucket=get_settings().bucket, Prefix=f"{export.PARQUET}/algorithm={AUDIT_ALGORITHM}/"
    )
    assert {k["Key"].rsplit("/", 1)[1] for k in listed["Contents"]} == {
        f"{scene['a']}.parquet",
        f"{scene['b']}.parquet",
    }
    business, api = scene["business"], registry.api
    clips = [
        scene["speech"]["a"][2 * RATE : 6 * RATE],
        scene["speech"]["b"][RATE : 5 * RATE],
        audiofiles.speech(4, seed=99),
    ]
    body = _dataset(tmp_path, clips)
    created = api.post(
        "/v1/audits",
        {
            "ai_no": scene["ai_no"],
            "algorithm": AUDIT_ALGORITHM,
            "files": 3,
            "size_bytes": len(body),
        },
        token=business.token,
    )
    assert created.status == 201, created.json
    service.process_upload(_upload(created.json, body))
    audit = api.get(f"/v1/audits/{created.json['audit_id']}", token=business.token).json
    assert audit["status"] == "done" and audit["summary"]["engine"] == "duckdb"
    assert audit["result"]["url"]
    result = service.json_result(created.json["audit_id"])
    assert {(m["file_id"], m["voice_no"]) for m in result["matches"]} == {
        (0, scene["a"]),
        (1, scene["b"]),
    }
    found_a = next(m for m in result["matches"] if m["voice_no"] == scene["a"])
    assert found_a["voice_start_s"] - found_a["query_start_s"] == pytest.approx(2.0, abs=0.1)
    assert result["voices"][scene["a"]]["covered"] is True
    not_covered = result["voices"][scene["b"]]
    assert not_covered["covered"] is False
    assert {(p["use"], p["reason"]) for p in not_covered["problems"]} >= {
        ("tts", "contract_missing")
    }


def test_a_voice_in_conflict_before_it_was_indexed_publishes_nothing(
    registry: Any, scene: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ingest found the audio already registered by another holder: the new voice goes to
    ``conflict`` unindexed and unstaged; the registered copy is the one in the export."""
    holder, performer = registry.member("rights_holder"), registry.member("performer")
    voice_no = _new_voice(registry, holder, performer.member_id)
    voices.transition(
        voice_no,
        to="conflict",
        allowed_from=("awaiting_upload",),
        actor="test",
        action="voice.conflict",
        changes={
            "audio": {"duration_s": 8.0, "fingerprint_algorithm": AUDIT_ALGORITHM},
            "conflict_with": [scene["a"]],
        },
    )
    published: list[str] = []
    monkeypatch.setattr(export, "publish", lambda v, a: published.append(v))
    data = {"voice_no": voice_no, "from": "processing", "to": "conflict"}
    export.on_voice_event(
        events.DomainEvent(9, "voice.conflict", f"voice:{voice_no}", "t", "", data)
    )
    assert published == []
    registered = {"voice_no": scene["a"], "from": "registered", "to": "conflict"}
    export.on_voice_event(events.DomainEvent(10, "voice.conflict", "v", "t", "", registered))
    assert published == [scene["a"]]  # the indexed copy stays searchable in the export
    # nor does restore-export look for it in the index (it would be reported missing)
    assert voice_no not in restore.indexed_voices(AUDIT_ALGORITHM)
    assert scene["a"] in restore.indexed_voices(AUDIT_ALGORITHM)


def test_an_audit_is_private_to_its_owner_and_operators_and_refuses_bad_input(
    registry: Any, scene: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    api, business = registry.api, scene["business"]
    body = {"ai_no": scene["ai_no"], "algorithm": AUDIT_ALGORITHM, "files": 1, "size_bytes": 100}
    audit_id = api.post("/v1/audits", body, token=business.token).json["audit_id"]
    other = registry.member("business")
    assert api.get(f"/v1/audits/{audit_id}", token=other.token).status == 404
    assert api.get(f"/v1/audits/{audit_id}", token=registry.operator).status == 200
    assert api.post("/v1/audits", body, token=other.token).status == 403  # not its AI system
    stale = api.post("/v1/audits", {**body, "algorithm": "old-1"}, token=business.token)
    assert (stale.status, stale.json["code"]) == (422, "unsupported_algorithm")
    huge = api.post("/v1/audits", {**body, "size_bytes": 6 * 1024**3}, token=business.token)
    assert (huge.status, huge.json["code"]) == (413, "too_large")
    # an upload that is not audit rows fails the audit with a reason, not a 500
    created = api.post("/v1/audits", body, token=business.token).json
    service.process_upload(_upload(created, b"not parquet at all"))
    audit = api.get(f"/v1/audits/{created['audit_id']}", token=business.token).json
    assert audit["status"] == "failed"
    assert audit["error"]["code"] == "invalid_dataset"
    # on a deployed stage Athena runs the same SQL: started on upload; GET only reads the job
    monkeypatch.setenv("AILAS_AUDIT_ENGINE", "athena")
    created = api.post("/v1/audits", body, token=business.token).json
    service.process_upload(_upload(created, b"PAR1 rows PAR1"))
    started = query_jobs.get(service.KIND, created["audit_id"])
    assert started["status"] == "processing" and started["athena_execution"]
    sql = client("athena").get_query_execution(QueryExecutionId=started["athena_execution"])
    assert sql["QueryExecution"]["Query"].startswith("CREATE TABLE")  # stage 1 of 3, stored
    assert f"audit_id = '{created['audit_id']}'" in sql["QueryExecution"]["Query"]
    assert sql["QueryExecution"]["Status"]["State"] == "SUCCEEDED"  # moto: at once
    audit = api.get(f"/v1/audits/{created['audit_id']}", token=business.token).json
    assert audit["status"] == "processing"  # scoring is the audit_poll worker's, not GET's
    # the export's INSERT runs once per voice and algorithm, however often the event comes
    export.publish(scene["a"], AUDIT_ALGORITHM)
    export.publish(scene["a"], AUDIT_ALGORITHM)
    queries = client("athena").list_query_executions(WorkGroup=engine.workgroup())
    assert len(queries["QueryExecutionIds"]) == 2  # the audit and one INSERT


# --- Athena: the query's result is scored by the audit_poll worker, off the request path -------


def _athena_will_return(rows: list[dict[str, Any]]) -> None:
    """moto's own API: the audit's next three queries (engine.audit_statements_athena) return
    nothing, nothing, then these rows (a header first, as Athena writes), and moto writes each
    as the result CSV where the workgroup keeps results."""
    names = list(sql.COLUMNS)
    header = [{"VarCharValue": n} for n in names]
    cells = [header] + [
        [{} if r[n] is None else {"VarCharValue": str(r[n])} for n in names] for r in rows
    ]
    stored = {"rows": [{"Data": header}], "column_info": []}  # a CREATE TABLE … AS
    reply = requests.post(
        "http://motoapi.amazonaws.com/moto-api/static/athena/query-results",
        json={
            "account_id": get_settings().account_id,
            "region": get_settings().region,
            "results": [stored, stored, {"rows": [{"Data": c} for c in cells], "column_info": []}],
        },
        timeout=10,
    )
    assert reply.status_code == 201


def _as_athena_stores(audit_id: str) -> None:
    """What a CREATE TABLE … AS leaves in Glue (moto's Athena runs no SQL)."""
    for table in engine.work_tables(audit_id):
        client("glue").create_table(
            DatabaseName=engine.database(),
            TableInput={"Name": table, "StorageDescriptor": {"Columns": []}},
        )


def _poll_worker(app: Any) -> SqsPoller:
    """The local stack's SQS event source for the audit_poll function (infra/local_worker.py)."""
    url = engine.poll_queue_url()
    arn = client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return SqsPoller(
        app.handler_map["audit_poll"], "audit_poll", url, arn["Attributes"]["QueueArn"]
    )


def _deliver(worker: SqsPoller) -> int:
    delivered = worker.poll_once(wait_s=0)
    worker.wait_idle()
    return delivered


def _athena_audit(registry: Any, scene: dict[str, Any], body: bytes) -> dict[str, Any]:
    request = {"ai_no": scene["ai_no"], "algorithm": AUDIT_ALGORITHM, "files": 3}
    created = registry.api.post(
        "/v1/audits", {**request, "size_bytes": len(body)}, token=scene["business"].token
    ).json
    service.process_upload(_upload(created, body))  # ingest: starts the query, asks for a poll
    job = query_jobs.get(service.KIND, created["audit_id"])
    assert job is not None and job["status"] == "processing"
    return job


GOOD = "1 AS file_id, 123456 AS hash, 10 AS frame, 300 AS span"


@pytest.mark.parametrize(
    ("select", "says"),
    [
        ("'a' AS file_id, 1 AS hash, 1 AS frame, 1 AS span", "file_id is VARCHAR"),
        ("1 AS file_id, 'x' AS hash, 1.5 AS frame, 1 AS span", "hash is VARCHAR; frame is DECIMAL"),
        ("1 AS file_id, 1 AS hash, NULL::INTEGER AS frame, 1 AS span", "frame values are empty"),
        ("1 AS file_id, 1 AS hash, -5 AS frame, 1 AS span", "frame values include -5"),
        ("1 AS file_id, 1 AS hash, 1 AS frame, 2147483647 AS span", "span values include"),
        ("7 AS file_id, 1 AS hash, 1 AS frame, 1 AS span", "declared 2 files"),
        ("1 AS file_id, -1 AS hash, 1 AS frame, 1 AS span", "hash values include -1"),
        ("1 AS file_id, 1 AS hash", "no column frame, span"),
        (None, "not a Parquet file"),
        ("truncated", "not a Parquet file"),
    ],
)
def test_a_dataset_that_is_not_audit_rows_fails_with_its_reason_and_nothing_internal(
    registry: Any, scene: dict[str, Any], tmp_path: Path, select: str | None, says: str
) -> None:
    """Hostile or mistaken rows are the uploader's to mend: `invalid_dataset`, saying what is
    wrong, never `internal_error` and never a server path or the engine's own words."""
    import duckdb

    path = tmp_path / "rows.parquet"
    if select is None:
        body = b"file_id,hash,frame,span\n1,2,3,4\n"
    else:
        duckdb.execute(f"COPY (SELECT {GOOD if select == 'truncated' else select}) TO '{path}'")
        body = path.read_bytes()[: len(path.read_bytes()) // 2 if select == "truncated" else None]
    request = {"ai_no": scene["ai_no"], "algorithm": AUDIT_ALGORITHM, "files": 2}
    api, business = registry.api, scene["business"]
    created = api.post("/v1/audits", {**request, "size_bytes": len(body)}, token=business.token)
    service.process_upload(_upload(created.json, body))
    audit = api.get(f"/v1/audits/{created.json['audit_id']}", token=business.token).json
    assert (audit["status"], audit["error"]["code"]) == ("failed", "invalid_dataset"), audit
    message = audit["error"]["message"]
    assert says in message, message
    for internal in ("/tmp", "tmp", "Error", "Binder", "duckdb", "read_parquet", "FROM"):
        assert internal not in message, message


def test_an_audit_declares_at_least_one_file(registry: Any, scene: dict[str, Any]) -> None:
    body = {"ai_no": scene["ai_no"], "algorithm": AUDIT_ALGORITHM, "size_bytes": 100}
    reply = registry.api.post("/v1/audits", {**body, "files": 0}, token=scene["business"].token)
    assert reply.status == 422, reply
    good = registry.api.post("/v1/audits", {**body, "files": 1}, token=scene["business"].token)
    assert good.status == 201, good


def test_the_athena_path_scores_the_result_csv_in_the_worker_as_duckdb_does(
    registry: Any, app: Any, scene: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clips = [scene["speech"]["a"][2 * RATE : 6 * RATE], scene["speech"]["b"][RATE : 5 * RATE]]
    body = _dataset(tmp_path, clips)
    (tmp_path / "export").mkdir()
    registry_files = export.download(AUDIT_ALGORITHM, tmp_path / "export")
    rows = list(duck.iter_audit_rows([tmp_path / "d.parquet"], registry_files))
    expected = [m.as_dict() for m in score.matches(rows)]
    assert {m["voice_no"] for m in expected} == {scene["a"], scene["b"]}
    _athena_will_return(rows)  # what Athena returns for the same SQL over the same Parquet
    monkeypatch.setenv("AILAS_AUDIT_ENGINE", "athena")
    monkeypatch.setattr(engine, "POLL_FIRST_S", 0)  # the first look now, not in 10 s
    job = _athena_audit(registry, scene, body)
    audit_id, token = job["audit_id"], scene["business"].token
    assert job["athena_stage"] == 1
    _as_athena_stores(audit_id)
    assert registry.api.get(f"/v1/audits/{audit_id}", token=token).json["status"] == "processing"
    worker = _poll_worker(app)
    for stage in (2, 3):  # each finished stage starts the next, which reads the stored tables
        assert _deliver(worker) == 1
        running = query_jobs.get(service.KIND, audit_id)
        assert (running["status"], running["athena_stage"]) == ("processing", stage)
        statement = client("athena").get_query_execution(
            QueryExecutionId=running["athena_execution"]
        )["QueryExecution"]["Query"]
        assert statement == engine.audit_statements_athena(audit_id, AUDIT_ALGORITHM)[stage - 1]
    assert _deliver(worker) == 1
    audit = registry.api.get(f"/v1/audits/{audit_id}", token=token).json
    assert audit["status"] == "done" and audit["summary"]["engine"] == "athena"
    assert service.json_result(audit_id)["matches"] == expected
    assert service.json_result(audit_id)["voices"][scene["b"]]["covered"] is False
    tables = client("glue").get_tables(DatabaseName=engine.database())["TableList"]
    assert not {t["Name"] for t in tables} & set(engine.work_tables(audit_id))  # dropped
    # a result within one range (ranges.RANGE_BYTES) is scored by the final poll itself: no
    # range recorded, no message sent, nothing stored but the result
    finished = query_jobs.get(service.KIND, audit_id)
    assert not [name for name in finished if name.startswith("score_")]
    assert finished["summary"]["scored_ranges"] == 1
    assert finished["summary"]["result_rows"] == len(rows)
    assert aws.sqs.waiting(engine.poll_queue_url()) == 0
    assert not list(aws.s3.keys(get_settings().bucket, f"athena-work/{audit_id}/matches-"))
    # the final poll repeated after completion changes nothing and asks for no further poll
    engine.watch(audit_id, finished["athena_execution"])
    assert _deliver(worker) == 1 and _deliver(worker) == 0
    assert query_jobs.get(service.KIND, audit_id) == finished


def test_a_running_query_is_polled_again_later_then_stopped_past_its_maximum_age(
    registry: Any, app: Any, scene: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AILAS_AUDIT_ENGINE", "athena")
    monkeypatch.setattr(engine, "POLL_FIRST_S", 0)
    state_manager.set_transition("athena::execution", {"progression": "manual", "times": 100})
    try:
        job = _athena_audit(registry, scene, _dataset(tmp_path, [scene["speech"]["a"]]))
        worker, url = _poll_worker(app), engine.poll_queue_url()
        assert _deliver(worker) == 1  # still QUEUED: sent again, with a delay
        assert query_jobs.get(service.KIND, job["audit_id"])["status"] == "processing"
        waiting = client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
        assert int(waiting["Attributes"]["ApproximateNumberOfMessages"]) == 1
        # a message past the maximum age: the query is stopped and the audit fails with a reason
        long_ago = now().timestamp() - engine.POLL_MAX_AGE_S - 1
        client("sqs").purge_queue(QueueUrl=url)
        engine.watch(job["audit_id"], job["athena_execution"], attempt=9, started=long_ago)
        assert _deliver(worker) == 1
    finally:
        state_manager.unset_transition("athena::execution")
    failed = query_jobs.get(service.KIND, job["audit_id"])
    assert failed["status"] == "failed" and failed["error"]["code"] == "query_timeout"
    execution = client("athena").get_query_execution(QueryExecutionId=job["athena_execution"])
    assert execution["QueryExecution"]["Status"]["State"] == "CANCELLED"
    assert _deliver(worker) == 0  # nothing more is scheduled


def test_a_cancelled_query_fails_its_audit_and_the_delay_doubles_up_to_its_cap(
    registry: Any, app: Any, scene: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AILAS_AUDIT_ENGINE", "athena")
    job = _athena_audit(registry, scene, _dataset(tmp_path, [scene["speech"]["b"]]))
    url = engine.poll_queue_url()
    delayed = client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    assert int(delayed["Attributes"]["ApproximateNumberOfMessagesDelayed"]) == 1  # not at once
    delays = [engine.watch(job["audit_id"], job["athena_execution"], n) for n in range(8)]
    assert delays[:3] == [engine.POLL_FIRST_S * k for k in (1, 2, 4)]
    assert max(delays) == engine.POLL_MAX_DELAY_S <= 900  # SQS's limit
    client("sqs").purge_queue(QueueUrl=url)
    client("athena").stop_query_execution(QueryExecutionId=job["athena_execution"])
    monkeypatch.setattr(engine, "POLL_FIRST_S", 0)
    engine.watch(job["audit_id"], job["athena_execution"])
    assert _deliver(_poll_worker(app)) == 1
    failed = query_jobs.get(service.KIND, job["audit_id"])
    assert (failed["status"], failed["error"]["code"]) == ("failed", "query_failed")
    assert "CANCELLED" in failed["error"]["message"]


# --- the export restored from the fingerprint index (no audio) -----------------------------------


def _export_objects(voice_no: str) -> dict[str, bytes]:
    bucket = get_settings().bucket
    keys = [staging.staging_key(AUDIT_ALGORITHM, voice_no)] + [
        k for k in aws.s3.keys(bucket, f"{export.PARQUET}/") if k.endswith(f"/{voice_no}.parquet")
    ]
    return {k: aws.s3.get(bucket, k) or b"" for k in keys}


def test_a_lost_export_is_restored_from_the_index_for_a_voice_whose_audio_is_gone(
    registry: Any, scene: dict[str, Any]
) -> None:
    # the index as ingest writes it (the export's rows were staged from the same arrays)
    hashes, times = index_hashes(peaks_of(scene["speech"]["a"], RATE))
    fingerprint_index.write(scene["a"], AUDIT_ALGORITHM, hashes, times)
    before = _export_objects(scene["a"])
    assert len(before) > 2  # the staging object and Parquet in several buckets
    for key in before:  # lost: no audio was retained to fingerprint again
        aws.s3.delete(get_settings().bucket, key)
    outcome = CliRunner().invoke(cli, ["restore-export", "--voice", scene["a"]])
    assert outcome.exit_code == 0, outcome.output
    assert "1 staged" in outcome.output and "1 published" in outcome.output
    assert _export_objects(scene["a"]) == before  # the very same bytes
    # every indexed voice by default; one the index does not hold is named, and exits 1
    everything = CliRunner().invoke(cli, ["restore-export"])
    assert everything.exit_code == 1 and "1 staged" in everything.output
    assert f"{scene['b']}: not in the index" in everything.output
    assert _export_objects(scene["a"]) == before


def test_on_athena_the_restored_rows_are_inserted_again_only_when_asked(
    registry: Any, scene: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    hashes, times = index_hashes(peaks_of(scene["speech"]["a"], RATE))
    fingerprint_index.write(scene["a"], AUDIT_ALGORITHM, hashes, times)
    monkeypatch.setenv("AILAS_AUDIT_ENGINE", "athena")
    export.publish(scene["a"], AUDIT_ALGORITHM)  # the voice's first INSERT

    def inserts() -> int:
        listed = client("athena").list_query_executions(WorkGroup=engine.workgroup())
        return len(listed["QueryExecutionIds"])

    staged = CliRunner().invoke(cli, ["restore-export", "--voice", scene["a"]])
    assert staged.exit_code == 0 and "0 published" in staged.output
    assert inserts() == 1  # its rows may still be in Athena's files: not inserted twice
    again = CliRunner().invoke(cli, ["restore-export", "--voice", scene["a"], "--reinsert"])
    assert again.exit_code == 0 and "1 published" in again.output
    assert inserts() == 2


def test_the_result_csv_is_read_as_athena_writes_it_across_chunk_boundaries() -> None:
    bucket, names = get_settings().bucket, list(sql.COLUMNS)
    values = [[str(i + n) for n in range(len(names))] for i in range(40)]
    for row in values:
        row[1], row[len(names) - 3] = "V-0001-0002-3", ""  # a NULL background bin
    lines = [",".join(f'"{v}"' if v else "" for v in row) for row in [names, *values]]
    put = client("s3").put_object
    put(Bucket=bucket, Key="athena-results/q.csv", Body="\n".join(lines).encode())
    rows = engine.result_rows(f"s3://{bucket}/athena-results/q.csv", chunk_bytes=7)
    first = next(rows)  # a generator: rows come as the body is read
    assert first["voice_no"] == "V-0001-0002-3" and first[names[-3]] is None
    assert first["file_id"] == 0 and first["vt"] == len(names) - 1
    rest = list(rows)
    assert len(rest) == 39 and [r["file_id"] for r in rest] == list(range(1, 40))
    put(Bucket=bucket, Key="athena-results/empty.csv", Body=lines[0].encode() + b"\n")
    assert list(engine.result_rows(f"s3://{bucket}/athena-results/empty.csv")) == []


@pytest.mark.parametrize(
    ("state", "reason", "code"),
    [
        (
            "FAILED",
            "HIVE_BAD_DATA: Field hash's type BINARY in parquet file "
            "s3://ailas-dev-audio/uploads/audits/X/rows.parquet is incompatible with type bigint "
            "defined in table schema",
            "invalid_dataset",
        ),
        (
            "FAILED",
            "HIVE_CANNOT_OPEN_SPLIT: Error opening Hive split s3://ailas-dev-audio/uploads/audits/"
            "X/rows.parquet (offset=0, length=15): s3://… is not a Parquet file",
            "invalid_dataset",
        ),
        (
            "FAILED",
            "TABLE_NOT_FOUND: line 3:8: Table 'awsdatacatalog.ailas_dev.audit_export' "
            "does not exist",
            "query_failed",
        ),
        ("CANCELLED", "", "query_failed"),
    ],
)
def test_an_athena_failure_says_whose_it_is_without_athenas_text(
    state: str, reason: str, code: str
) -> None:
    from shared.audits import poll

    got, message = poll.failure(state, reason)
    assert got == code
    assert state in message or code == "invalid_dataset"
    for internal in ("s3://", "awsdatacatalog", "HIVE", "ailas-dev", "Table"):
        assert internal not in message, message


def test_an_export_insert_that_failed_to_start_is_started_by_the_retry_and_followed_to_its_end(
    registry: Any, app: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """In AWS the export claim was written before Athena was asked: a throttled start left the
    claim taken, the event's retry found it and started nothing, and the voice was never in
    any audit. Nor was a failed INSERT noticed."""
    from botocore.exceptions import ClientError

    monkeypatch.setenv("AILAS_AUDIT_ENGINE", "athena")
    monkeypatch.setattr(engine, "POLL_FIRST_S", 0)
    started = engine.athena_start

    requests: list[str | None] = []

    def throttled(sql_text: str, request: str | None = None) -> str:
        requests.append(request)
        monkeypatch.setattr(engine, "athena_start", started)  # the next try goes through
        error = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}
        raise ClientError(error, "StartQueryExecution")

    monkeypatch.setattr(engine, "athena_start", throttled)
    with pytest.raises(ClientError):
        export.publish("V-AAAA-BBBB-C", AUDIT_ALGORITHM)
    claim = {"pk": "EXPORT#V-AAAA-BBBB-C", "sk": AUDIT_ALGORITHM}
    assert store.get(claim)["state"] == "released"
    tried = {"claim": store.get({"pk": "EXPORT#V-AAAA-BBBB-C", "sk": AUDIT_ALGORITHM})["claim"]}

    def recorded(sql_text: str, request: str | None = None) -> str:
        requests.append(request)
        return started(sql_text, request)

    monkeypatch.setattr(engine, "athena_start", recorded)
    export.publish("V-AAAA-BBBB-C", AUDIT_ALGORITHM)  # the event delivered again
    export.publish("V-AAAA-BBBB-C", AUDIT_ALGORITHM)  # and once more: no second INSERT
    # the retry asked Athena under the same request token as the start that failed: had
    # that one reached Athena (its answer lost), no second query would have been made
    assert requests == [requests[0]] * 2 and tried["claim"] in str(requests[0])
    inserts = client("athena").list_query_executions(WorkGroup=engine.workgroup())
    assert len(inserts["QueryExecutionIds"]) == 1
    assert store.get(claim)["state"] == "started"
    worker = _poll_worker(app)
    assert _deliver(worker) == 1  # the audit-poll worker looks at it: moto says SUCCEEDED
    assert store.get(claim)["state"] == "exported"

    # a voice whose INSERT fails is said to an operator, and not started again by itself
    export.publish("V-CCCC-DDDD-E", AUDIT_ALGORITHM)
    failed_claim = {"pk": "EXPORT#V-CCCC-DDDD-E", "sk": AUDIT_ALGORITHM}
    execution = store.get(failed_claim)["execution"]
    client("athena").stop_query_execution(QueryExecutionId=execution)
    assert _deliver(worker) == 1
    assert store.get(failed_claim)["state"] == "failed"
    assert "restore-export" in caplog.text
    export.publish("V-CCCC-DDDD-E", AUDIT_ALGORITHM)
    assert store.get(failed_claim)["execution"] == execution
