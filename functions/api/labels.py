"""Labels (ラベル): issue, verify (JSON, page, badge, QR), revoke and reinstate, and the JWKS."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response
from pydantic import BaseModel, Field

from functions.api.http import AtQuery, Call, json_response, route
from shared import ids
from shared.errors import NotFound
from shared.labels import badge, jws, keyring, page, qr, service
from shared.members.models import Reason, Strict

bp = Blueprint(__name__)
TAG = "labels"


class LabelRequest(Strict):
    ai_no: str


class LabelIssued(BaseModel):
    label_no: str
    status: str
    token: str
    verify_url: str
    issued_at: str
    expires_at: str


class LabelView(BaseModel):
    label_no: str
    status: str = Field(description="valid, suspended, revoked, expired (or pending_review)")
    reasons: list[dict[str, Any]]
    ai_system: dict[str, Any]
    business: dict[str, Any]
    uses: list[str]
    commercial: bool
    voices: list[str]
    credits: list[str]
    issued_at: str
    expires_at: str
    token: str
    verify_url: str
    checked_at: str
    at: str | None = None


class VerifyRequest(Strict):
    token: str = Field(max_length=20_000)


class Verification(BaseModel):
    signature_valid: bool
    error: str | None = None
    label: LabelView | None = None


def label_no_of(call: Call) -> str:
    label_no = ids.normalize(call.params["label_no"], "label")
    if label_no is None:
        raise NotFound(
            "No such label (check the number and its last character).", code="label_not_found"
        )
    return label_no


@route(
    bp,
    "/v1/labels",
    "POST",
    name="labels.issue",
    tag=TAG,
    body=LabelRequest,
    response=LabelIssued,
    status=201,
    summary="Apply for a label: issued if the trade is fair, else 422 with every problem",
)
def issue(call: Call) -> LabelIssued:
    ai_no = ids.normalize(call.body.ai_no, "ai")
    if ai_no is None:
        raise NotFound("No such AI system.", code="ai_system_not_found")
    label = service.issue(ai_no, call.require_principal())
    return LabelIssued(
        label_no=label["label_no"],
        status=label["status"],
        token=label["token"],
        verify_url=service.verify_url(label["label_no"]),
        issued_at=label["issued_at"],
        expires_at=label["expires_at"],
    )


# Declared before /v1/labels/{label_no}: the local router matches routes in order.
@route(
    bp,
    "/v1/labels/verify",
    "POST",
    name="labels.verify",
    tag=TAG,
    body=VerifyRequest,
    response=Verification,
    summary="Verify a label token: the signature (no KMS call) and the live status (public)",
)
def verify(call: Call) -> Verification:
    token = jws.normalize(call.body.token)  # once, for both the signature and the lookup
    try:
        claims = jws.verify(token, keyring.jwks(), check_expiry=False)
    except jws.TokenError as error:
        return Verification(signature_valid=False, error=error.reason)
    label = service.get(str(claims.get("label_no", "")))
    if label is None or label["token"] != token:
        return Verification(signature_valid=True, error="unknown_label")
    return Verification(
        signature_valid=True, label=LabelView.model_validate(service.public_view(label))
    )


@route(
    bp,
    "/v1/labels/{label_no}",
    "GET",
    name="labels.get",
    tag=TAG,
    response=LabelView,
    summary="A label's live status (or its status at a time) (public)",
    query=AtQuery,
)
def get_label(call: Call) -> LabelView:
    at = call.args.at
    return LabelView.model_validate(service.public_view(service.require(label_no_of(call)), at))


@route(
    bp,
    "/v1/labels/{label_no}/revoke",
    "POST",
    name="labels.revoke",
    tag=TAG,
    body=Reason,
    response=LabelView,
    summary="Revoke a label for good, with a reason (operator)",
)
def revoke(call: Call) -> LabelView:
    label = service.revoke(label_no_of(call), call.require_principal(), call.body.reason)
    return LabelView.model_validate(service.public_view(label))


@route(
    bp,
    "/v1/labels/{label_no}/reinstate",
    "POST",
    name="labels.reinstate",
    tag=TAG,
    body=Reason,
    response=LabelView,
    summary="Approve a label awaiting review, or re-check a suspended one (operator)",
)
def reinstate(call: Call) -> LabelView:
    label = service.reinstate(label_no_of(call), call.require_principal(), call.body.reason)
    return LabelView.model_validate(service.public_view(label))


@route(
    bp,
    "/.well-known/jwks.json",
    "GET",
    name="labels.jwks",
    tag=TAG,
    summary="The public keys that verify label tokens (public)",
)
def jwks(call: Call) -> Response:
    return json_response(keyring.jwks(), headers={"Cache-Control": "public, max-age=300"})


@route(
    bp,
    "/verify/{label_no}",
    "GET",
    name="labels.page",
    tag=TAG,
    content_type="text/html",
    summary="The page people see when they scan a label (Japanese and English) (public)",
)
def verify_page(call: Call) -> Response:
    label_no = ids.normalize(call.params["label_no"], "label")
    label = service.get(label_no) if label_no else None
    view = (
        service.public_view(label)
        if label
        else {"label_no": call.params["label_no"], "status": "not_found"}
    )
    html = page.render_verify_page(view, checked_at=view.get("checked_at", ""))
    return Response(
        body=html,
        status_code=200 if label else 404,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Cache-Control": "no-cache",
            "Content-Security-Policy": "default-src 'none'; "
            "style-src 'unsafe-inline'; img-src 'self' data:",
        },
    )


@route(
    bp,
    "/v1/labels/{label_no}/badge.svg",
    "GET",
    name="labels.badge",
    tag=TAG,
    content_type="image/svg+xml",
    summary="The label's badge, with its live status (public)",
)
def label_badge(call: Call) -> Response:
    label = service.require(label_no_of(call))
    status, _ = service.status_at(label)
    return Response(
        body=badge.render_badge(status, label["label_no"]),
        status_code=200,
        headers={
            "Content-Type": "image/svg+xml; charset=utf-8",
            "Cache-Control": "public, max-age=60",
        },
    )


@route(
    bp,
    "/v1/labels/{label_no}/qr.svg",
    "GET",
    name="labels.qr",
    tag=TAG,
    content_type="image/svg+xml",
    summary="A QR code of the label's verify URL (public)",
)
def label_qr(call: Call) -> Response:
    label = service.require(label_no_of(call))
    return Response(
        body=qr.qr_svg(service.verify_url(label["label_no"])),
        status_code=200,
        headers={
            "Content-Type": "image/svg+xml; charset=utf-8",
            "Cache-Control": "public, max-age=86400",
        },
    )
