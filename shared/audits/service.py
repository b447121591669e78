"""Bulk audit jobs: created with a presigned upload of the dataset's fingerprint rows (Parquet),
joined with the registry export by the stage's SQL engine, scored by the matcher's rule, judged by
the fairness rule; the result document is kept in S3 for its owner (and operators)."""

from __future__ import annotations

import json
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from shared import access, audit, aws, ids, query_jobs, store
from shared.access import Principal
from shared.audits import engine, score, verdicts
from shared.audits.models import MAX_DATASET_BYTES, AuditRequest
from shared.business import ai_systems
from shared.clock import iso, now, now_iso
from shared.errors import NotFound, PayloadTooLarge, ValidationFailed
from shared.logging import logger
from shared.settings import get_settings
from shared.uploads import Rejected, UploadedObject, processes
from shared.voices import service as voices

KIND = "dataset_audit"
PREFIX = "uploads/audits/"
PARQUET = "application/vnd.apache.parquet"


def result_key(audit_id: str) -> str:
    return f"audits/{audit_id}/result.json"


def _check(request: AuditRequest, principal: Principal) -> None:
    from shared.audio.engine import AUDIT_ALGORITHM

    ai_systems.require_owner(ai_systems.require(request.ai_no), principal)
    if request.algorithm != AUDIT_ALGORITHM:
        raise ValidationFailed(
            f"This registry audits with {AUDIT_ALGORITHM}; update the client.",
            code="unsupported_algorithm",
        )
    if request.size_bytes > MAX_DATASET_BYTES:
        raise PayloadTooLarge(
            f"The fingerprint file may have at most {MAX_DATASET_BYTES} bytes.", code="too_large"
        )


def _presigned(key: str, size_bytes: int) -> dict[str, Any]:
    settings = get_settings()
    post = aws.s3.presigned_post(
        settings.bucket,
        key,
        {"Content-Type": PARQUET},
        [{"Content-Type": PARQUET}, ["content-length-range", 1, size_bytes]],
        settings.upload_expiry_s,
    )
    expires = iso(now() + timedelta(seconds=settings.upload_expiry_s))
    return {**post, "expires_at": expires, "max_bytes": size_bytes}


def create(request: AuditRequest, owner: Principal) -> tuple[dict[str, Any], dict[str, Any]]:
    """An audit awaiting its upload, audited as ``dataset_audit.created``."""
    _check(request, owner)
    audit_id, at = ids.new_id(KIND), now_iso()
    job = {
        **query_jobs.key(KIND, audit_id),
        "audit_id": audit_id,
        "owner_id": owner.member_id,
        "ai_no": request.ai_no,
        "status": "awaiting_upload",
        "engine": engine.name(),
        "algorithm": request.algorithm,
        "files": request.files,
        "size_bytes": request.size_bytes,
        "upload_key": f"{PREFIX}{audit_id}/{secrets.token_hex(8)}.parquet",
        "created_at": at,
        "updated_at": at,
    }
    tx = store.Transaction()
    tx.put(get_settings().registry_table, job, "attribute_not_exists(pk)")
    event = audit.Event(
        actor=owner.member_id,
        action=f"{KIND}.created",
        entity=f"{KIND}:{audit_id}",
        state={k: v for k, v in job.items() if k not in ("pk", "sk")},
        data={f"{KIND}_id": audit_id},
    )
    audit.commit(tx, event)
    return job, _presigned(str(job["upload_key"]), request.size_bytes)


def require_own(audit_id: str, principal: Principal) -> dict[str, Any]:
    """Its owner's audit (operators read it too); anyone else is told it does not exist."""
    job = query_jobs.get(KIND, audit_id)
    if job is None or not access.can_read_private(principal, [job["owner_id"]]):
        raise NotFound(f"No audit {audit_id}.", code="audit_not_found")
    return job


def view(audit_id: str, principal: Principal) -> dict[str, Any]:
    """The audit as its owner sees it: the job as stored (an Athena query is polled and scored
    by the audit_poll worker, never in this request)."""
    job = require_own(audit_id, principal)
    if job["status"] == "done":
        url = aws.s3.presigned_get(
            get_settings().bucket, result_key(audit_id), get_settings().upload_expiry_s
        )
        expires = iso(now() + timedelta(seconds=get_settings().upload_expiry_s))
        job["result"] = {"url": url, "expires_at": expires}
    return job


def json_result(audit_id: str) -> dict[str, Any]:
    """The result document of a finished audit."""
    body = aws.s3.get(get_settings().bucket, result_key(audit_id))
    if body is None:
        raise NotFound(f"No result for audit {audit_id}.", code="audit_not_found")
    return json.loads(body)


def complete(job: dict[str, Any], matched: list[score.FileMatch], stats: dict[str, Any]) -> None:
    """Matches → verdicts → the result document in S3 → ``done``."""
    found = [m for m in matched if _searchable(m.voice_no)]
    ai = ai_systems.get(job["ai_no"])
    if ai is None:
        query_jobs.fail(KIND, job["audit_id"], "ai_system_missing", "The AI system is gone.")
        return
    voice_nos = sorted({m.voice_no for m in found})
    judged = verdicts.for_voices(ai, voice_nos)
    document = {
        "audit_id": job["audit_id"],
        "ai_no": ai["ai_no"],
        "ai_name": ai["name"],
        "uses": ai["uses"],
        "commercial": ai["commercial"],
        "algorithm": job["algorithm"],
        "matches": [m.as_dict() for m in found],
        "voices": judged,
    }
    body = json.dumps(document, ensure_ascii=False).encode()
    aws.s3.put(get_settings().bucket, result_key(job["audit_id"]), body)
    summary = {
        "files_with_matches": len({m.file_id for m in found}),
        "voices_found": len(voice_nos),
        "voices_not_covered": sum(1 for v in judged.values() if not v["covered"]),
        **stats,
    }
    query_jobs.finish(KIND, job["audit_id"], "done", {"summary": summary, "matches": voice_nos})


def _searchable(voice_no: str) -> bool:
    voice = voices.get(voice_no)
    return bool(voice and voice["status"] in voices.IN_REGISTRY)


def _run_duckdb(job: dict[str, Any], obj: UploadedObject) -> list[score.FileMatch]:
    from shared.audits import duck, export

    with tempfile.TemporaryDirectory() as work:
        dataset = Path(work) / "dataset.parquet"
        aws.s3.download_to(obj.bucket, obj.key, dataset)
        (Path(work) / "export").mkdir()
        try:
            duck.check_dataset(dataset, int(job["files"]))
            registry = export.download(job["algorithm"], Path(work) / "export")
            return score.matches(duck.iter_audit_rows([dataset], registry, memory_limit="1GB"))
        except duck.InvalidDataset as error:
            raise Rejected("invalid_dataset", f"The upload is not audit rows: {error}.") from None


def record_execution(audit_id: str, execution: str, stage: int, was: str | None = None) -> bool:
    """Note the audit's running Athena query and its stage (1 … engine.STAGES); ``was``, the
    query it follows, must still be the noted one: False if another delivery moved on first."""
    condition = "#status = :processing"
    values = {":e": execution, ":s": stage, ":processing": "processing"}
    if was is not None:
        condition += " AND athena_execution = :was"
        values[":was"] = was
    return store.conditionally(
        lambda: store.registry().update_item(
            Key=query_jobs.key(KIND, audit_id),
            UpdateExpression="SET athena_execution = :e, athena_stage = :s",
            ConditionExpression=condition,
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=values,
        )
    )


def _start_athena(job: dict[str, Any]) -> None:
    """Stage 1 of the audit's statements; the audit_poll worker starts the others in turn."""
    first = engine.audit_statements_athena(job["audit_id"], job["algorithm"])[0]
    execution = engine.athena_start(first)
    if record_execution(job["audit_id"], execution, 1):
        engine.watch(job["audit_id"], execution)
    else:
        engine.athena_stop(execution)  # the audit ended meanwhile


@processes(PREFIX)
def process_upload(obj: UploadedObject) -> None:
    """The dataset's rows arrived: run the join (DuckDB here, or start it on Athena)."""
    from shared.voices.ingest import INTERNAL_ERROR, transient

    audit_id = obj.key[len(PREFIX) :].split("/", 1)[0]
    job = query_jobs.get(KIND, audit_id)
    if job is None or job.get("upload_key") != obj.key:
        logger.warning("upload for no awaiting audit", extra={"key": obj.key})
        return
    if not query_jobs.claim(KIND, audit_id, obj):
        return  # delivered twice: processed once
    if obj.size > job["size_bytes"]:  # moto does not enforce the POST policy: we do
        query_jobs.fail(KIND, audit_id, "too_large", "The upload is larger than declared.")
        return
    try:
        if engine.name() == "athena":
            _start_athena(job)  # the audit_poll worker scores it (shared/audits/poll.py)
            return  # the upload stays until the query read it; the bucket's lifecycle ends it
        complete(job, _run_duckdb(job, obj), {"engine": "duckdb"})
    except Rejected as rejection:
        query_jobs.fail(KIND, audit_id, rejection.code, rejection.message)
    except Exception as error:
        if transient(error):
            raise
        logger.exception("audit failed", extra={"audit_id": audit_id})
        query_jobs.fail(KIND, audit_id, *INTERNAL_ERROR)
    aws.s3.delete(obj.bucket, obj.key)
