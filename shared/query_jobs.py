"""A member's query upload — a trace or a screen — processed once and its result kept for its
owner: claiming the upload (idempotent on the object's ETag), and ending the job ``done`` or
``failed`` with a code, audited as ``<kind>.done`` / ``<kind>.failed``."""

from __future__ import annotations

from typing import Any

from shared import audit, store
from shared.clock import now_iso
from shared.logging import logger
from shared.settings import get_settings
from shared.uploads import UploadedObject

ACTOR = "system:ingest"


def key(kind: str, job_id: str) -> dict[str, str]:
    return {"pk": f"{kind.upper()}#{job_id}", "sk": kind.upper()}


def claim(kind: str, job_id: str, obj: UploadedObject) -> bool:
    """awaiting_upload → processing for this object; False when it was processed already (an
    S3 notification delivered twice is processed once)."""
    tx = store.Transaction()
    tx.update(
        get_settings().registry_table,
        key(kind, job_id),
        "SET #status = :processing, upload_etag = :etag",
        "#status = :awaiting OR (#status = :processing AND upload_etag = :etag)",
        {":processing": "processing", ":awaiting": "awaiting_upload", ":etag": obj.etag},
        {"#status": "status"},
    )
    try:
        tx.commit()
    except store.TransactionFailed:
        return False
    return True


def finish(kind: str, job_id: str, status: str, changes: dict[str, Any]) -> None:
    fields = {"status": status, "updated_at": now_iso(), **changes}
    expression, names, values = store.set_fields(fields)
    tx = store.Transaction()
    tx.update(
        get_settings().registry_table,
        key(kind, job_id),
        expression,
        "#status = :processing",
        values | {":processing": "processing"},
        names,
    )
    audit.commit(
        tx,
        audit.Event(
            actor=ACTOR,
            action=f"{kind}.{status}",
            entity=f"{kind}:{job_id}",
            state=fields,
            data={f"{kind}_id": job_id, "matches": len(changes.get("matches", []))},
        ),
    )


def fail(kind: str, job_id: str, code: str, message: str) -> None:
    try:
        finish(kind, job_id, "failed", {"error": {"code": code, "message": message}})
    except store.TransactionFailed:
        logger.warning("query already finished", extra={"kind": kind, "id": job_id})
