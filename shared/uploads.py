"""Objects arriving in the audio bucket: S3 notifications (delivered through SQS) and the
routing of each upload prefix to the domain that owns it."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

VOICE_PREFIX = "uploads/voices/"
TRACE_PREFIX = "uploads/traces/"
SCREEN_PREFIX = "uploads/screens/"


class Rejected(Exception):
    """An upload refused with a machine-readable code and a message for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class UploadedObject:
    bucket: str
    key: str
    size: int
    etag: str
    version_id: str | None = None
    event_time: str | None = None


def objects_in_notification(body: str) -> list[UploadedObject]:
    """The objects an S3 event notification names; none for ``s3:TestEvent``.

    Keys arrive URL-encoded (a space is '+'), so they are decoded before use.
    """
    message: dict[str, Any] = json.loads(body)
    if message.get("Event") == "s3:TestEvent":
        return []
    objects = []
    for record in message.get("Records", []):
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
