"""A member's query upload — a trace or a screen — processed once and its result kept for its
owner: claiming the upload (idempotent on the object's ETag), and ending the job ``done`` or
``failed`` with a code, audited as ``<kind>.done`` / ``<kind>.failed``."""

from __future__ import annotations

import secrets
from typing import Any

from shared import audit, ids, keys, store
from shared.access import Principal
from shared.clock import now_iso
from shared.errors import NotFound, PayloadTooLarge
from shared.logging import logger
from shared.settings import get_settings
from shared.uploads import UploadedObject, claim_fields, discard_late, reclaim_condition
from shared.voices import service as voices
from shared.voices.models import FileFacts

ACTOR = "system:ingest"
DONE = ("done", "failed")  # a job whose upload was decided


key = keys.job


def get(kind: str, job_id: str) -> dict[str, Any] | None:
    return store.get(key(kind, job_id))


def require_own(kind: str, job_id: str, principal: Principal) -> dict[str, Any]:
    """The owner's job; anyone else is told it does not exist."""
    job = get(kind, job_id)
    if job is None or job["owner_id"] != principal.member_id:
        raise NotFound(f"No {kind} {job_id}.", code=f"{kind}_not_found")
    return job


def create(
    kind: str, prefix: str, file: FileFacts, owner: Principal
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A job awaiting its upload, audited as ``<kind>.created``, and its presigned POST."""
    settings = get_settings()
    if file.size_bytes > settings.upload_max_bytes:
        raise PayloadTooLarge(f"The file is too large for a {kind}.", code="too_large")
    job_id = ids.new_id(kind)
    at = now_iso()
    job = {
        **key(kind, job_id),
        f"{kind}_id": job_id,
        "owner_id": owner.member_id,
        "status": "awaiting_upload",
        "file": file.model_dump(),
        "upload_key": f"{prefix}{job_id}/{secrets.token_hex(8)}",
        "created_at": at,
        "updated_at": at,
        "matches": [],
    }
    tx = store.Transaction()
    tx.put(settings.registry_table, job, "attribute_not_exists(pk)")
    audit.commit(
        tx,
        audit.Event(
            actor=owner.member_id,
            action=f"{kind}.created",
            entity=f"{kind}:{job_id}",
            state={k: v for k, v in job.items() if k not in ("pk", "sk")},
            data={f"{kind}_id": job_id},
        ),
    )
    return job, voices.presigned_upload(str(job["upload_key"]), file.content_type, file.size_bytes)


def claim_or_discard(kind: str, job_id: str, obj: UploadedObject) -> bool:
    """:func:`claim`; when the object is not this job's to process and the job was decided, a
    file sent again to its upload is deleted (uploads.discard_late)."""
    if claim(kind, job_id, obj):
        return True
    discard_late(obj, (get(kind, job_id) or {}).get("status"), DONE)
    return False


def claim(kind: str, job_id: str, obj: UploadedObject) -> bool:
    """awaiting_upload → processing for this object; False when another notification of it
    claimed it (uploads.reclaim_condition: a notification delivered twice is processed once)."""
    expression, names, values = store.set_fields({"status": "processing", **claim_fields(obj)})
    # the voice's claim (shared/voices/ingest.py) is the same guard, through voices.transition
    guard = store.Guard("status", ("awaiting_upload",), reclaim_condition(obj))
    condition, guard_values, guard_names = guard.render()
    tx = store.Transaction()
    tx.update(
        get_settings().registry_table,
        key(kind, job_id),
        expression,
        condition,
        values | guard_values,
        names | guard_names,
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
