"""Bounded, honest ingest on moto in-process: the upload is decoded straight from S3 (nothing
staged on local disk, memory bounded by a few ranged-GET blocks), an unexpected error ends the
voice with a code instead of the DLQ, the same file notified several times at once is processed
once, and the local worker runs invocations concurrently."""

from __future__ import annotations

import errno
import hashlib
import json
import tempfile
import threading
from typing import Any

import numpy as np
import pytest

from shared.settings import get_settings
from shared.uploads import UploadedObject
from tests import audiofiles
from tests.scenario import Registry, voice_sheet


@pytest.fixture(autouse=True)
def plain_bucket(aws: dict[str, str]) -> None:
    """In-process moto evaluates aws:SecureTransport as false, so the bucket's TLS-only policy
    would refuse the test's own PutObject: lifted here (the local stack and AWS keep theirs)."""
    from shared.aws import client

    client("s3").delete_bucket_policy(Bucket=get_settings().bucket)


def _upload(
    registry: Registry, data: bytes, performer_ids: list[str] | None = None
) -> tuple[str, UploadedObject]:
    from shared.aws import client

    holder = registry.member("rights_holder")
    sheet = voice_sheet(
        performer_ids,
        file={"filename": "v.wav", "size_bytes": len(data), "content_type": "audio/wav"},
    )
    created = registry.api.post("/v1/voices", sheet, token=holder.token)
    assert created.status == 201, created
    key = created.json["upload"]["fields"]["key"]
    put = client("s3").put_object(Bucket=get_settings().bucket, Key=key, Body=data)
    obj = UploadedObject(get_settings().bucket, key, len(data), put["ETag"].strip('"'))
    return created.json["voice_no"], obj


def test_s3_reader_streams_in_bounded_blocks_and_hashes_every_byte(aws: dict[str, str]) -> None:
    from shared.audio import decode
    from shared.aws import client
    from shared.voices.ingest import S3Audio

    data = audiofiles.wav_bytes(audiofiles.speech(60, seed=31), 16000)  # 1.9 MB
    client("s3").put_object(Bucket=get_settings().bucket, Key="uploads/voices/x/y", Body=data)
    block = 64 * 1024
    reader = S3Audio(get_settings().bucket, "uploads/voices/x/y", len(data), block_bytes=block)
    streamed = decode(reader)
    assert reader.max_buffered <= S3Audio.KEEP_BLOCKS * block < len(data)
    assert reader.ranged_gets >= len(data) // block
    assert reader.sha256() == hashlib.sha256(data).hexdigest()
    import io

    assert streamed.pcm_sha256 == decode(io.BytesIO(data)).pcm_sha256


def test_ingest_needs_no_local_disk(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    """Lambda's /tmp is 512 MB by default and an upload may be 512 MiB: with every way of making
    a temporary file failing with ENOSPC, a voice still registers."""
    from shared.voices import ingest, service

    def full(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    for name in ("mkstemp", "mkdtemp", "TemporaryDirectory", "NamedTemporaryFile", "TemporaryFile"):
        monkeypatch.setattr(tempfile, name, full)
    monkeypatch.setattr(ingest, "BLOCK_BYTES", 256 * 1024)
    data = audiofiles.wav_bytes(audiofiles.speech(20, seed=41), 16000)
    voice_no, obj = _upload(registry, data)
    ingest.process_voice_upload(obj)
    voice = service.require(voice_no)
    assert voice["status"] == "registered", voice.get("error")
    assert voice["audio"]["sha256"] == hashlib.sha256(data).hexdigest()


def test_an_unexpected_error_ends_the_voice_with_a_code(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared import fingerprint_index
    from shared.voices import ingest, service

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("index exploded at /tmp/tmpabc123/upload")

    monkeypatch.setattr(fingerprint_index, "write", broken)
    data = audiofiles.wav_bytes(audiofiles.speech(8, seed=43), 16000)
    voice_no, obj = _upload(registry, data)
    ingest.process_voice_upload(obj)  # does not raise: no retry, no DLQ
    voice = service.require(voice_no)
    assert voice["status"] == "rejected"
    assert voice["error"]["code"] == "internal_error"
    assert "/tmp" not in voice["error"]["message"] and "exploded" not in voice["error"]["message"]


@pytest.mark.parametrize("cause", ["throttled", "audit_chain_busy"])
def test_a_transient_aws_error_is_left_to_the_queue_to_retry(
    registry: Registry, monkeypatch: pytest.MonkeyPatch, cause: str
) -> None:
    """Throttling, or the audit chain contended past its retries (`busy`, which rejected a
    valid upload as `internal_error` with its fingerprints already indexed)."""
    from botocore.exceptions import ClientError

    from shared import fingerprint_index
    from shared.errors import Conflict
    from shared.voices import ingest, service

    def throttled(*args: Any, **kwargs: Any) -> Any:
        if cause == "audit_chain_busy":
            raise Conflict("The audit log is busy; try again.", code="busy")
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
            "BatchWriteItem",
        )

    monkeypatch.setattr(fingerprint_index, "write", throttled)
    data = audiofiles.wav_bytes(audiofiles.speech(8, seed=47), 16000)
    voice_no, obj = _upload(registry, data)
    with pytest.raises((ClientError, Conflict)):
        ingest.process_voice_upload(obj)
    assert service.require(voice_no)["status"] == "processing"
    monkeypatch.undo()
    ingest.process_voice_upload(obj)  # the redelivery takes the claim up again
    assert service.require(voice_no)["status"] == "registered"


def _notification(obj: UploadedObject, message_id: str) -> Any:
    """The ingest queue's record of S3's notification for ``obj`` (one SQS message)."""
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    s3 = {
        "bucket": {"name": obj.bucket},
        "object": {"key": obj.key, "size": obj.size, "eTag": obj.etag},
    }
    body = {"Records": [{"eventName": "ObjectCreated:Post", "eventTime": "now", "s3": s3}]}
    return SQSRecord({"messageId": message_id, "body": json.dumps(body)})


@pytest.mark.parametrize(
    ("samples", "status"),
    [(audiofiles.speech(8, seed=53), "registered"), (np.zeros(8 * 16000), "rejected")],
    ids=["speech", "silence"],
)
def test_the_same_file_posted_three_times_at_once_is_processed_once(
    registry: Registry, samples: np.ndarray, status: str
) -> None:
    """Three POSTs of one file to its upload form are three S3 notifications of the same key
    and ETag, in three SQS messages, taken by three workers at once: one claims the voice,
    the others find it claimed; one `processing` and one end in the audit, nothing raised."""
    from functions.events.ingest import handle_record
    from shared.voices import service

    voice_no, obj = _upload(registry, audiofiles.wav_bytes(samples, 16000))
    start, failures = threading.Barrier(3), []

    def worker(message_id: str) -> None:
        start.wait()
        try:
            handle_record(_notification(obj, message_id))
        except Exception as error:  # what a worker would report to SQS
            failures.append(error)

    threads = [threading.Thread(target=worker, args=(f"message-{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    assert service.require(voice_no)["status"] == status
    entries = registry.api.get(f"/v1/audit?entity=voice:{voice_no}", token=registry.operator)
    actions = [entry["action"] for entry in entries.json["entries"]]
    assert actions.count("voice.processing") == 1, actions
    assert actions.count(f"voice.{status}") == 1, actions


def test_a_claim_is_taken_again_by_its_own_redelivery_or_after_its_lease(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from shared import query_jobs, uploads
    from shared.voices import ingest

    data = audiofiles.wav_bytes(audiofiles.speech(8, seed=59), 16000)
    voice_no, obj = _upload(registry, data)
    business = registry.member("business")
    file = {"filename": "q.wav", "size_bytes": len(data), "content_type": "audio/wav"}
    trace_id = registry.api.post("/v1/traces", {"file": file}, token=business.token).json[
        "trace_id"
    ]
    first, other = replace(obj, delivery="m-1/0"), replace(obj, delivery="m-2/0")
    for claim in (
        lambda o: ingest._claim(voice_no, o),
        lambda o: query_jobs.claim("trace", trace_id, o),
    ):
        assert claim(first)
        assert not claim(other)  # another notification while the claim is live
        assert claim(first)  # SQS delivering the first message again
        assert not claim(replace(first, etag="0" * 32))  # other bytes are another upload
    monkeypatch.setattr(uploads, "CLAIM_LEASE_S", -1)  # every claim has outlived its worker
    assert ingest._claim(voice_no, other)
    assert query_jobs.claim("trace", trace_id, other)


def test_a_claim_outlives_the_ingest_function() -> None:
    """The lease is at least the ingest function's timeout in every deployed stage: a live
    worker's claim is never taken from it by another notification."""
    from pathlib import Path

    from shared.uploads import CLAIM_LEASE_S

    config = json.loads((Path(__file__).parents[2] / ".chalice" / "config.json").read_text())
    timeouts = [
        stage["lambda_functions"]["ingest"]["lambda_timeout"]
        for stage in config["stages"].values()
        if "ingest" in stage.get("lambda_functions", {})
    ]
    assert timeouts and max(timeouts) <= CLAIM_LEASE_S


def test_the_local_worker_runs_messages_concurrently(aws: dict[str, str]) -> None:
    """A slow message does not hold up the others: the first invocation blocks until the second
    has finished, which only a concurrent poller can satisfy."""
    from infra.local_worker import SqsPoller
    from shared.aws import client

    sqs = client("sqs")
    queue = sqs.create_queue(QueueName="concurrency-test")["QueueUrl"]
    fast_done = threading.Event()
    finished: list[str] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        body = json.loads(event["Records"][0]["body"])
        if body["kind"] == "slow":
            assert fast_done.wait(timeout=30), "the fast message waited behind the slow one"
        else:
            fast_done.set()
        finished.append(body["kind"])
        return {"batchItemFailures": []}

    poller = SqsPoller(handler, "ingest", queue, "arn:aws:sqs:x", concurrency=2)
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"kind": "slow"}))
    started = 0
    while started < 1:
        started += poller.poll_once(wait_s=1)
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"kind": "fast"}))
    while started < 2:
        started += poller.poll_once(wait_s=1)
    poller.wait_idle(timeout_s=60)
    poller.shutdown()
    assert finished == ["fast", "slow"]
    left = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"
    ]
    assert int(left["ApproximateNumberOfMessages"]) == 0


def test_decoding_is_bounded_by_samples_and_wall_time(tmp_path) -> None:
    from shared.audio import AudioRejected, decode

    stereo = np.repeat(audiofiles.speech(6, seed=53, sr=48000)[:, None], 2, axis=1)
    path = audiofiles.write(tmp_path / "s.flac", stereo, 48000, "FLAC")
    with pytest.raises(AudioRejected) as by_samples:
        decode(path, max_samples=48000 * 2 * 5)  # 5 s of stereo: the declaration exceeds it
    assert by_samples.value.code == "too_complex"
    with pytest.raises(AudioRejected) as by_time:
        decode(path, max_wall_s=0.0)
    assert by_time.value.code == "too_complex"
    for fmt in ("AIFF", "AU", "CAF", "W64"):
        other = audiofiles.write(tmp_path / f"s.{fmt.lower()}", stereo, 48000, fmt, "PCM_16")
        with pytest.raises(AudioRejected) as refused:
            decode(other)
        assert refused.value.code == "unsupported_format", fmt


def test_s3_reader_hashes_every_byte_whatever_the_order_of_reads(aws: dict[str, str]) -> None:
    from shared.aws import client
    from shared.voices.ingest import S3Audio

    data = np.random.default_rng(7).bytes(10 * 1000 + 17)
    client("s3").put_object(Bucket=get_settings().bucket, Key="uploads/voices/o/r", Body=data)
    reader = S3Audio(get_settings().bucket, "uploads/voices/o/r", len(data), block_bytes=1000)
    reader.seek(-20, 2)
    assert reader.read() == data[-20:]  # the tail first, as an MP3 decoder may
    reader.seek(3000)
    assert reader.read(2500) == data[3000:5500]
    reader.seek(0)
    assert reader.read(1500) == data[:1500]
    assert reader.sha256() == hashlib.sha256(data).hexdigest()


def test_two_uploads_of_registered_audio_in_conflict_at_once_both_stay_on_record(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two other holders upload a registered recording, processed at once: the second
    worker read the registered voice before the first moved it to `conflict`. Its write on that
    stale read fails; it reads again, and both uploads end in `conflict`, both named on the
    registered voice (it was `internal_error`, and the first conflict's name was lost)."""
    from shared.voices import ingest, service

    data = audiofiles.wav_bytes(audiofiles.speech(8, seed=61), 16000)
    registered, first = _upload(registry, data)
    ingest.process_voice_upload(first)
    assert service.require(registered)["status"] == "registered"
    stale = service.require(registered)
    (b1, one), (b2, two) = _upload(registry, data), _upload(registry, data)
    ingest.process_voice_upload(one)
    assert service.require(registered)["conflict_with"] == [b1]
    real_require, served = service.require, []

    def require(voice_no: str) -> dict[str, Any]:
        if voice_no == registered and not served:  # the second worker's read, made earlier
            served.append(voice_no)
            return stale
        return real_require(voice_no)

    monkeypatch.setattr(service, "require", require)
    ingest.process_voice_upload(two)
    monkeypatch.undo()
    assert served == [registered]
    assert service.require(b2)["status"] == "conflict", service.require(b2).get("error")
    assert service.require(registered)["conflict_with"] == sorted([b1, b2])
    assert service.require(b2)["conflict_with"] == [registered]


def test_two_holders_registering_one_recording_at_the_same_moment_end_in_conflict(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two rights holders upload copies of one recording (different PCM, the same audio)
    processed at once: each looked for the other in the index before either had written its
    fingerprints, so neither was found. The later registration looks again once registered,
    finds the earlier one, and both go to `conflict` naming each other (both were
    `registered`, and a trace returned both)."""
    from shared.voices import ingest, service

    speech = audiofiles.speech(10, seed=67)
    first_no, first = _upload(registry, audiofiles.wav_bytes(speech, 16000))
    second_no, second = _upload(registry, audiofiles.wav_bytes(speech * 0.7, 16000))
    real_same, looked = ingest._same_recording, []

    def before_either_was_indexed(peaks: Any, algorithm: str, voice_no: str) -> Any:
        if voice_no not in looked:  # each upload's first look: the other is not indexed yet
            looked.append(voice_no)
            return None
        return real_same(peaks, algorithm, voice_no)

    monkeypatch.setattr(ingest, "_same_recording", before_either_was_indexed)
    ingest.process_voice_upload(first)
    assert service.require(first_no)["status"] == "registered"  # nothing else was indexed
    ingest.process_voice_upload(second)
    one, two = service.require(first_no), service.require(second_no)
    assert (one["status"], two["status"]) == ("conflict", "conflict")
    assert one["conflict_with"] == [second_no] and two["conflict_with"] == [first_no]
    entries = registry.api.get(f"/v1/audit?entity=voice:{second_no}", token=registry.operator)
    actions = [entry["action"] for entry in entries.json["entries"]]
    assert actions[-2:] == ["voice.registered", "voice.conflict"], actions


# libsndfile reads through a cffi callback that swallows the 412 (reported as unraisable):
# the reader remembers it, which is what is tested
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize(
    ("lands_at", "retention"),
    [(1, "delete_after_fingerprint"), (2, "delete_after_fingerprint"), (0, "retain")],
    ids=["before-the-decoder-reads", "before-the-voiceprint-reads", "before-the-retained-copy"],
)
def test_a_file_sent_again_to_the_upload_while_it_is_read_is_not_taken_half_and_half(
    registry: Registry, monkeypatch: pytest.MonkeyPatch, lands_at: int, retention: str
) -> None:
    """A second POST to the same presigned upload while the first was being processed: read by
    key, the voice was registered from half of each file (a SHA-256 of neither, fingerprints
    of one, a voiceprint or a retained copy of the other). Every read and the retained copy
    now keep to the notified object's ETag; otherwise neither file is taken."""
    from shared import aws as shared_aws
    from shared.aws import client
    from shared.voices import ingest, service

    first = audiofiles.wav_bytes(audiofiles.speech(40, seed=61), 16000)
    second = audiofiles.wav_bytes(audiofiles.speech(40, seed=62), 16000)
    performer = registry.member("performer")  # a member: the voiceprint is read too
    voice_no, obj = _upload(registry, first, [performer.member_id])
    if retention == "retain":
        store_retention(voice_no, "retain")
    real_read, real_copy = ingest.aws.s3.read_range, ingest.aws.s3.copy_encrypted
    reads = []

    def second_file() -> None:
        client("s3").put_object(Bucket=obj.bucket, Key=obj.key, Body=second)

    def read(*args: Any, **kwargs: Any) -> bytes:
        reads.append(args)
        if len(reads) == lands_at:
            second_file()
        return real_read(*args, **kwargs)

    def copy(*args: Any, **kwargs: Any) -> None:
        second_file()  # moto ignores CopySourceIfMatch: the check after the copy finds it
        real_copy(*args, **kwargs)

    monkeypatch.setattr(ingest.aws.s3, "read_range", read)
    monkeypatch.setattr(ingest.aws.s3, "copy_encrypted", copy)
    ingest.process_voice_upload(obj)
    voice = service.require(voice_no)
    assert (voice["status"], voice["error"]["code"]) == ("rejected", "upload_replaced"), voice
    assert not list(shared_aws.s3.keys(obj.bucket, f"retained/{voice_no}/"))


def store_retention(voice_no: str, retention: str) -> None:
    from shared import store
    from shared.voices import service

    store.registry().update_item(
        Key=service.key(voice_no),
        UpdateExpression="SET retention = :r",
        ExpressionAttributeValues={":r": retention},
    )


def test_a_file_sent_to_an_upload_already_decided_is_deleted_not_kept(
    registry: Registry,
) -> None:
    """A retried POST after the voice was registered stayed under uploads/ (two days in AWS,
    for good locally), though the holder asked for the audio to go after fingerprinting."""
    from dataclasses import replace

    from shared import aws as shared_aws
    from shared.aws import client
    from shared.voices import ingest, service

    data = audiofiles.wav_bytes(audiofiles.speech(12, seed=71), 16000)
    voice_no, obj = _upload(registry, data)
    ingest.process_voice_upload(obj)
    registered = service.require(voice_no)
    assert registered["status"] == "registered"
    again = client("s3").put_object(Bucket=obj.bucket, Key=obj.key, Body=data + b"\0\0")
    late = replace(obj, etag=again["ETag"].strip('"'), size=len(data) + 2)
    ingest.process_voice_upload(late)
    assert not list(shared_aws.s3.keys(obj.bucket, obj.key))
    assert service.require(voice_no)["audio"] == registered["audio"]  # the voice is unchanged
