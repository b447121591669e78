"""Voice registration end to end: rights sheet over HTTP, a real presigned POST into the local
bucket, the S3 event through SQS to the ingest handler, and the outcome of each kind of file."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import boto3
import numpy as np
import pytest
import requests

from tests import audiofiles
from tests.e2e.conftest import Stack
from tests.scenario import Actor, Registry, voice_sheet

FINAL = ("registered", "rejected", "conflict")


def aws(stack: Stack, service: str):
    return boto3.client(
        service,
        endpoint_url=stack.aws_url,
        region_name="ap-northeast-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def register(
    registry: Registry,
    holder: Actor,
    data: bytes,
    *,
    filename: str = "voice.wav",
    content_type: str = "audio/wav",
    **sheet,
) -> dict:
    body = voice_sheet(**sheet)
    body["file"] = {
        "filename": filename,
        "size_bytes": max(len(data), 1),
        "content_type": content_type,
    }
    created = registry.api.post("/v1/voices", body, token=holder.token)
    assert created.status == 201, created
    upload = created.json["upload"]
    assert upload["fields"]["key"].startswith(f"uploads/voices/{created.json['voice_no']}/")
    reply = requests.post(
        upload["url"],
        data=upload["fields"],
        files={"file": (filename, data, content_type)},
        timeout=120,
    )
    assert reply.status_code in (200, 204), reply.text
    return created.json


def wait(registry: Registry, voice_no: str, token: str, timeout_s: float = 90) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        voice = registry.api.get(f"/v1/voices/{voice_no}", token=token).json
        if voice["status"] in FINAL:
            return voice
        time.sleep(0.3)
    raise AssertionError(f"{voice_no} still {voice['status']} after {timeout_s} s")


@pytest.fixture(scope="module")
def holder(registry: Registry) -> Actor:
    return registry.member("rights_holder")


def test_speech_upload_reaches_the_ingest_handler_and_registers(
    registry: Registry, holder: Actor, stack: Stack
) -> None:
    performer = registry.member("performer")
    data = audiofiles.wav_bytes(audiofiles.speech(12, seed=101), 16000)
    created = register(registry, holder, data, performer_ids=[performer.member_id])
    voice = wait(registry, created["voice_no"], holder.token)
    assert voice["status"] == "registered", voice
    audio = voice["audio"]
    assert abs(audio["duration_s"] - 12) < 0.05
    assert (audio["sample_rate"], audio["channels"]) == (16000, 1)
    assert audio["format"].startswith("WAV")
    assert audio["sha256"] == hashlib.sha256(data).hexdigest()
    assert audio["hashes"] > 100
    # the association keeps fingerprints, not voices
    listed = aws(stack, "s3").list_objects_v2(
        Bucket="ailas-local-audio-123456789012", Prefix=f"uploads/voices/{created['voice_no']}/"
    )
    assert listed.get("KeyCount", 0) == 0
    # the performer sees the full record, the public sees the public view
    assert (
        registry.api.get(f"/v1/voices/{created['voice_no']}", token=performer.token).json["rights"][
            "holder_role"
        ]
        == "agency"
    )
    public = registry.api.get(f"/v1/voices/{created['voice_no']}").json
    assert "rights" not in public and public["status"] == "registered"
    mine = registry.api.get("/v1/voices", token=holder.token).json["voices"]
    assert created["voice_no"] in {v["voice_no"] for v in mine}


@pytest.mark.parametrize(
    ("fmt", "subtype", "sr", "channels", "ctype", "suffix"),
    [
        ("FLAC", "PCM_24", 48000, 2, "audio/flac", "flac"),
        ("OGG", "VORBIS", 44100, 1, "audio/ogg", "ogg"),
        ("OGG", "OPUS", 48000, 2, "audio/ogg", "opus"),
        ("MP3", "MPEG_LAYER_III", 44100, 1, "audio/mpeg", "mp3"),
        ("WAV", "FLOAT", 192000, 8, "audio/wav", "wav"),
        ("WAV", "PCM_16", 8000, 1, "audio/wav", "wav"),
    ],
)
def test_accepted_formats_register(
    registry: Registry,
    holder: Actor,
    tmp_path: Path,
    fmt: str,
    subtype: str,
    sr: int,
    channels: int,
    ctype: str,
    suffix: str,
) -> None:
    mono = audiofiles.speech(8, seed=hash((fmt, subtype, sr)) % 10_000, sr=sr)
    samples = np.repeat(mono[:, None], channels, axis=1) if channels > 1 else mono
    path = audiofiles.write(tmp_path / f"v.{suffix}", samples, sr, fmt, subtype)
    created = register(registry, holder, path.read_bytes(), filename=path.name, content_type=ctype)
    voice = wait(registry, created["voice_no"], holder.token)
    assert voice["status"] == "registered", voice
    assert voice["audio"]["channels"] == channels and voice["audio"]["sample_rate"] == sr


def _truncated_wav() -> bytes:
    data = audiofiles.wav_bytes(audiofiles.speech(5, seed=7), 16000)
    return data[:60]


BAD_FILES = [
    (
        "random bytes",
        lambda p: np.random.default_rng(1).bytes(50_000),
        {"unsupported_format", "corrupt_audio"},
    ),
    ("truncated wav", lambda p: _truncated_wav(), {"corrupt_audio", "empty"}),
    ("zero bytes", lambda p: b"", {"empty"}),
    ("silence", lambda p: audiofiles.wav_bytes(audiofiles.silence(30), 16000), {"no_speech"}),
    ("m4a", lambda p: audiofiles.m4a_header(), {"unsupported_format"}),
    (
        "three hours",
        lambda p: audiofiles.long_flac(p / "long.flac", 3.05).read_bytes(),
        {"too_long"},
    ),
]


@pytest.mark.parametrize(("case", "make", "codes"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_files_are_rejected_with_a_code(
    registry: Registry, holder: Actor, tmp_path: Path, case: str, make, codes: set[str]
) -> None:
    created = register(registry, holder, make(tmp_path))
    voice = wait(registry, created["voice_no"], holder.token, timeout_s=180)
    assert voice["status"] == "rejected", voice
    assert voice["error"]["code"] in codes, voice["error"]
    assert voice["error"]["message"]
    if case == "m4a":
        assert "WAV" in voice["error"]["message"] and "FLAC" in voice["error"]["message"]


def test_mislabelled_file_is_judged_by_its_content(registry: Registry, holder: Actor) -> None:
    data = audiofiles.wav_bytes(audiofiles.speech(8, seed=303), 16000)
    created = register(registry, holder, data, filename="voice.mp3", content_type="audio/mpeg")
    assert wait(registry, created["voice_no"], holder.token)["status"] == "registered"


def test_same_audio_again_same_holder_refers_to_the_first(
    registry: Registry, holder: Actor
) -> None:
    data = audiofiles.wav_bytes(audiofiles.speech(8, seed=404), 16000)
    first = register(registry, holder, data)
    assert wait(registry, first["voice_no"], holder.token)["status"] == "registered"
    again = register(registry, holder, data)
    voice = wait(registry, again["voice_no"], holder.token)
    assert voice["status"] == "rejected" and voice["error"]["code"] == "duplicate"
    assert voice["duplicate_of"] == first["voice_no"]
    assert registry.api.get(f"/v1/voices/{first['voice_no']}").json["status"] == "registered"


def test_same_audio_by_another_holder_is_a_conflict(registry: Registry, holder: Actor) -> None:
    other = registry.member("rights_holder")
    data = audiofiles.wav_bytes(audiofiles.speech(8, seed=505), 16000)
    first = register(registry, holder, data)
    wait(registry, first["voice_no"], holder.token)
    second = register(registry, other, data)
    voice = wait(registry, second["voice_no"], other.token)
    assert voice["status"] == "conflict" and voice["conflict_with"] == [first["voice_no"]]
    flagged = registry.api.get(f"/v1/voices/{first['voice_no']}", token=holder.token).json
    assert flagged["status"] == "conflict" and flagged["conflict_with"] == [second["voice_no"]]
    audit = registry.api.get(
        f"/v1/audit?entity=voice:{first['voice_no']}", token=registry.operator
    ).json["entries"]
    assert "voice.conflict" in [e["action"] for e in audit]


def test_redelivered_event_is_processed_once(
    registry: Registry, holder: Actor, stack: Stack
) -> None:
    data = audiofiles.wav_bytes(audiofiles.speech(8, seed=606), 16000)
    created = register(registry, holder, data, retention="retain")
    voice = wait(registry, created["voice_no"], holder.token)
    assert voice["status"] == "registered"
    s3 = aws(stack, "s3")
    bucket = "ailas-local-audio-123456789012"
    retained = s3.get_object(Bucket=bucket, Key=f"retained/{created['voice_no']}/original")
    assert retained["Body"].read() == data
    # replay S3's notification for the (now deleted) upload, with its real ETag
    sqs = aws(stack, "sqs")
    queue = sqs.get_queue_url(QueueName="ailas-local-ingest")["QueueUrl"]
    s3_object = {
        "key": created["upload"]["fields"]["key"],
        "size": len(data),
        "eTag": hashlib.md5(data).hexdigest(),  # noqa: S324 - S3 ETags are MD5s
    }
    notification = {
        "Records": [
            {
                "eventName": "ObjectCreated:Post",
                "eventTime": "now",
                "s3": {"bucket": {"name": bucket}, "object": s3_object},
            }
        ]
    }
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(notification))
    time.sleep(3)
    entries = registry.api.get(
        f"/v1/audit?entity=voice:{created['voice_no']}", token=registry.operator
    ).json["entries"]
    assert [e["action"] for e in entries].count("voice.registered") == 1
    assert registry.api.get(f"/v1/voices/{created['voice_no']}").json["status"] == "registered"


def test_a_failing_message_reaches_the_dead_letter_queue(stack: Stack) -> None:
    sqs = aws(stack, "sqs")
    queue = sqs.get_queue_url(QueueName="ailas-local-ingest")["QueueUrl"]
    dlq = sqs.get_queue_url(QueueName="ailas-local-ingest-dlq")["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="this is not an S3 notification")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1, AttributeNames=["All"]).get(
            "Messages", []
        )
        if messages:
            assert messages[0]["Body"] == "this is not an S3 notification"
            return
    raise AssertionError("the poisoned message never reached the DLQ")


def test_the_same_recording_re_encoded_is_found_by_its_fingerprint(
    registry: Registry, holder: Actor, tmp_path: Path
) -> None:
    speech = audiofiles.speech(12, seed=707)
    first = register(registry, holder, audiofiles.wav_bytes(speech, 16000))
    assert wait(registry, first["voice_no"], holder.token)["status"] == "registered"
    # the same recording as 44.1 kHz FLAC, trimmed: different samples, same voice
    import soxr

    resampled = soxr.resample(speech[8000:], 16000, 44100).astype(np.float32)
    flac = audiofiles.write(tmp_path / "again.flac", resampled, 44100, "FLAC").read_bytes()
    again = register(registry, holder, flac, filename="again.flac", content_type="audio/flac")
    voice = wait(registry, again["voice_no"], holder.token)
    assert voice["status"] == "rejected" and voice["duplicate_of"] == first["voice_no"]
    other = registry.member("rights_holder")
    theirs = register(registry, other, flac, filename="theirs.flac", content_type="audio/flac")
    conflict = wait(registry, theirs["voice_no"], other.token)
    assert conflict["status"] == "conflict" and conflict["conflict_with"] == [first["voice_no"]]
