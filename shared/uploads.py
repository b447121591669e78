"""Objects arriving in the audio bucket: S3 notifications (delivered through SQS) and the
routing of each upload prefix to the domain that owns it."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import unquote_plus

from shared import aws
from shared.clock import iso, now, now_iso
from shared.logging import logger

VOICE_PREFIX = "uploads/voices/"
TRACE_PREFIX = "uploads/traces/"
SCREEN_PREFIX = "uploads/screens/"


class Rejected(Exception):
    """An upload refused with a machine-readable code and a message for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# The ingest function's timeout (.chalice/config.json): a claim older than this has no worker
# left processing it.
CLAIM_LEASE_S = 900


@dataclass(frozen=True)
class UploadedObject:
    bucket: str
    key: str
    size: int
    etag: str
    version_id: str | None = None
    event_time: str | None = None
    delivery: str = ""  # which notification named it: the SQS message and the record's place


def claim_fields(obj: UploadedObject) -> dict[str, Any]:
    """What a claim of ``obj`` writes beside ``status = processing``."""
    return {"upload_etag": obj.etag, "upload_claim": obj.delivery, "claimed_at": now_iso()}


def reclaim_condition(obj: UploadedObject) -> tuple[str, dict[str, Any]]:
    """When an item already ``processing`` may be claimed again for ``obj`` (``#status`` names
    the status field): by the same delivery (SQS delivers a message again when its processing
    was interrupted), or by any delivery of the same object once the claim has outlived every
    worker (a redrive from the dead-letter queue). Another notification of the same object
    meanwhile (the same file POSTed twice at once) finds it claimed, so it is processed once."""
    stale = iso(now() - timedelta(seconds=CLAIM_LEASE_S))
    return (
        "#status = :processing AND upload_etag = :etag AND (upload_claim = :claim"
        " OR attribute_not_exists(claimed_at) OR claimed_at < :stale)",
        {":processing": "processing", ":etag": obj.etag, ":claim": obj.delivery, ":stale": stale},
    )


def objects_in_notification(body: str, delivery: str = "") -> list[UploadedObject]:
    """The objects an S3 event notification names; none for ``s3:TestEvent``. ``delivery``
    names the notification (its SQS message id), to tell a redelivery from another event.

    Keys arrive URL-encoded (a space is '+'), so they are decoded before use.
    """
    message: dict[str, Any] = json.loads(body)
    if message.get("Event") == "s3:TestEvent":
        return []
    objects = []
    for place, record in enumerate(message.get("Records", [])):
        if not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        s3 = record["s3"]
        obj = s3["object"]
        objects.append(
            UploadedObject(
                bucket=s3["bucket"]["name"],
                key=unquote_plus(obj["key"]),
                size=int(obj.get("size", 0)),
                etag=str(obj.get("eTag", "")).strip('"'),
                version_id=obj.get("versionId"),
                event_time=record.get("eventTime"),
                delivery=f"{delivery}/{place}" if delivery else "",
            )
        )
    return objects


Processor = Callable[[UploadedObject], None]
_PROCESSORS: dict[str, Processor] = {}


def processes(prefix: str) -> Callable[[Processor], Processor]:
    """Register the domain function that processes uploads under ``prefix``."""

    def register(fn: Processor) -> Processor:
        _PROCESSORS[prefix] = fn
        return fn

    return register


def processor_for(key: str) -> Processor | None:
    for prefix, fn in _PROCESSORS.items():
        if key.startswith(prefix):
            return fn
    return None


def discard_late(obj: UploadedObject, status: str | None, final: tuple[str, ...]) -> None:
    """A file sent again to an upload whose record is decided (a retried POST, a second file)
    is read by no one: it is deleted at once, so that "deleted after fingerprinting" and "no
    audio is kept" hold for it too. A record still processing is left alone: that processing
    reads only the object it was notified of, and ends with ``upload_replaced``."""
    if status in final:
        aws.s3.delete(obj.bucket, obj.key)
        logger.info("late upload deleted", extra={"key": obj.key, "status": status})
