"""The OpenAPI document, generated from the operations the API registers and their pydantic models.

Routes register an :class:`Operation` as they are declared, so the served document cannot drift
from the code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from shared.errors import ApiError


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer of the API."""

    code: str
    message: str
    details: Any = None
    request_id: str | None = None


@dataclass(frozen=True)
class Operation:
    name: str
    method: str
    path: str
    summary: str
    access: str
    tag: str
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    query: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


OPERATIONS: list[Operation] = []


def register(operation: Operation) -> None:
    OPERATIONS.append(operation)


def document(version: str) -> dict[str, Any]:
    models: set[type[BaseModel]] = {ErrorBody}
    for op in OPERATIONS:
        models.update(m for m in (op.body, op.response) if m is not None)
    ordered = sorted(models, key=lambda m: m.__name__)
    keys = [(m, "validation" if _is_body(m) else "serialization") for m in ordered]
    refs, defs = models_json_schema(keys, ref_template="#/components/schemas/{model}")

    def ref(model: type[BaseModel], mode: str) -> dict[str, Any]:
        return refs[(model, mode)]

    paths: dict[str, dict[str, Any]] = {}
    for op in sorted(OPERATIONS, key=lambda o: (o.path, o.method)):
        entry: dict[str, Any] = {
            "operationId": op.name,
            "summary": op.summary,
            "tags": [op.tag],
            "x-access": op.access,
            "parameters": [
                {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                for p in re.findall(r"{(\w+)}", op.path)
            ]
            + [
                {
                    "name": q,
                    "in": "query",
                    "required": False,
                    "description": d,
                    "schema": {"type": "string"},
                }
                for q, d in op.query.items()
            ],
            "responses": {
                str(op.status): _content(
                    op, ref(op.response, "serialization") if op.response else None
                ),
                "default": {
                    "description": "Error",
                    "content": {"application/json": {"schema": ref(ErrorBody, "serialization")}},
                },
            },
        }
        if op.access != "public":
            entry["security"] = [{"bearer": []}]
        if op.body is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref(op.body, "validation")}},
            }
        paths.setdefault(op.path, {})[op.method.lower()] = entry

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "AILAS Fair-Trade Voice Registry",
            "version": version,
            "description": (
                "Consent, voice registration, tracing and verifiable labels for voice AI."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _is_body(model: type[BaseModel]) -> bool:
    return any(op.body is model for op in OPERATIONS)


def _content(op: Operation, schema: dict[str, Any] | None) -> dict[str, Any]:
    if schema is None:
        return {"description": op.summary, "content": {op.content_type: {}}}
    return {"description": op.summary, "content": {op.content_type: {"schema": schema}}}


__all__ = ["OPERATIONS", "ApiError", "ErrorBody", "Operation", "document", "register"]
