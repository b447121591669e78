"""The ingest of a voice upload: claim it once, check it, decode and fingerprint it as a stream,
index it, detect duplicates and conflicts, then keep or delete the audio as the holder chose.

Idempotent on (key, ETag): the claim is a conditional write, so a notification delivered twice
is processed once; a claim whose processing was interrupted is taken up again by the retry.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from shared import fingerprint_index, store
from shared.aws import client
from shared.clock import now_iso
from shared.logging import logger
from shared.screens import enrol as voiceprints
from shared.settings import get_settings
from shared.uploads import VOICE_PREFIX, Rejected, UploadedObject, processes
from shared.voices import service

ACTOR = "system:ingest"
SAME_RECORDING_S = 3.5  # of the 5 s excerpt matched: the same recording, not a shared phrase
CHUNK = 1024 * 1024


@dataclass
class Download:
    path: str
    size: int
    sha256: str
    content_type: str


def fetch(obj: UploadedObject, max_bytes: int, directory: str) -> Download:
    """HEAD first (moto does not enforce the POST policy and a client may lie), then stream the
    object to local disk, hashing it on the way."""
    s3 = client("s3")
    try:
        head = s3.head_object(Bucket=obj.bucket, Key=obj.key)
    except ClientError as error:
        raise Rejected("empty", "The upload is gone (expired or deleted).") from error
    size = int(head["ContentLength"])
    if size == 0:
        raise Rejected("empty", "The file is empty (0 bytes).")
    if size > max_bytes:
        raise Rejected("too_large", f"The file has {size} bytes; the limit is {max_bytes}.")
    digest = hashlib.sha256()
    body = s3.get_object(Bucket=obj.bucket, Key=obj.key)["Body"]
    path = f"{directory}/upload"
    written = 0
    with open(path, "wb") as out:
        for chunk in body.iter_chunks(CHUNK):
            written += len(chunk)
            if written > max_bytes:
                raise Rejected("too_large", f"The file exceeds {max_bytes} bytes.")
            digest.update(chunk)
            out.write(chunk)
    return Download(path, written, digest.hexdigest(), head.get("ContentType", ""))


@processes(VOICE_PREFIX)
def process_voice_upload(obj: UploadedObject) -> None:
    voice_no = obj.key[len(VOICE_PREFIX) :].split("/", 1)[0]
    voice = service.get(voice_no)
    if voice is None or voice.get("upload_key") != obj.key:
        logger.warning("upload for no awaiting voice", extra={"key": obj.key})
        return
    try:
        service.transition(
            voice_no,
            to="processing",
            allowed_from=("awaiting_upload",),
            actor=ACTOR,
            action="voice.processing",
            changes={"upload_etag": obj.etag},
            extra_condition=(
                "#status = :processing AND upload_etag = :etag",
                {":processing": "processing", ":etag": obj.etag},
            ),
        )
    except store.TransactionFailed:
        logger.info("upload already processed", extra={"voice_no": voice_no, "etag": obj.etag})
        return
    settings = get_settings()
    # Imported here: numpy and libsndfile load only in the function that decodes audio.
    from shared import audio

    try:
        with tempfile.TemporaryDirectory() as directory:
            download = fetch(obj, settings.upload_max_bytes, directory)
            try:
                decoded = audio.decode(download.path, max_duration_s=settings.max_duration_s)
            except audio.AudioRejected as rejection:
                raise Rejected(rejection.code, rejection.message) from None
            # Voice likeness (shared/screens): keep the speech's embedding, never the audio.
            voiceprints.add_from_file(voice, download.path)
    except Rejected as rejection:
        _reject(voice_no, obj, rejection.code, rejection.message)
        return
    facts = {
        "duration_s": round(decoded.duration_s, 3),
        "sample_rate": decoded.sample_rate,
        "channels": decoded.channels,
        "format": decoded.format,
        "sha256": download.sha256,
        "pcm_sha256": decoded.pcm_sha256,
        "fingerprint_algorithm": decoded.algorithm,
        "hashes": len(decoded.hashes),
        "size_bytes": download.size,
    }
    if _duplicate_or_conflict(
        voice, obj, facts, _same_recording(decoded.peaks, decoded.algorithm, voice_no)
    ):
        return
    stats = fingerprint_index.write(voice_no, decoded.algorithm, decoded.hashes, decoded.times)
    _keep_or_delete(voice, obj)
    tx = store.Transaction()
    tx.put(
        settings.registry_table,
        {
            "pk": f"PCM#{decoded.pcm_sha256}",
            "sk": "PCM",
            "voice_no": voice_no,
            "holder_id": voice["holder_id"],
        },
        "attribute_not_exists(pk)",
    )
    try:
        service.transition(
            voice_no,
            to="registered",
            allowed_from=("processing",),
            actor=ACTOR,
            action="voice.registered",
            tx=tx,
            changes={
                "audio": facts,
                "registered_at": now_iso(),
                "index": {"items": stats.items, "bytes": stats.bytes},
            },
        )
    except store.TransactionFailed:
        # The same audio was registered by someone else in the meantime: decide again.
        _duplicate_or_conflict(service.require(voice_no), obj, facts)


def _reject(voice_no: str, obj: UploadedObject, code: str, message: str) -> None:
    service.transition(
        voice_no,
        to="rejected",
        allowed_from=("processing",),
        actor=ACTOR,
        action="voice.rejected",
        changes={"error": {"code": code, "message": message}},
        data={"code": code},
    )
    _delete(obj)
    logger.info("voice rejected", extra={"voice_no": voice_no, "code": code})


def _same_recording(peaks: Any, algorithm: str, voice_no: str) -> dict[str, Any] | None:
    """A registered voice that the middle 5 s of this upload match along their whole length —
    the same recording re-encoded, resampled or trimmed, which the PCM hash cannot see."""
    from shared.audio.fingerprint import HOP_S, Peaks
    from shared.audio.match import match
    from shared.fingerprint_index import DynamoIndex

    if len(peaks) == 0:
        return None
    middle = (int(peaks.frames.min()) + int(peaks.frames.max())) // 2
    half = int(2.5 / HOP_S)
    window = (peaks.frames >= middle - half) & (peaks.frames < middle + half)
    excerpt = Peaks(peaks.frames[window], peaks.hz[window])
    index = DynamoIndex(algorithm)
    for found in match(excerpt, index.lookup):
        if found.voice_id == voice_no or found.duration_s < SAME_RECORDING_S:
            continue
        other = service.get(found.voice_id)
        if other and other["status"] in ("registered", "conflict"):
            return {"voice_no": other["voice_no"], "holder_id": other["holder_id"]}
    return None


def _duplicate_or_conflict(
    voice: dict[str, Any],
    obj: UploadedObject,
    facts: dict[str, Any],
    similar: dict[str, Any] | None = None,
) -> bool:
    """The same audio registered before — the same decoded samples, or the same recording found
    by its fingerprint: by the same holder it is a duplicate (refer to the existing voice); by
    another holder both voices go to ``conflict`` for an operator."""
    existing = (
        store.registry()
        .get_item(Key={"pk": f"PCM#{facts['pcm_sha256']}", "sk": "PCM"}, ConsistentRead=True)
        .get("Item")
    ) or similar
    if not existing or existing["voice_no"] == voice["voice_no"]:
        return False
    other_no = existing["voice_no"]
    if existing["holder_id"] == voice["holder_id"]:
        service.transition(
            voice["voice_no"],
            to="rejected",
            allowed_from=("processing",),
            actor=ACTOR,
            action="voice.rejected",
            changes={
                "audio": facts,
                "duplicate_of": other_no,
                "error": {
                    "code": "duplicate",
                    "message": f"This audio is already registered as {other_no}.",
                },
            },
            data={"code": "duplicate", "duplicate_of": other_no},
        )
        _delete(obj)
        return True
    service.transition(
        voice["voice_no"],
        to="conflict",
        allowed_from=("processing",),
        actor=ACTOR,
        action="voice.conflict",
        changes={"audio": facts, "conflict_with": [other_no]},
        data={"with": other_no},
    )
    other = service.require(other_no)
    service.transition(
        other_no,
        to="conflict",
        allowed_from=(other["status"],),
        actor=ACTOR,
        action="voice.conflict",
        changes={"conflict_with": sorted({*other.get("conflict_with", []), voice["voice_no"]})},
        data={"with": voice["voice_no"]},
    )
    _delete(obj)
    logger.warning("voice conflict", extra={"voice_no": voice["voice_no"], "with": other_no})
    return True


def _keep_or_delete(voice: dict[str, Any], obj: UploadedObject) -> None:
    """The association keeps fingerprints, not voices, unless the holder asked to retain."""
    if voice.get("retention") == "retain":
        client("s3").copy_object(
            Bucket=obj.bucket,
            Key=f"retained/{voice['voice_no']}/original",
            CopySource={"Bucket": obj.bucket, "Key": obj.key},
            ServerSideEncryption="aws:kms",
            MetadataDirective="COPY",
        )
    _delete(obj)


def _delete(obj: UploadedObject) -> None:
    client("s3").delete_object(Bucket=obj.bucket, Key=obj.key)
