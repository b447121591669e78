"""The glue between Chalice and the domain: declare an operation once, get routing, auth,
body validation, the error model and its OpenAPI entry.

Handlers receive a :class:`Call` and return a pydantic model, a dict or a Chalice ``Response``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

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

from shared import access, json_input, openapi
from shared.access import Principal
from shared.clock import parse_instant
from shared.errors import ApiError, BadRequest, PayloadTooLarge, Unauthorized, ValidationFailed
from shared.logging import logger
from shared.settings import get_settings

JSON = "application/json; charset=utf-8"


@dataclass
class Call:
    principal: Principal | None
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    request_id: str
    args: Any = None  # the validated query model, for routes declared with ``query=Model``

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


class AtQuery(BaseModel):
    """``at``: the state at a time instead of now."""

    model_config = ConfigDict(extra="ignore")

    at: Instant | None = None


class PageQuery(BaseModel):
    """``limit`` and ``cursor`` of every paginated list."""

    model_config = ConfigDict(extra="ignore")

    limit: QueryInt = Field(default=50, ge=1, le=200)
    cursor: Cursor | None = None


def route(
    bp: Blueprint,
    path: str,
    method: str,
    *,
    name: str,
    summary: str,
    tag: str,
    body: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    query: dict[str, str] | type[BaseModel] | None = None,
    content_type: str = "application/json",
) -> Callable[[Handler], Handler]:
    """Declare one operation of the public contract."""
    rule = access.POLICY[name]  # an operation missing from the policy table fails at import
    openapi.register(
        openapi.Operation(
            name=name,
            method=method,
            path=path,
            summary=summary,
            tag=tag,
            access="public" if rule.public else ",".join(sorted(rule.roles or ())),
            body=body,
            response=response,
            status=status,
            query={} if isinstance(query, type) or query is None else query,
            query_model=query if isinstance(query, type) else None,
            content_type=content_type,
        )
    )

    def decorate(handler: Handler) -> Handler:
        def view(**params: str) -> Response:
            request = bp.current_request
            request_id = request_id_of(request)
            try:
                principal = authenticate(request.headers.get("authorization"))
                access.authorize(name, principal)
                raw_query = parse_query(dict(request.query_params or {}))
                call = Call(
                    principal=principal,
                    params={k: check_text(v, k) for k, v in params.items()},
                    query=raw_query,
                    body=parse_body(request.raw_body, body) if body else None,
                    headers=dict(request.headers),
                    request_id=request_id,
                    args=query_args(raw_query, query) if isinstance(query, type) else None,
                )
                return to_response(handler(call), status)
            except ApiError as error:
                return error_response(error, request_id)
            except Exception:
                # Answered here, not by Chalice, so that a 500 has the API's error shape.
                logger.exception("unhandled error", extra={"operation": name})
                return internal_error(request_id)

        view.__name__ = name.replace(".", "_")
        view.__doc__ = summary
        bp.route(path, methods=[method], content_types=["*/*"])(view)
        return handler

    return decorate


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


def parse_body(raw: bytes | str | None, model: type[BaseModel]) -> BaseModel:
    """The one place a request body is parsed: size, depth, numbers and characters are bounded
    (shared/json_input.py) before pydantic sees it."""
    raw = raw or b""
    if len(raw) > get_settings().max_body_bytes:
        limit = get_settings().max_body_bytes
        raise PayloadTooLarge(f"The request body exceeds {limit} bytes.", code="body_too_large")
    try:
        data = json_input.loads(raw) if raw.strip() else None
    except json_input.JsonRejected as error:
        raise ApiError(error.message, code=error.code, status=error.status) from None
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


def error_response(error: ApiError, request_id: str) -> Response:
    if error.status >= 500:
        logger.error("request failed", extra={"code": error.code})
    return json_response({**error.body(), "request_id": request_id}, error.status)


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
