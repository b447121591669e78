"""The ingest of a voice upload: claim it once, check it, decode and fingerprint it as a stream,
index it, detect duplicates and conflicts, then keep or delete the audio as the holder chose.

Idempotent on (key, ETag): the claim is a conditional write, so a notification delivered twice
is processed once; a claim whose processing was interrupted is taken up again by the retry.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import random
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

from botocore.exceptions import BotoCoreError, ClientError

from shared import aws, fingerprint_index, keys, store
from shared.audio.engine import AUDIT_ALGORITHM, audit_postings
from shared.audits import staging
from shared.clock import now_iso
from shared.errors import Conflict
from shared.logging import logger
from shared.screens import enrol as voiceprints
from shared.settings import get_settings
from shared.uploads import (
    VOICE_PREFIX,
    Rejected,
    UploadedObject,
    claim_fields,
    discard_late,
    processes,
    reclaim_condition,
)
from shared.voices import constellations, service

ACTOR = "system:ingest"
FINAL = ("registered", "rejected", "conflict")  # a voice whose upload was decided
CONFLICT_ATTEMPTS = 8  # writes racing on one registered voice: each retry reads it again
SAME_RECORDING_S = 3.5  # of the 5 s excerpt matched: the same recording, not a shared phrase
BLOCK_BYTES = 8 * 1024 * 1024  # one ranged GET
RETRYABLE_CODES = {
    "RequestTimeout",
    "SlowDown",
    "InternalError",
    "InternalServerError",
    "ServiceUnavailable",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TransactionConflictException",
    "KMSThrottlingException",
}


@dataclass
class Download:
    """The facts of an upload read from S3: size, SHA-256 of its bytes, declared type."""

    size: int
    sha256: str
    content_type: str


class S3Audio(io.RawIOBase):
    """A seekable, read-only view of an S3 object through ranged GETs, for the decoder.

    Nothing is staged on local disk (Lambda's /tmp is 512 MB by default; an upload may be
    512 MiB) and memory holds at most ``KEEP_BLOCKS`` blocks. The SHA-256 of the bytes is
    computed on the way, since decoders read front to back; whatever they skip is read at the
    end by :meth:`sha256`."""

    KEEP_BLOCKS = 3

    def __init__(
        self,
        bucket: str,
        key: str,
        size: int,
        block_bytes: int = BLOCK_BYTES,
        etag: str | None = None,
    ) -> None:
        super().__init__()
        self.bucket, self.key, self.size, self.block_bytes = bucket, key, size, block_bytes
        self.etag = etag  # every block of the one object the notification named
        self.replaced = False
        self.failure: ClientError | None = None  # what a read met, however the reader reported it
        self.position = 0
        self.blocks: OrderedDict[int, bytes] = OrderedDict()
        self.digest = hashlib.sha256()
        self.hashed = 0  # bytes [0, hashed) are in the digest
        self.ranged_gets = 0
        self.max_buffered = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def _block(self, index: int) -> bytes:
        start = index * self.block_bytes
        if index in self.blocks:
            self.blocks.move_to_end(index)
            data = self.blocks[index]
        else:
            end = min(self.size, start + self.block_bytes) - 1
            try:
                data = aws.s3.read_range(self.bucket, self.key, start, end, self.etag)
            except ClientError as error:
                # the decoder may read through a C library that turns this into "corrupt":
                # remembered, so the upload is refused (or retried) for what happened
                self.replaced, self.failure = aws.replaced(error), error
                raise
            self.ranged_gets += 1
        if start == self.hashed:  # the next bytes of the digest, however they were reached
            self.digest.update(data)
            self.hashed += len(data)
        self.blocks[index] = data
        while len(self.blocks) > self.KEEP_BLOCKS:
            self.blocks.popitem(last=False)
        self.max_buffered = max(self.max_buffered, sum(len(b) for b in self.blocks.values()))
        return data

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self.size - self.position
        size = min(size, self.size - self.position)
        parts = []
        while size > 0:
            index, offset = divmod(self.position, self.block_bytes)
            data = self._block(index)[offset : offset + size]
            if not data:
                break
            parts.append(data)
            self.position += len(data)
            size -= len(data)
        return b"".join(parts)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    @contextlib.contextmanager
    def failures_said(self) -> Iterator[None]:
        """Around a decoder reading this object: an S3 error met underneath is raised for what
        it is — a file replaced meanwhile (Rejected), or a transient error for SQS to retry —
        whether the decoder passed it on, called the file bad, or went on (libsndfile's read
        callback swallows exceptions)."""
        try:
            yield
        except Exception:
            self._raise_what_it_met()
            raise
        self._raise_what_it_met()

    def _raise_what_it_met(self) -> None:
        if self.replaced:
            raise Rejected(*REPLACED)
        if self.failure is not None and transient(self.failure):
            raise self.failure

    def sha256(self) -> str:
        """The digest of every byte: blocks the decoder skipped are read now, in order."""
        while self.hashed < self.size:
            self._block(self.hashed // self.block_bytes)
            self.blocks.clear()
        return self.digest.hexdigest()


def fetch(
    obj: UploadedObject, max_bytes: int, declared: int | None = None
) -> tuple[Download, S3Audio]:
    """HEAD first (moto does not enforce the POST policy and a client may lie), then a
    streaming, seekable reader of the object."""
    try:
        head = aws.s3.head(obj.bucket, obj.key, obj.etag or None)
    except ClientError as error:
        if aws.replaced(error):
            raise Rejected(*REPLACED) from error
        raise Rejected("empty", "The upload is gone (expired or deleted).") from error
    size = int(head["ContentLength"])
    if size == 0:
        raise Rejected("empty", "The file is empty (0 bytes).")
    if size > max_bytes:
        raise Rejected("too_large", f"The file has {size} bytes; the limit is {max_bytes}.")
    if declared is not None:
        low, high = service.size_range(declared)
        if not low <= size <= high:
            # The POST policy pins this range in AWS; moto does not enforce it.
            raise Rejected(
                "size_mismatch",
                f"The file has {size} bytes, but {declared} were declared.",
            )
    reader = S3Audio(obj.bucket, obj.key, size, etag=obj.etag or None)
    return Download(size, "", head.get("ContentType", "")), reader


def decode_upload(obj: UploadedObject, declared: int | None = None) -> tuple[Download, Any]:
    """Decode and fingerprint an upload straight from S3, within the registry's bounds.

    Raises :class:`Rejected` for anything the registry will not take (with its code)."""
    from shared import audio  # numpy and libsndfile load only where audio is decoded

    settings = get_settings()
    download, reader = fetch(obj, settings.upload_max_bytes, declared)
    try:
        with reader.failures_said():
            decoded = audio.decode(
                cast(BinaryIO, reader),  # an io.RawIOBase: the binary file interface it reads
                max_duration_s=settings.max_duration_s,
                max_wall_s=settings.max_decode_s,
            )
            download.sha256 = reader.sha256()
    except audio.AudioRejected as rejection:
        raise Rejected(rejection.code, rejection.message) from None
    return download, decoded


def transient(error: BaseException) -> bool:
    """An AWS error that a retry may cure (throttling, a network fault): SQS redelivers the
    message and the claim lets the retry take processing up again. Anything else raised while
    processing the same bytes would fail the same way again."""
    if isinstance(error, Conflict) and error.code == "busy":
        return True  # the audit chain was contended past its retries: later it will not be
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return status >= 500 or "Throttl" in code or code in RETRYABLE_CODES
    return isinstance(error, BotoCoreError)


REPLACED = (
    "upload_replaced",
    "Another file was sent to this upload while it was being processed, so neither is taken. "
    "Register the recording again and send one file.",
)
INTERNAL_ERROR = (
    "internal_error",
    "The registry could not process this file because of an error on its side. "
    "Upload it again; if it fails again, contact the association.",
)


@processes(VOICE_PREFIX)
def process_voice_upload(obj: UploadedObject) -> None:
    voice_no = obj.key[len(VOICE_PREFIX) :].split("/", 1)[0]
    voice = service.get(voice_no)
    if voice is None or voice.get("upload_key") != obj.key:
        logger.warning("upload for no awaiting voice", extra={"key": obj.key})
        return
    if _claim(voice_no, obj):
        _process(voice, obj)
    else:
        discard_late(obj, (service.get(voice_no) or {}).get("status"), FINAL)


def _claim(voice_no: str, obj: UploadedObject) -> bool:
    """``awaiting_upload`` → ``processing`` for this upload; a redelivery of the same
    notification may take it up again, anything else finds it claimed (False; see
    uploads.reclaim_condition)."""
    try:
        service.transition(
            voice_no,
            to="processing",
            allowed_from=("awaiting_upload",),
            actor=ACTOR,
            action="voice.processing",
            changes=claim_fields(obj),
            extra_condition=reclaim_condition(obj),
        )
    except store.TransactionFailed:
        logger.info("upload already processed", extra={"voice_no": voice_no, "etag": obj.etag})
        return False
    return True


def _process(voice: dict[str, Any], obj: UploadedObject) -> None:
    voice_no = voice["voice_no"]
    try:
        _register(voice, obj)
    except Rejected as rejection:
        _end_rejected(voice_no, obj, rejection.code, rejection.message)
    except Exception as error:
        if transient(error):
            raise  # retried by SQS; after three receives the DLQ alarm calls an operator
        # Deterministic on these bytes: retrying would fail alike and leave the voice stuck
        # in `processing`. End it now, with a code; the details go to the log only.
        logger.exception("voice ingest failed", extra={"voice_no": voice_no})
        _end_rejected(voice_no, obj, *INTERNAL_ERROR)


def _end_rejected(voice_no: str, obj: UploadedObject, code: str, message: str) -> None:
    """``rejected``, unless another run of the same claim ended the voice first (a claim taken
    again after its lease while the first worker still ran): that end stands."""
    try:
        service.transition(
            voice_no,
            to="rejected",
            allowed_from=("processing",),
            actor=ACTOR,
            action="voice.rejected",
            changes={"error": {"code": code, "message": message}},
            data={"code": code},
        )
    except store.TransactionFailed:
        logger.warning("voice already left processing", extra={"voice_no": voice_no})
        return
    _delete(obj)
    logger.info("voice rejected", extra={"voice_no": voice_no, "code": code})


def _register(voice: dict[str, Any], obj: UploadedObject) -> None:
    voice_no = voice["voice_no"]
    download, decoded = decode_upload(obj, (voice.get("file") or {}).get("size_bytes"))
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
    # Voice likeness (shared/screens): keep the speech's embedding, never the audio; read
    # again from S3 while the upload is still there (the same object: pinned to its ETag).
    reader = S3Audio(obj.bucket, obj.key, download.size, etag=obj.etag or None)
    with reader.failures_said():
        voiceprints.add_from_file(voice, cast(BinaryIO, reader))  # an io.RawIOBase
    stats = fingerprint_index.write(voice_no, decoded.algorithm, decoded.hashes, decoded.times)
    staging.stage(
        voice_no, AUDIT_ALGORITHM, *audit_postings(decoded.hashes, decoded.times)
    )  # bulk audits
    constellations.store(voice_no, decoded.peaks)  # traces verify near misses on these peaks
    _keep_or_delete(voice, obj)
    index = {"items": stats.items, "bytes": stats.bytes}
    try:
        _mark_registered(voice, facts, index)
    except store.TransactionFailed:
        # The same audio was registered by someone else in the meantime: decide again.
        _duplicate_or_conflict(service.require(voice_no), obj, facts)
        return
    _registered_at_once(voice, decoded.peaks, decoded.algorithm)


def _mark_registered(voice: dict[str, Any], facts: dict[str, Any], index: dict[str, int]) -> None:
    """``registered``, with the PCM hash claimed for this voice in the same transaction."""
    tx = store.Transaction()
    tx.put(
        get_settings().registry_table,
        {
            **keys.pcm(facts["pcm_sha256"]),
            "voice_no": voice["voice_no"],
            "holder_id": voice["holder_id"],
        },
        "attribute_not_exists(pk)",
    )
    service.transition(
        voice["voice_no"],
        to="registered",
        allowed_from=("processing",),
        actor=ACTOR,
        action="voice.registered",
        tx=tx,
        changes={"audio": facts, "registered_at": now_iso(), "index": index},
    )


def _same_recording(peaks: Any, algorithm: str, voice_no: str) -> dict[str, Any] | None:
    """A registered voice that the middle 5 s of this upload match along their whole length —
    the same recording re-encoded, resampled or trimmed, which the PCM hash cannot see."""
    from shared.audio.engine import match
    from shared.audio.fingerprint import HOP_S, Peaks
    from shared.fingerprint_index import index_for

    if len(peaks) == 0:
        return None
    middle = (int(peaks.frames.min()) + int(peaks.frames.max())) // 2
    half = int(2.5 / HOP_S)
    window = (peaks.frames >= middle - half) & (peaks.frames < middle + half)
    excerpt = Peaks(peaks.frames[window], peaks.hz[window])
    index = index_for(algorithm)
    for found in match(excerpt, index.lookup):
        if found.voice_id == voice_no or found.duration_s < SAME_RECORDING_S:
            continue
        other = service.get(found.voice_id)
        if other and other["status"] in service.IN_REGISTRY:
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
    existing = store.get(keys.pcm(facts["pcm_sha256"])) or similar
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
    else:
        _conflict(voice, other_no, facts)
    _delete(obj)
    return True


def _conflict(voice: dict[str, Any], other_no: str, facts: dict[str, Any]) -> None:
    """Another holder's voice has the same audio: both go to ``conflict`` for an operator. The
    registered one first, so that whoever sees the new voice in ``conflict`` sees both."""
    _join_conflict(other_no, voice["voice_no"])
    service.transition(
        voice["voice_no"],
        to="conflict",
        allowed_from=("processing",),
        actor=ACTOR,
        action="voice.conflict",
        changes={"audio": facts, "conflict_with": [other_no]},
        data={"with": other_no},
    )
    logger.warning("voice conflict", extra={"voice_no": voice["voice_no"], "with": other_no})


def _join_conflict(voice_no: str, with_no: str) -> None:
    """A voice in the registry to ``conflict``, naming ``with_no`` beside any it names already.
    Conditional on the voice as read: when another upload of the same audio moved it meanwhile
    (its own conflict, its registration), it is read again, so that no conflict is lost."""
    for attempt in range(CONFLICT_ATTEMPTS):
        voice = service.require(voice_no)
        if voice["status"] == "conflict" and with_no in voice.get("conflict_with", []):
            return  # the other upload's own check got there first
        try:
            service.transition(
                voice_no,
                to="conflict",
                allowed_from=(voice["status"],),
                actor=ACTOR,
                action="voice.conflict",
                changes={"conflict_with": sorted({*voice.get("conflict_with", []), with_no})},
                data={"with": with_no},
                unchanged_since=voice["updated_at"],
            )
            return
        except store.TransactionFailed:
            if attempt == CONFLICT_ATTEMPTS - 1:
                raise
            time.sleep(random.uniform(0.02, 0.1) * (attempt + 1))


def _registered_at_once(voice: dict[str, Any], peaks: Any, algorithm: str) -> None:
    """Two holders' copies of one recording (re-encoded, so their PCM hashes differ) registered
    at the same moment: each looked for the other before either was in the index. Looked for
    again once this voice is registered, the later of the two registrations always finds the
    earlier one, and both go to ``conflict``. Two copies of one holder stay as they are."""
    other = _same_recording(peaks, algorithm, voice["voice_no"])
    if other is None or other["holder_id"] == voice["holder_id"]:
        return
    _join_conflict(other["voice_no"], voice["voice_no"])
    _join_conflict(voice["voice_no"], other["voice_no"])
    logger.warning(
        "voice conflict", extra={"voice_no": voice["voice_no"], "with": other["voice_no"]}
    )


def _keep_or_delete(voice: dict[str, Any], obj: UploadedObject) -> None:
    """The association keeps fingerprints, not voices, unless the holder asked to retain:
    the very bytes fingerprinted (a file sent again to the key meanwhile is not kept)."""
    if voice.get("retention") == "retain":
        target = f"retained/{voice['voice_no']}/original"
        try:
            aws.s3.copy_encrypted(obj.bucket, obj.key, target, obj.etag or None)
            aws.s3.head(obj.bucket, obj.key, obj.etag or None)  # still it after the copy
        except ClientError as error:
            if not aws.replaced(error):
                raise
            aws.s3.delete(obj.bucket, target)  # not what was fingerprinted
            _delete(obj)
            raise Rejected(*REPLACED) from None
    _delete(obj)


def _delete(obj: UploadedObject) -> None:
    aws.s3.delete(obj.bucket, obj.key)
