"""Bulk dataset audits: a business's fingerprinted training data joined with the registry."""

from __future__ import annotations

from chalice import Blueprint

from functions.api.http import Call, route
from shared import ids
from shared.audits import service
from shared.audits.models import Audit, AuditCreated, AuditRequest
from shared.errors import NotFound

bp = Blueprint(__name__)
TAG = "audits"


@route(
    bp,
    "/v1/audits",
    "POST",
    name="audits.create",
    tag=TAG,
    body=AuditRequest,
    response=AuditCreated,
    status=201,
    summary="Audit a training dataset: a presigned upload of its fingerprint rows (business)",
)
def create(call: Call) -> AuditCreated:
    job, upload = service.create(call.body, call.require_principal())
    return AuditCreated(audit_id=job["audit_id"], status=job["status"], upload=upload)


@route(
    bp,
    "/v1/audits/{audit_id}",
    "GET",
    name="audits.get",
    tag=TAG,
    response=Audit,
    summary="An audit, its summary and a link to its result (its owner, operators)",
)
def get_audit(call: Call) -> Audit:
    audit_id = ids.normalize(call.params["audit_id"], "dataset_audit")
    if audit_id is None:
        raise NotFound("No such audit.", code="audit_not_found")
    return Audit.model_validate(service.view(audit_id, call.require_principal()))
