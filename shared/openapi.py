"""The OpenAPI 3.1 document, generated from the operations the API registers and their pydantic
models.

Routes register an :class:`Operation` as they are declared, so the served document cannot drift
from the code: path and query parameters come from the routes' path and query models (types,
patterns, enums, bounds), bodies and answers from their models, and each operation's error
statuses from the edge's status table (``functions/api/http.py:STATUSES``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from shared.formats.uses import USE_CODES
from shared.labels.fairness import MESSAGES

# Every reason a fairness problem or a label's status can give (the rule's own table, and an
# operator's revocation).
REASONS: tuple[str, ...] = (*MESSAGES, "revoked")
ProblemReason = Annotated[str, WithJsonSchema({"type": "string", "enum": list(REASONS)})]
ProblemUse = Annotated[
    str,
    WithJsonSchema(
        {
            "type": "string",
            "enum": [*USE_CODES, "commercial", "*"],
            "description": "a use code, `commercial`, or `*` for the whole voice",
        }
    ),
]


class FieldError(BaseModel):
    """One invalid field of a request (body, query or path)."""

    field: str = Field(examples=["email"])
    message: str = Field(examples=["value is not a valid email address"])
    type: str = Field(examples=["value_error"])


class Problem(BaseModel):
    """Why a label cannot be issued or stays suspended: one entry per voice and use."""

    model_config = ConfigDict(extra="allow")

    voice_no: str | None = None
    use: ProblemUse | None = None
    reason: ProblemReason
    performer_id: str | None = None
    performer_name: str | None = None
    blocking: bool = True
    message_ja: str | None = None
    message_en: str | None = None


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer of the API."""

    code: str = Field(description="stable, machine-readable", examples=["voice_not_found"])
    message: str = Field(description="for people; may change")
    details: list[Any] | dict[str, Any] | None = Field(
        default=None, description="field errors (a list) or facts about the refusal (an object)"
    )
    request_id: str | None = Field(default=None, description="quote it when reporting")


class ValidationErrorBody(ErrorBody):
    """422: the fields that broke a rule."""

    # field errors, or records named in the body that break a rule ({voice_no, reason})
    details: list[FieldError] | list[dict[str, Any]] | dict[str, Any] | None = None


class UnfairDetails(BaseModel):
    problems: list[Problem]


class UnfairBody(ErrorBody):
    """422 ``unfair`` (POST /v1/labels): every problem, as ``problems`` and ``details.problems``."""

    code: Literal["unfair"] = "unfair"
    details: UnfairDetails | None = None  # type: ignore[assignment]
    problems: list[Problem]


ERROR_MODELS: tuple[type[BaseModel], ...] = (ErrorBody, ValidationErrorBody, UnfairBody)

# Each documented error status: a reusable response (components/responses) and an example code.
ERRORS: dict[int, tuple[str, str, str]] = {
    400: (
        "BadRequest",
        "The request cannot be read (malformed value, JSON, cursor)",
        "invalid_json",
    ),
    401: ("Unauthorized", "No valid bearer token", "invalid_token"),
    403: ("Forbidden", "The token's member may not do this", "forbidden"),
    404: ("NotFound", "No such resource (or a mistyped identifier)", "not_found"),
    409: ("Conflict", "Not allowed in the resource's current state", "invalid_transition"),
    413: ("PayloadTooLarge", "The body is larger than the API takes", "body_too_large"),
    415: ("UnsupportedMediaType", "A content type the API does not take", "unsupported_form"),
    422: ("Unprocessable", "Fields that break a rule", "validation_error"),
    429: ("Throttled", "Too many requests (the gateway's throttle); retry later", "throttled"),
    503: ("Unavailable", "A dependency failed; retry later", "signing_failed"),
}


_PROBLEM = {
    "voice_no": "V-7K3M-9Q2G-0",
    "use": "tts",
    "reason": "contract_missing",
    "performer_id": "M-7K3M-9Q2G-0",
    "blocking": True,
    "message_en": MESSAGES["contract_missing"][1],
}
UNFAIR_EXAMPLE = {
    "code": "unfair",
    "message": "The trade is not fair yet: 1 problem(s) with 1 voice(s).",
    "details": {"problems": [_PROBLEM]},
    "problems": [_PROBLEM],
    "request_id": "…",
}


@dataclass(frozen=True)
class Operation:
    name: str
    method: str
    path: str
    summary: str
    access: str
    tag: str
    body: type[BaseModel] | None = None
    # several models: the answer is one of them (e.g. the full record or the public view)
    response: type[BaseModel] | tuple[type[BaseModel], ...] | None = None
    status: int = 200
    query_model: type[BaseModel] | None = None
    path_model: type[BaseModel] | None = None
    content_type: str = "application/json"
    errors: dict[int, list[str]] = field(default_factory=dict)  # status → error classes
    links: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    extensions: dict[str, Any] = field(default_factory=dict)
    examples: dict[str, Any] = field(default_factory=dict)  # request-body examples


OPERATIONS: list[Operation] = []


def register(operation: Operation) -> None:
    OPERATIONS.append(operation)


def document(version: str, server: str | None = None) -> dict[str, Any]:
    models: set[type[BaseModel]] = set(ERROR_MODELS)
    for op in OPERATIONS:
        models.update(m for m in (op.body, *_answers(op)) if m is not None)
    ordered = sorted(models, key=lambda m: m.__name__)
    keys: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (m, "validation" if _is_body(m) else "serialization") for m in ordered
    ]
    refs, defs = models_json_schema(keys, ref_template="#/components/schemas/{model}")

    def ref(model: type[BaseModel]) -> dict[str, Any]:
        return refs[(model, "validation" if _is_body(model) else "serialization")]

    paths: dict[str, dict[str, Any]] = {}
    for op in sorted(OPERATIONS, key=lambda o: (o.path, o.method)):
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, ref)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "AILAS Fair-Trade Voice Registry",
            "version": version,
            "description": (
                "Consent, voice registration, tracing and verifiable labels for voice AI. "
                "Errors are JSON `{code, message, details}`; `code` is stable. Identifiers are "
                "Crockford base32 with a check symbol (lower case, missing dashes and O/I/L are "
                "read too). Uploads are presigned POSTs: see `x-presigned-upload`."
            ),
        },
        "servers": [{"url": server or "/", "description": "this registry"}],
        "tags": sorted(({"name": t} for t in {o.tag for o in OPERATIONS}), key=str),
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "responses": _error_responses(ref),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "a member's or operator's token (shown once on approval)",
                }
            },
        },
    }


def _operation(op: Operation, ref: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "operationId": op.name,
        "summary": op.summary,
        "tags": [op.tag],
        "x-access": op.access,
        "parameters": _parameters(op.path_model, "path", op.path)
        + _parameters(op.query_model, "query"),
        "responses": {
            str(op.status): _success(op, _answer_schema(op, ref)),
            **_errors(op, ref),
        },
    }
    if op.description:
        entry["description"] = op.description
    if op.access != "public":
        entry["security"] = [{"bearer": []}]
    if op.body is not None:
        media: dict[str, Any] = {"schema": ref(op.body)}
        if op.examples:
            media["examples"] = {k: {"value": v} for k, v in op.examples.items()}
        required = not body_may_be_omitted(op.body)
        entry["requestBody"] = {"required": required, "content": {"application/json": media}}
    return entry | op.extensions


def body_may_be_omitted(model: type[BaseModel]) -> bool:
    """A body model that says so (``OMITTABLE``), and whose every field has a default, may be
    left out: no body reads as ``{}`` (a contract revoked without a reason). Others stay
    required, so an empty PUT never resets a record to its defaults."""
    optional = not any(field.is_required() for field in model.model_fields.values())
    return bool(getattr(model, "OMITTABLE", False)) and optional


def _parameters(
    model: type[BaseModel] | None, where: str, path: str | None = None
) -> list[dict[str, Any]]:
    """One parameter per field of a path or query model, with the field's own schema (types,
    patterns, bounds, enums, examples), so that clients and fuzzers know what a valid value is.
    A path parameter without a model is a plain string."""
    schema = model.model_json_schema(mode="validation") if model else {}
    properties = schema.get("properties", {})
    parameters = []
    for name in re.findall(r"{(\w+)}", path or ""):
        if name not in properties:
            parameters.append(
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            )
    required = set(schema.get("required", [])) | ({*properties} if where == "path" else set())
    for name, prop in properties.items():
        prop = dict(prop)
        if "anyOf" in prop:  # optional: `X | None` is simply an absent parameter
            options = [o for o in prop.pop("anyOf") if o.get("type") != "null"]
            prop = {**prop, **(options[0] if len(options) == 1 else {"anyOf": options})}
        description = prop.pop("description", None)
        prop.pop("title", None)
        if prop.get("default", 0) is None:
            del prop["default"]
        parameter: dict[str, Any] = {
            "name": name,
            "in": where,
            "required": name in required,
            "schema": prop,
        }
        if description:
            parameter["description"] = description
        if "examples" in prop:
            parameter["example"] = prop["examples"][0]
        parameters.append(parameter)
    return parameters


def _answers(op: Operation) -> tuple[type[BaseModel], ...]:
    if op.response is None:
        return ()
    return op.response if isinstance(op.response, tuple) else (op.response,)


def _answer_schema(op: Operation, ref: Any) -> dict[str, Any] | None:
    answers = _answers(op)
    if len(answers) > 1:
        return {"anyOf": [ref(m) for m in answers]}
    return ref(answers[0]) if answers else None


def _is_body(model: type[BaseModel]) -> bool:
    return any(op.body is model for op in OPERATIONS)


def _success(op: Operation, schema: dict[str, Any] | None) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": op.summary}
    if op.method == "HEAD":
        return answer  # no body
    media: dict[str, Any] = {}
    if schema is not None:
        media["schema"] = schema
    elif op.content_type.startswith("text/") or op.content_type.endswith("+xml"):
        media["schema"] = {"type": "string"}
    elif op.content_type == "application/json":
        media["schema"] = {"type": "object"}
    answer["content"] = {op.content_type: media}
    if op.links:
        answer["links"] = op.links
    return answer


def _errors(op: Operation, ref: Any) -> dict[str, Any]:
    """The operation's error statuses. JSON operations answer the error model (422 of
    ``labels.issue`` also the ``unfair`` one); pages for people answer an HTML page."""
    answers: dict[str, Any] = {}
    for status in sorted({*op.errors, 429}):
        name = ERRORS[status][0]
        causes = ", ".join(op.errors.get(status, [])) or "the gateway"
        # a page's own refusals are pages; a bad token and the gateway's throttle are JSON
        if op.content_type == "text/html" and status not in (401, 429):
            answers[str(status)] = {
                "description": f"{ERRORS[status][1]}: a page for people",
                "content": {"text/html": {"schema": {"type": "string"}}},
            }
        elif status == 422 and "Unfair" in op.errors.get(422, []):
            # anyOf: an `unfair` body is also a valid validation-error body
            schema = {"anyOf": [ref(UnfairBody), ref(ValidationErrorBody)]}
            answers["422"] = {
                "description": f"{ERRORS[422][1]}, or `unfair` with every problem ({causes})",
                "content": {"application/json": {"schema": schema, "example": UNFAIR_EXAMPLE}},
            }
        else:
            answers[str(status)] = {"$ref": f"#/components/responses/{name}"}
    return answers


def _error_responses(ref: Any) -> dict[str, Any]:
    responses = {}
    for status, (name, description, code) in ERRORS.items():
        model = ValidationErrorBody if status == 422 else ErrorBody
        example: dict[str, Any] = {"code": code, "message": description + ".", "request_id": "…"}
        if status == 422:
            example["details"] = [
                {"field": "email", "message": "value is not a valid email address", "type": "x"}
            ]
        responses[name] = {
            "description": description,
            "content": {"application/json": {"schema": ref(model), "example": example}},
        }
    return responses


__all__ = ["OPERATIONS", "ErrorBody", "Operation", "Problem", "document", "register"]
