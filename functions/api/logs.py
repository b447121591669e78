"""The audit log (operators) and the public transparency log (everyone)."""

from __future__ import annotations

from typing import Annotated, Any

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from functions.api.http import Call, route
from shared import audit, checkpoints, store
from shared.errors import BadRequest
from shared.formats import canonical

bp = Blueprint(__name__)


class AuditEntry(BaseModel):
    seq: int
    at: str
    actor: str
    action: str
    entity: str
    digest: str
    data: dict[str, Any] = {}
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    entries: list[AuditEntry]
    next: str | None = None


class LogEntry(BaseModel):
    """Every field that enters the entry's hash (README: the hashing rule), and the hash."""

    chain: str = audit.PUBLIC
    seq: int
    prev_hash: str
    at: str
    actor: str
    action: str
    subject: str
    summary: dict[str, Any]
    hash: str


class LogPage(BaseModel):
    entries: list[LogEntry]
    head: dict[str, Any] | None = None
    next: str | None = None


# The handlers read these values themselves (store.ascii_int: 400 invalid_limit / invalid_cursor);
# the models give the document their real types.
Limit = Annotated[str, WithJsonSchema({"type": "integer", "minimum": 1, "maximum": 200})]
Seq = Annotated[str, WithJsonSchema({"type": "integer", "minimum": 0, "maximum": 10**15})]


class LogQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    limit: Limit | None = Field(default=None, description="1-200 (default 50)")


class AuditQuery(LogQuery):
    entity: str | None = Field(
        default=None,
        max_length=100,
        pattern=r"^[a-z_]+:[^\s:]+$",  # ids hold check symbols (*~$=): any but space, colon
        description="kind:id, e.g. member:M-XXXX-XXXX-X, voice:V-XXXX-XXXX-X",
    )
    cursor: str | None = Field(default=None, description="from `next`")


class PublicLogQuery(LogQuery):
    after: Seq | None = Field(default=None, description="sequence number to continue after")


class CheckpointQuery(LogQuery):
    chain: str | None = Field(
        default=None,
        description="public (default) or audit",
        json_schema_extra={"enum": list(checkpoints.CHAINS)},
    )
    before: Seq | None = Field(default=None, description="a size from `next`: older checkpoints")


def _seq(raw: str | None, name: str) -> int:
    # ASCII digits only: '²'.isdigit() is True and int('²') raises.
    return store.ascii_int(raw, name, 0, 10**15, "invalid_cursor") or 0


@route(
    bp,
    "/v1/audit",
    "GET",
    name="audit.list",
    tag="logs",
    response=AuditPage,
    summary="Every state change, newest first, or one entity's (operator)",
    query=AuditQuery,
)
def audit_list(call: Call) -> AuditPage:
    limit = store.page_limit(call.query.get("limit"))
    if entity := call.query.get("entity"):
        items, cursor = audit.for_entity(entity, limit, call.query.get("cursor"))
        return AuditPage(entries=[AuditEntry.model_validate(i) for i in items], next=cursor)
    before = _seq(call.query.get("cursor"), "cursor")
    items = audit.entries(audit.AUDIT, after=before, limit=limit, descending=True)
    last = items[-1]["seq"] if len(items) == limit and items[-1]["seq"] > 1 else None
    return AuditPage(
        entries=[AuditEntry.model_validate(i) for i in items], next=str(last) if last else None
    )


@route(
    bp,
    "/v1/log",
    "GET",
    name="log.list",
    tag="logs",
    response=LogPage,
    summary="The public transparency log, oldest first, hash-chained (public)",
    query=PublicLogQuery,
)
def log_list(call: Call) -> LogPage:
    limit = store.page_limit(call.query.get("limit"))
    items = audit.entries(audit.PUBLIC, after=_seq(call.query.get("after"), "after"), limit=limit)
    head = audit.latest(audit.PUBLIC)
    return LogPage(
        entries=[LogEntry.model_validate(canonical.normalize(i)) for i in items],
        head={"seq": head["seq"], "hash": head["hash"]} if head else None,
        next=str(items[-1]["seq"]) if len(items) == limit else None,
    )


class Checkpoint(BaseModel):
    """A signed head: ``jws`` is a compact JWS (ES256, a key of /.well-known/jwks.json) whose
    claims repeat ``chain``, ``size``, ``head_hash`` and ``at``."""

    chain: str
    size: int
    head_hash: str
    at: str
    kid: str
    jws: str


class CheckpointPage(BaseModel):
    chain: str
    latest: Checkpoint | None = None
    checkpoints: list[Checkpoint]
    next: str | None = None


@route(
    bp,
    "/v1/log/checkpoints",
    "GET",
    name="log.checkpoints",
    tag="logs",
    response=CheckpointPage,
    summary="Signed checkpoints of a chain's head, newest first (public)",
    query=CheckpointQuery,
)
def log_checkpoints(call: Call) -> CheckpointPage:
    chain = call.query.get("chain") or audit.PUBLIC
    if chain not in checkpoints.CHAINS:
        raise BadRequest("chain must be public or audit.", code="invalid_chain")
    before = call.query.get("before")
    return CheckpointPage.model_validate(
        checkpoints.listing(
            chain,
            _seq(before, "before") if before is not None else None,
            store.page_limit(call.query.get("limit")),
        )
    )
