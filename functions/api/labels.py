"""Labels (ラベル): issue, verify (JSON, page, badge, QR), revoke and reinstate, and the JWKS."""

from __future__ import annotations

from typing import Annotated, Any

from chalice import Blueprint, Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainValidator, WithJsonSchema

from functions.api.http import (
    AtQuery,
    Call,
    PathModel,
    id_example,
    id_pattern,
    json_response,
    route,
)
from shared import ids
from shared.clock import now_iso
from shared.errors import BadRequest, NotFound, PayloadTooLarge, Unavailable, UnsupportedMedia
from shared.formats import jws
from shared.intents.models import UseCode
from shared.labels import LabelStatus, badge, keyring, page, qr, service, verification, verify_flow
from shared.members.models import Reason, Strict
from shared.openapi import Problem

bp = Blueprint(__name__)
TAG = "labels"
JWKS_FRESH_S = 30  # how stale the published keys may be here after a rotation


def _label_no(value: Any) -> str:
    """The canonical label number; a mistyped or malformed one is a 400, not a missing label."""
    number = verification.classify(str(value))
    if number.problem == "mistyped":
        raise BadRequest(
            "The label number's last (check) character does not match: most likely a typo.",
            code="label_no_mistyped",
        )
    if number.canonical is None:
        raise BadRequest(
            "This is not a label number (they look like L-XXXX-XXXX-X).",
            code="label_no_malformed",
        )
    return number.canonical


LABEL_SCHEMA = {"type": "string", "pattern": id_pattern("label"), "examples": [id_example("label")]}
LabelNo = Annotated[str, PlainValidator(_label_no), WithJsonSchema(LABEL_SCHEMA)]
# As a person typed it: the pages and the badge answer every value themselves.
TypedLabelNo = Annotated[str, WithJsonSchema({"type": "string", "examples": [id_example("label")]})]
Lang = Annotated[
    str,
    BeforeValidator(lambda v: "en" if v == "en" else "ja"),
    WithJsonSchema({"type": "string", "enum": ["ja", "en"], "default": "ja"}),
]


class LabelPath(PathModel):
    label_no: LabelNo


class TypedLabelPath(PathModel):
    label_no: TypedLabelNo


class LangQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    lang: Lang = Field(default="ja", description="the page's language (Japanese first)")


class PageAtQuery(LangQuery):
    at: str | None = Field(default=None, max_length=64, description="ISO-8601 time")


class LookupQuery(LangQuery):
    label_no: str | None = Field(default=None, max_length=64, description="as typed")


class LabelRequest(Strict):
    ai_no: str


class LabelIssued(BaseModel):
    label_no: str
    status: LabelStatus
    token: str
    verify_url: str
    issued_at: str
    expires_at: str


class LabelView(BaseModel):
    label_no: str
    status: LabelStatus
    reasons: list[Problem]
    ai_system: dict[str, Any]
    business: dict[str, Any]
    uses: list[UseCode]
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


# Verification repeats LabelView's fields (but token and at) flat; a test holds them equal.
class Verification(BaseModel):
    """``signature_valid``, and the label's fields beside it (API.md: "and the label as
    above", read flat by clients) as well as under ``label``; absent when there is no label."""

    signature_valid: bool
    error: str | None = None
    label_no: str | None = None
    status: LabelStatus | None = None
    reasons: list[Problem] | None = None
    ai_system: dict[str, Any] | None = None
    business: dict[str, Any] | None = None
    uses: list[UseCode] | None = None
    commercial: bool | None = None
    voices: list[str] | None = None
    credits: list[str] | None = None
    issued_at: str | None = None
    expires_at: str | None = None
    verify_url: str | None = None
    checked_at: str | None = None
    label: LabelView | None = None


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
    errors=(service.Unfair, Unavailable),
    examples={"an AI system": {"ai_no": id_example("ai")}},
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
        claims = jws.verify(token, keyring.jwks_for(token), check_expiry=False)
    except jws.TokenError as error:
        return Verification(signature_valid=False, error=error.reason)
    label = service.get(str(claims.get("label_no", "")))
    if label is None:
        return Verification(signature_valid=True, error="unknown_label")
    if label["token"] != token:  # signed by the registry, but not what it issued as this label
        return Verification(signature_valid=True, error="not_the_issued_token")
    view = LabelView.model_validate(service.public_view(label))
    flat = view.model_dump(exclude={"token", "at"})
    return Verification(signature_valid=True, label=view, **flat)


@route(
    bp,
    "/v1/labels/{label_no}",
    "GET",
    name="labels.get",
    tag=TAG,
    response=LabelView,
    summary="A label's live status (or its status at a time) (public)",
    query=AtQuery,
    path=LabelPath,
)
def get_label(call: Call) -> LabelView:
    at = call.args.at
    label = service.require(call.path.label_no)
    view = service.public_view(label, at)
    if view["status"] == "not_issued":  # the pages say so in words; the API's statuses don't
        raise NotFound(
            f"{label['label_no']} was issued at {label['issued_at']}; it did not exist at "
            f"{call.query.get('at')}.",
            code="not_issued",
        )
    return LabelView.model_validate(view)


@route(
    bp,
    "/v1/labels/{label_no}/revoke",
    "POST",
    name="labels.revoke",
    tag=TAG,
    body=Reason,
    response=LabelView,
    summary="Revoke a label for good, with a reason (operator)",
    path=LabelPath,
)
def revoke(call: Call) -> LabelView:
    label = service.revoke(call.path.label_no, call.require_principal(), call.body.reason)
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
    path=LabelPath,
)
def reinstate(call: Call) -> LabelView:
    label = service.reinstate(call.path.label_no, call.require_principal(), call.body.reason)
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
    cache = {"Cache-Control": f"public, max-age={JWKS_FRESH_S}"}
    return json_response(keyring.jwks(JWKS_FRESH_S), headers=cache)


# API Gateway hands Lambda at most 6 MB, and a binary body arrives base64-encoded (4/3).
PAGE_STATUS = {"found": 200, "unknown": 404, "mistyped": 400, "malformed": 400}


def _lang(call: Call) -> str:
    return "en" if call.query.get("lang") == "en" else "ja"


def _page(html: str, status: int = 200) -> Response:
    return Response(body=html, status_code=status, headers=dict(page.PAGE_HEADERS))


def verify_page(call: Call) -> Response:
    result = verification.verify(call.params["label_no"], call.query.get("at"))
    html = page.render_verify_page(
        result, lang=_lang(call), checked_at=result.view.get("checked_at", now_iso())
    )
    return _page(html, PAGE_STATUS[result.lookup])


route(
    bp,
    "/verify/{label_no}",
    "GET",
    name="labels.page",
    tag=TAG,
    content_type="text/html",
    summary="The page people see when they scan a label: status, since when and why, issuer and "
    "signature, readable uses; 404 for an unknown number, 400 for a mistyped one (public)",
    query=PageAtQuery,
    path=TypedLabelPath,
)(verify_page)
route(
    bp,
    "/verify/{label_no}",
    "HEAD",
    name="labels.page.head",
    tag=TAG,
    content_type="text/html",
    summary="The verify page's status and headers, without the body (public)",
    query=PageAtQuery,
    path=TypedLabelPath,
)(verify_page)


@route(
    bp,
    "/verify",
    "GET",
    name="labels.lookup",
    tag=TAG,
    content_type="text/html",
    summary="A page to type a label number (?label_no= goes to its page) or upload audio (public)",
    query=LookupQuery,
)
def lookup_page(call: Call) -> Response:
    lang = _lang(call)
    html, status, location = verify_flow.lookup(lang, call.query.get("label_no", "").strip())
    if location:
        return Response(
            body="", status_code=303, headers={"Location": location, "Cache-Control": "no-cache"}
        )
    return _page(html, status)


@route(
    bp,
    "/verify",
    "POST",
    name="labels.check_file",
    tag=TAG,
    content_type="text/html",
    summary="Check the C2PA label inside an audio file (multipart form field `file`, WAV or MP3, "
    "up to 4 MB): manifest integrity, label signature, live status; a page (public)",
    query=LangQuery,
    errors=(PayloadTooLarge, UnsupportedMedia),
)
def check_file(call: Call) -> Response:
    raw = bp.current_request.raw_body or b""
    html, status = verify_flow.check_upload(_lang(call), call.headers.get("content-type", ""), raw)
    return _page(html, status)


@route(
    bp,
    "/criteria",
    "GET",
    name="labels.criteria",
    tag=TAG,
    content_type="text/html",
    summary="The published criteria a label stands for (the fairness rule) (public)",
    query=LangQuery,
)
def criteria(call: Call) -> Response:
    response = _page(page.render_criteria_page(_lang(call)))
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def label_badge(call: Call) -> Response:
    result = verification.classify(call.params["label_no"])
    label = service.get(result.canonical) if result.canonical else None
    status = service.status_at(label)[0] if label else "unknown"
    return Response(
        body=badge.render_badge(status, result.canonical or result.typed),
        status_code=200,
        headers={
            "Content-Type": "image/svg+xml; charset=utf-8",
            "Cache-Control": "public, max-age=60",
        },
    )


route(
    bp,
    "/v1/labels/{label_no}/badge.svg",
    "GET",
    name="labels.badge",
    tag=TAG,
    content_type="image/svg+xml",
    summary="The label's badge with its live status; an 'unknown' badge (200) for a number "
    "that is not a label, so a shop page never shows a broken image (public)",
    path=TypedLabelPath,
)(label_badge)
route(
    bp,
    "/v1/labels/{label_no}/badge.svg",
    "HEAD",
    name="labels.badge.head",
    tag=TAG,
    content_type="image/svg+xml",
    summary="The badge's headers, without the body (public)",
    path=TypedLabelPath,
)(label_badge)


@route(
    bp,
    "/v1/labels/{label_no}/cawg",
    "GET",
    name="labels.cawg",
    tag=TAG,
    summary="The cawg.training-mining assertion for audio made under this label, from its "
    "performers' intents in force: what `ailas label-file` embeds (public)",
    path=LabelPath,
)
def label_cawg(call: Call) -> Response:
    label = service.require(call.path.label_no)
    return json_response(verification.training_mining(label))


@route(
    bp,
    "/v1/labels/{label_no}/qr.svg",
    "GET",
    name="labels.qr",
    tag=TAG,
    content_type="image/svg+xml",
    summary="A QR code of the label's verify URL (public)",
    path=LabelPath,
)
def label_qr(call: Call) -> Response:
    label = service.require(call.path.label_no)
    return Response(
        body=qr.qr_svg(service.verify_url(label["label_no"])),
        status_code=200,
        headers={
            "Content-Type": "image/svg+xml; charset=utf-8",
            "Cache-Control": "public, max-age=86400",
        },
    )
