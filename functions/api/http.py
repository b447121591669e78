"""The glue between Chalice and the domain: declare an operation once, get routing, auth,
validation of the path, query and body, the error model and its OpenAPI entry.

Handlers receive a :class:`Call` and return a pydantic model, a dict or a Chalice ``Response``.
Domain errors carry a code, never an HTTP status: :data:`STATUSES` is the one place a refusal
becomes a status.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Required, TypedDict, Unpack

from chalice import Blueprint, Response
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    WithJsonSchema,
)

from shared import access, ids, openapi
from shared.access import Principal
from shared.clock import parse_instant
from shared.errors import (
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    Unavailable,
    UnsupportedMedia,
    ValidationFailed,
)
from shared.formats import json_input
from shared.labels.service import Unfair
from shared.logging import logger
from shared.settings import get_settings

JSON = "application/json; charset=utf-8"

# The one table from domain refusals to HTTP statuses, looked up along the class's MRO (so a
# subclass may have its own status). The OpenAPI document's error responses come from it too.
STATUSES: dict[type[Exception], int] = {
    ApiError: 400,
    BadRequest: 400,
    json_input.JsonRejected: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    PayloadTooLarge: 413,
    UnsupportedMedia: 415,
    ValidationFailed: 422,
    json_input.JsonValueRejected: 422,
    Unfair: 422,
    Unavailable: 503,
}


def status_of(error: Exception) -> int:
    """The HTTP status of a domain error (500 for anything the table does not know)."""
    for cls in type(error).__mro__:
        if cls in STATUSES:
            return STATUSES[cls]
    return 500


@dataclass
class Call:
    principal: Principal | None
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    request_id: str
    args: Any = None  # the validated query model, for routes declared with ``query=Model``
    path: Any = None  # the validated path model, for routes declared with ``path=Model``

    def require_principal(self) -> Principal:
        if self.principal is None:
            raise Unauthorized("A bearer token is required.")
        return self.principal


Handler = Callable[[Call], Any]

MAX_QUERY_CHARS = 2048


def _ascii_digits(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        # str.isdigit() is True for '²' and '٣'; pydantic alone takes '1_0' and '5.0'.
        if not (text.isascii() and text.isdigit() and len(text) <= 18):
            raise ValueError("must be a whole number written with the digits 0-9")
        return int(text)
    return value


def _instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return parse_instant(str(value))  # BadRequest invalid_time: not wrapped by pydantic


# Types for query parameters: ``route(..., query=Model)`` validates them and documents them.
QueryInt = Annotated[int, BeforeValidator(_ascii_digits)]
Instant = Annotated[
    datetime,
    PlainValidator(_instant),
    WithJsonSchema({"type": "string", "description": "ISO-8601 date or date-time"}),
]
Cursor = Annotated[str, Field(max_length=MAX_QUERY_CHARS, description="from `next`")]


def _char_class(chars: str) -> str:
    """``0123456789ABCDEFGHJK`` → ``0-9A-HJK``: a regex class of sorted ASCII characters."""
    runs: list[list[str]] = []
    for char in sorted(chars):
        if runs and ord(char) == ord(runs[-1][-1]) + 1:
            runs[-1].append(char)
        else:
            runs.append([char])
    return "".join(f"{r[0]}-{r[-1]}" if len(r) > 2 else "".join(r) for r in runs)


def id_pattern(kind: str) -> str:
    """The canonical shape of an identifier (shared/ids.py): prefix, two groups of four Crockford
    base32 characters, a check symbol. Lower case, missing dashes and O/I/L are accepted too."""
    body, check = _char_class(ids.ALPHABET), _char_class(ids.CHECK_SYMBOLS)
    return f"^{ids.KINDS[kind]}-[{body}]{{4}}-[{body}]{{4}}-[{check}]$"


def id_example(kind: str) -> str:
    body = "7K3M9Q2G"
    return f"{ids.KINDS[kind]}-{body[:4]}-{body[4:]}-{ids.check_symbol(body)}"


def _id_parser(kind: str, noun: str, code: str) -> Callable[[Any], str]:
    """A path identifier, normalised to its canonical form; a malformed or mistyped one is a
    404 ``code`` (no such thing can exist), answered before any lookup."""

    def parse(value: Any) -> str:
        canonical = ids.normalize(str(value), kind)
        if canonical is None:
            raise NotFound(f"No such {noun} (check it and its last character).", code=code)
        return canonical

    return parse


def _id_schema(kind: str) -> dict[str, Any]:
    return {"type": "string", "pattern": id_pattern(kind), "examples": [id_example(kind)]}


MemberId = Annotated[
    str,
    PlainValidator(_id_parser("member", "member", "member_not_found")),
    WithJsonSchema(_id_schema("member")),
]
VoiceNo = Annotated[
    str,
    PlainValidator(_id_parser("voice", "voice", "voice_not_found")),
    WithJsonSchema(_id_schema("voice")),
]
AiNo = Annotated[
    str,
    PlainValidator(_id_parser("ai", "AI system", "ai_system_not_found")),
    WithJsonSchema(_id_schema("ai")),
]
ContractId = Annotated[
    str,
    PlainValidator(_id_parser("contract", "contract", "contract_not_found")),
    WithJsonSchema(_id_schema("contract")),
]
TraceId = Annotated[
    str,
    PlainValidator(_id_parser("trace", "trace", "trace_not_found")),
    WithJsonSchema(_id_schema("trace")),
]
ScreenId = Annotated[
    str,
    PlainValidator(_id_parser("screen", "screen", "screen_not_found")),
    WithJsonSchema(_id_schema("screen")),
]


class PathModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MemberPath(PathModel):
    member_id: MemberId


class VoicePath(PathModel):
    voice_no: VoiceNo


class AiPath(PathModel):
    ai_no: AiNo


class ContractPath(PathModel):
    contract_id: ContractId


class AtQuery(BaseModel):
    """``at``: the state at a time instead of now."""

    model_config = ConfigDict(extra="ignore")

    at: Instant | None = None


class PageQuery(BaseModel):
    """``limit`` and ``cursor`` of every paginated list."""

    model_config = ConfigDict(extra="ignore")

    limit: QueryInt = Field(default=50, ge=1, le=200)
    cursor: Cursor | None = None


class Declaration(TypedDict, total=False):
    """What a route declares beside its URL and method (see :func:`route`)."""

    name: Required[str]
    summary: Required[str]
    tag: Required[str]
    body: type[BaseModel] | None
    response: type[BaseModel] | tuple[type[BaseModel], ...] | None
    status: int
    query: type[BaseModel] | None
    path: type[BaseModel] | None
    content_type: str
    errors: tuple[type[Exception], ...]
    description: str | None
    links: dict[str, Any]
    extensions: dict[str, Any]
    examples: dict[str, Any]


def route(
    bp: Blueprint, url: str, method: str, **declared: Unpack[Declaration]
) -> Callable[[Handler], Handler]:
    """Declare one operation of the public contract. ``errors``: refusals beyond those the
    declaration implies (auth, path, query, body), documented with their statuses; the rest
    documents the operation (``links`` of the success answer, ``x-`` ``extensions``, request
    ``examples``)."""
    name, summary = declared["name"], declared["summary"]
    op = _operation(url, method, declared)
    openapi.register(op)

    def decorate(handler: Handler) -> Handler:
        def view(**params: str) -> Response:
            return serve(op, handler, bp.current_request, params)

        view.__name__ = name.replace(".", "_")
        view.__doc__ = summary
        bp.route(url, methods=[method], content_types=["*/*"])(view)
        return handler

    return decorate


def serve(
    op: openapi.Operation, handler: Handler, request: Any, params: dict[str, str]
) -> Response:
    """One request: authenticate, authorise, validate path, query and body, run the handler;
    every refusal in the error shape with its status from :data:`STATUSES`."""
    request_id = request_id_of(request)
    # A page's address is typed or pasted by a person: read as they meant it (full-width
    # characters, a zero-width space copied from a PDF), and refused with a page, not JSON.
    page = op.content_type == "text/html"
    query = dict(request.query_params or {})
    if page:
        query = {k: typed_by_a_person(v) for k, v in query.items()}
        params = {k: typed_by_a_person(v) for k, v in params.items()}
    try:
        principal = authenticate(request.headers.get("authorization"))
        access.authorize(op.name, principal)
        raw_query = parse_query(query)
        checked = {k: check_text(v, k) for k, v in params.items()}
        call = Call(
            principal=principal,
            params=checked,
            query=raw_query,
            body=parse_body(request.raw_body, op.body) if op.body else None,
            headers=dict(request.headers),
            request_id=request_id,
            args=query_args(raw_query, op.query_model) if op.query_model else None,
            path=path_args(checked, op.path_model) if op.path_model else None,
        )
        return to_response(handler(call), op.status)
    except (ApiError, json_input.JsonRejected) as error:
        if page:
            return error_page(error, "en" if query.get("lang") == "en" else "ja")
        return error_response(error, request_id)
    except Exception:
        # Answered here, not by Chalice, so that a 500 has the API's error shape.
        logger.exception("unhandled error", extra={"operation": op.name})
        return internal_error(request_id)


def authenticate(header: str | None) -> Principal | None:
    """No header: anonymous. A header that does not resolve to an active token: 401."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Use 'Authorization: Bearer <token>'.", code="unauthorized")
    from shared.members.tokens import resolve  # imported late: only authenticated calls pay

    principal = resolve(token.strip())
    if principal is None:
        raise Unauthorized("The token is unknown, rotated or suspended.", code="invalid_token")
    return principal


def typed_by_a_person(value: str) -> str:
    """NFKC (``Ｌ－ＡＢＣＤ`` is ``L-ABCD``), without invisible format characters, trimmed."""
    value = unicodedata.normalize("NFKC", value)
    return "".join(c for c in value if unicodedata.category(c) != "Cf").strip()


def error_page(error: ApiError | json_input.JsonRejected, lang: str) -> Response:
    from shared.labels import page  # the public pages' layout

    return Response(
        body=page.render_error_page(lang, error.code, error.message),
        status_code=status_of(error),
        headers=dict(page.PAGE_HEADERS),
    )


def check_text(value: str, name: str) -> str:
    """A path or query value: bounded, and free of format characters and lone surrogates."""
    if len(value) > MAX_QUERY_CHARS:
        raise BadRequest(f"{name} is longer than {MAX_QUERY_CHARS} characters.", code="too_long")
    if (char := json_input.bad_character(value)) is not None:
        raise BadRequest(
            f"{name} contains U+{ord(char):04X}, an invisible formatting character.",
            code="invalid_character",
        )
    return value


def _operation(url: str, method: str, declared: Declaration) -> openapi.Operation:
    rule = access.POLICY[declared["name"]]  # an operation missing from the table fails at import
    body, query, path = declared.get("body"), declared.get("query"), declared.get("path")
    return openapi.Operation(
        name=declared["name"],
        method=method,
        path=url,
        summary=declared["summary"],
        tag=declared["tag"],
        access="public" if rule.public else ",".join(sorted(rule.roles or ())),
        body=body,
        response=declared.get("response"),
        status=declared.get("status", 200),
        query_model=query,
        path_model=path,
        content_type=declared.get("content_type", "application/json"),
        errors=_error_statuses(method, rule.public, body, query, path, declared.get("errors", ())),
        description=declared.get("description"),
        links=declared.get("links") or {},
        extensions=declared.get("extensions") or {},
        examples=declared.get("examples") or {},
    )


def _error_statuses(
    method: str,
    public: bool,
    body: type[BaseModel] | None,
    query: type[BaseModel] | None,
    path: type[BaseModel] | None,
    extra: tuple[type[Exception], ...],
) -> dict[int, list[str]]:
    """The error statuses an operation can answer, each with the error classes behind it."""
    kinds: list[type[Exception]] = [BadRequest, Unauthorized]  # a bad character; a bad token
    if not public:
        kinds.append(Forbidden)
    if path is not None or body is not None:  # a body names records too (ai_no, voice_nos)
        kinds.append(NotFound)
    if path is not None:  # a record of another kind (a member who is not a performer)
        kinds.append(ValidationFailed)
    if method not in ("GET", "HEAD") and not public:  # a write: 409 busy (the audit log) or
        kinds.append(Conflict)  # a transition its record's state does not allow
    if body is not None:
        kinds += [PayloadTooLarge, ValidationFailed]
    if query is not None:
        kinds.append(ValidationFailed)
    statuses: dict[int, list[str]] = {}
    for kind in [*kinds, *extra]:
        names = statuses.setdefault(STATUSES[kind], [])
        if kind.__name__ not in names:
            names.append(kind.__name__)
    return statuses


def parse_query(raw: dict[str, str]) -> dict[str, str]:
    return {check_text(k, "a query parameter"): check_text(v, k) for k, v in raw.items()}


def query_args(raw: dict[str, str], model: type[BaseModel]) -> BaseModel:
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        raise ValidationFailed(
            "Invalid query parameters: " + ", ".join(sorted({_field(e) for e in error.errors()})),
            code="invalid_query",
            details=[
                {"field": _field(e), "message": e["msg"], "type": e["type"]}
                for e in error.errors(include_url=False, include_input=False)
            ],
        ) from None


def path_args(raw: dict[str, str], model: type[BaseModel]) -> BaseModel:
    """Identifier types answer their own 404 (e.g. ``voice_not_found``); any other path value
    that does not fit its type names nothing that exists."""
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        raise NotFound(
            "No such resource: " + ", ".join(sorted({_field(e) for e in error.errors()})),
            code="not_found",
            details=[
                {"field": _field(e), "message": e["msg"], "type": e["type"]}
                for e in error.errors(include_url=False, include_input=False)
            ],
        ) from None


def parse_body(raw: bytes | str | None, model: type[BaseModel]) -> BaseModel:
    """The one place a request body is parsed: size, depth, numbers and characters are bounded
    (shared/json_input.py) before pydantic sees it."""
    raw = raw or b""
    if len(raw) > get_settings().max_body_bytes:
        limit = get_settings().max_body_bytes
        raise PayloadTooLarge(f"The request body exceeds {limit} bytes.", code="body_too_large")
    if not raw.strip() and openapi.body_may_be_omitted(model):
        raw = b"{}"
    data = json_input.loads(raw) if raw.strip() else None  # JsonRejected: a 400 or 422
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object.", code="invalid_json")
    try:
        # JSON mode: strict about types, yet dates and enums parse from their JSON strings.
        return model.model_validate_json(raw)
    except ValidationError as error:
        raise ValidationFailed(
            "The request has invalid fields: "
            + ", ".join(sorted({_field(e) for e in error.errors()})),
            code="validation_error",
            details=[
                {"field": _field(e), "message": e["msg"], "type": e["type"]}
                for e in error.errors(include_url=False, include_input=False)
            ],
        ) from None


def _field(error: Any) -> str:
    return ".".join(str(part) for part in error["loc"]) or "body"


def to_response(result: Any, status: int) -> Response:
    if isinstance(result, Response):
        return result
    if isinstance(result, BaseModel):
        result = result.model_dump(mode="json", by_alias=True)
    return json_response(result, status)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status_code=status,
        headers={"Content-Type": JSON, **(headers or {})},
    )


def error_response(error: ApiError | json_input.JsonRejected, request_id: str) -> Response:
    status = status_of(error)
    if status >= 500:
        logger.error("request failed", extra={"code": error.code})
    body = (
        error.body()
        if isinstance(error, ApiError)
        else {"code": error.code, "message": error.message}
    )
    return json_response({**body, "request_id": request_id}, status)


def internal_error(request_id: str) -> Response:
    return json_response(
        {
            "code": "internal_error",
            "message": "Something went wrong on our side. Quote the request id if you report it.",
            "request_id": request_id,
        },
        500,
    )


def request_id_of(request: Any) -> str:
    context = getattr(request, "context", None) or {}
    lambda_context = getattr(request, "lambda_context", None)
    return str(context.get("requestId") or getattr(lambda_context, "aws_request_id", None) or "-")
