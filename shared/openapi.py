"""The OpenAPI document, generated from the operations the API registers and their pydantic models.

Routes register an :class:`Operation` as they are declared, so the served document cannot drift
from the code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

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
    query_model: type[BaseModel] | None = None
    content_type: str = "application/json"


OPERATIONS: list[Operation] = []


def register(operation: Operation) -> None:
    OPERATIONS.append(operation)


def document(version: str) -> dict[str, Any]:
    models: set[type[BaseModel]] = {ErrorBody}
    for op in OPERATIONS:
        models.update(m for m in (op.body, op.response) if m is not None)
    ordered = sorted(models, key=lambda m: m.__name__)
    keys: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (m, "validation" if _is_body(m) else "serialization") for m in ordered
    ]
    refs, defs = models_json_schema(keys, ref_template="#/components/schemas/{model}")

    def ref(model: type[BaseModel], mode: JsonSchemaMode) -> dict[str, Any]:
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
            ]
            + _query_parameters(op.query_model),
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


def _query_parameters(model: type[BaseModel] | None) -> list[dict[str, Any]]:
    """One parameter per field of a query model, with the field's own schema (types, bounds,
    enums), so that clients and fuzzers know what a valid value is."""
    if model is None:
        return []
    schema = model.model_json_schema(mode="validation")
    required = set(schema.get("required", []))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
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
            "in": "query",
            "required": name in required,
            "schema": prop,
        }
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _is_body(model: type[BaseModel]) -> bool:
    return any(op.body is model for op in OPERATIONS)


def _content(op: Operation, schema: dict[str, Any] | None) -> dict[str, Any]:
    if schema is None:
        return {"description": op.summary, "content": {op.content_type: {}}}
    return {"description": op.summary, "content": {op.content_type: {"schema": schema}}}


__all__ = ["OPERATIONS", "ApiError", "ErrorBody", "Operation", "document", "register"]
