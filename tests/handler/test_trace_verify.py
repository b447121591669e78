"""A trace finds a noisy excerpt that the keyed test alone misses, on the registered voice's
peaks (shared/audio/verify.py): through ingest (which stores the constellation in S3) and
``POST /v1/traces/fingerprint`` on moto in-process, with real speech (tests/realspeech.py)."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import pytest

from shared.settings import get_settings
from shared.uploads import UploadedObject
from tests import audiofiles, realspeech
from tests.scenario import Actor, Registry, voice_sheet
from tests.unit.audio.test_verify import _noisy

SR = 16000


@pytest.fixture(autouse=True)
def plain_bucket(aws: dict[str, str]) -> None:
    """In-process moto evaluates aws:SecureTransport as false (see test_ingest_bounds.py)."""
    from shared.aws import client

    client("s3").delete_bucket_policy(Bucket=get_settings().bucket)


def _register(registry: Registry, samples: np.ndarray, **sheet: Any) -> str:
    from shared.aws import client
    from shared.voices import ingest, service

    data = audiofiles.wav_bytes(samples, SR)
    holder = registry.member("rights_holder")
    sheet = voice_sheet(
        file={"filename": "v.wav", "size_bytes": len(data), "content_type": "audio/wav"},
        **sheet,
    )
    created = registry.api.post("/v1/voices", sheet, token=holder.token)
    assert created.status == 201, created
    key = created.json["upload"]["fields"]["key"]
    put = client("s3").put_object(Bucket=get_settings().bucket, Key=key, Body=data)
    ingest.process_voice_upload(
        UploadedObject(get_settings().bucket, key, len(data), put["ETag"].strip('"'))
    )
    voice_no = created.json["voice_no"]
    assert service.require(voice_no)["status"] == "registered"
    return voice_no


def _trace(registry: Registry, member: Actor, samples: np.ndarray) -> list[dict[str, Any]]:
    from shared.audio import decode_array
    from shared.audio.fingerprint import ALGORITHM_VERSION

    peaks = decode_array(samples, SR).peaks
    body = {
        "algorithm": ALGORITHM_VERSION,
        "frames": base64.b64encode(peaks.frames.astype("<u4").tobytes()).decode(),
        "hz": base64.b64encode(peaks.hz.astype("<f4").tobytes()).decode(),
    }
    reply = registry.api.post("/v1/traces/fingerprint", body, token=member.token)
    assert reply.status == 200, reply
    return reply.json["matches"]


def _keyed_alone(samples: np.ndarray) -> list[str]:
    from shared.audio import decode_array, engine
    from shared.fingerprint_index import index_for

    lookup = index_for(engine.ALGORITHM_VERSION).lookup
    return [m.voice_id for m in engine.match(decode_array(samples, SR).peaks, lookup)]


def test_a_noisy_excerpt_the_keys_miss_is_traced_on_the_peaks(registry: Registry) -> None:
    from shared.aws import client
    from shared.voices import constellations

    voice = realspeech.joined(realspeech.reader_sentences()[:3])
    voice_no = _register(registry, voice)
    stored = client("s3").head_object(
        Bucket=get_settings().bucket, Key=constellations.key(voice_no)
    )
    assert 0 < stored["ContentLength"] < 200 * len(voice) / SR  # ≈ 150 B a second
    member = registry.member("business")
    rng = np.random.default_rng(3)
    found_on_peaks = 0
    for _ in range(12):
        start = int(rng.integers(0, len(voice) - 5 * SR))
        clip = _noisy(voice[start : start + 5 * SR], -6, rng)
        matches = _trace(registry, member, clip)
        assert [m["voice_no"] for m in matches] in ([], [voice_no])
        if matches and not _keyed_alone(clip):
            assert matches[0]["found_by"] == "peaks" and matches[0]["score"] > 0.999999
            found_on_peaks += 1
            break
    assert found_on_peaks > 0
    other = realspeech.joined(realspeech.card_names())  # another speaker
    for start in (0, len(other) - 5 * SR):
        assert _trace(registry, member, _noisy(other[start : start + 5 * SR], 0, rng)) == []


def test_rebuild_index_makes_a_missing_constellation_from_retained_audio(
    registry: Registry,
) -> None:
    """A voice registered before constellations were stored (its object removed here) gets one
    from its retained audio; a voice without retained audio is left to the keys."""
    from click.testing import CliRunner

    from infra.ops import cli
    from shared.voices import constellations

    voice = realspeech.joined(realspeech.reader_sentences()[:2])
    kept = _register(registry, voice, retention="retain")
    gone = _register(registry, realspeech.joined(realspeech.card_names()))
    for voice_no in (kept, gone):
        constellations.delete(voice_no)
    outcome = CliRunner().invoke(cli, ["rebuild-index"])
    assert outcome.exit_code == 0, outcome.output
    assert "1 constellations made from retained audio" in outcome.output
    assert constellations.exists(kept) and not constellations.exists(gone)


def test_a_stretch_of_a_long_voice_is_read_by_range(aws: dict[str, str]) -> None:
    """A voice of 40 min: the stretch a candidate needs comes in a second ranged read, not the
    whole object; a voice without a constellation reads as None."""
    from shared import aws as shared_aws
    from shared.audio import verify
    from shared.audio.fingerprint import Peaks
    from shared.voices import constellations

    rng = np.random.default_rng(2)
    count = 40 * 60 * 29
    frames = np.sort(rng.integers(0, 40 * 60 * 62, count))
    c = verify.constellation(Peaks(frames, rng.uniform(150, 3800, count)))
    body = verify.to_bytes(c)
    shared_aws.s3.put(get_settings().bucket, constellations.key("V-LONG"), body)
    reads: list[int] = []
    read_range = shared_aws.s3.read_range

    def counted(bucket: str, key: str, start: int, end: int) -> bytes:
        data = read_range(bucket, key, start, end)
        reads.append(len(data))
        return data

    shared_aws.s3.read_range = counted  # type: ignore[method-assign]
    try:
        got, none = constellations.fetch_all([("V-LONG", 90_000, 95_000), ("V-NONE", 0, 500)])
    finally:
        shared_aws.s3.read_range = read_range  # type: ignore[method-assign]
    expected = verify.window(c, 90_000, 95_000)
    assert got is not None and none is None
    assert np.array_equal(got.frames, expected.frames) and np.array_equal(got.pitch, expected.pitch)
    assert len(reads) == 2 and sum(reads) < len(body) / 4  # the header, then the stretch


def test_an_unreadable_constellation_leaves_the_trace_to_the_keys(aws: dict[str, str]) -> None:
    from shared import aws as shared_aws
    from shared.voices import constellations

    bucket = get_settings().bucket
    shared_aws.s3.put(bucket, constellations.key("V-BAD"), b"RIFF" + bytes(60))
    shared_aws.s3.put(bucket, constellations.key("V-CUT"), b"AILC")
    assert constellations.fetch_all([("V-BAD", 0, 500), ("V-CUT", 0, 500)]) == [None, None]


def test_a_missing_constellation_answered_as_s3_answers_a_role_without_listbucket(
    aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """In AWS a missing key is 403 AccessDenied to a role that may not list the bucket (the API's
    and ingest's); it was raised, a 500 for a trace whose candidate had no constellation yet."""
    from botocore.exceptions import ClientError

    from shared import aws as shared_aws
    from shared.voices import constellations

    def denied(*args: object, **kwargs: object) -> bytes:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "Get")

    monkeypatch.setattr(shared_aws.s3, "read_range", denied)
    monkeypatch.setattr(shared_aws.s3, "head", denied)
    assert constellations.fetch_all([("V-NONE", 0, 500)]) == [None]
    assert constellations.exists("V-NONE") is False
