"""Health, the OpenAPI document and the docs page."""

from __future__ import annotations

from importlib import resources

from chalice import Blueprint, Response
from pydantic import BaseModel

from functions.api.http import Call, json_response, route
from shared import __version__, events, openapi
from shared.settings import get_settings

bp = Blueprint(__name__)


class Health(BaseModel):
    status: str
    version: str
    stage: str
    events: dict | None = None


@route(
    bp,
    "/v1/health",
    "GET",
    name="health",
    summary="Liveness and versions",
    tag="meta",
    response=Health,
)
def health(call: Call) -> Health:
    cursor = events.delivery_cursor()
    return Health(
        status="ok",
        version=__version__,
        stage=get_settings().stage,
        events={"last_delivered_seq": cursor["last_seq"], "delivered_at": cursor["delivered_at"]}
        if cursor
        else None,
    )


@route(
    bp, "/v1/openapi.json", "GET", name="openapi", summary="This API's OpenAPI document", tag="meta"
)
def openapi_document(call: Call) -> Response:
    return json_response(openapi.document(__version__), headers={"Cache-Control": "max-age=60"})


_DOCS_PAGE = resources.files("functions.api").joinpath("static/docs.html").read_text("utf-8")


@route(
    bp,
    "/docs",
    "GET",
    name="docs",
    summary="A page that renders the OpenAPI document",
    tag="meta",
    content_type="text/html",
)
def docs(call: Call) -> Response:
    return Response(
        body=_DOCS_PAGE,
        status_code=200,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Content-Security-Policy": "default-src 'self'; "
            "script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline'",
        },
    )
