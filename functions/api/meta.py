"""Health, the OpenAPI document and the docs page."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from chalice import Blueprint, Response
from pydantic import BaseModel

from functions.api.http import Call, PathModel, json_response, route
from shared import __version__, events, openapi
from shared.errors import NotFound
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
        events={
            "last_delivered_seq": cursor["last_seq"] if cursor else None,
            "delivered_at": cursor["delivered_at"] if cursor else None,
            # event batches that failed their retries and wait for an operator
            "set_aside": events.set_aside_count(),
        },
    )


@route(
    bp, "/v1/openapi.json", "GET", name="openapi", summary="This API's OpenAPI document", tag="meta"
)
def openapi_document(call: Call) -> Response:
    document = openapi.document(__version__, get_settings().public_base_url)
    return json_response(document, headers={"Cache-Control": "max-age=60"})


# Swagger UI, vendored by the pinned swagger-ui-bundle package and served by the app itself:
# the docs work offline and load nothing from a CDN.
DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>AILAS Fair-Trade Voice Registry — API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"""
DOCS_INIT = """window.ui = SwaggerUIBundle({
  url: "/v1/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  docExpansion: "list",
  defaultModelsExpandDepth: 0,
  displayRequestDuration: true,
});
"""
DOCS_ASSETS: dict[str, str] = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "application/javascript; charset=utf-8",
    "init.js": "application/javascript; charset=utf-8",
}


class DocsAssetPath(PathModel):
    asset: Literal[*DOCS_ASSETS]  # type: ignore[valid-type]


DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self' data:"
)


@lru_cache(maxsize=len(DOCS_ASSETS))
def docs_asset(name: str) -> str:
    if name == "init.js":
        return DOCS_INIT
    from swagger_ui_bundle import swagger_ui_path

    return (swagger_ui_path / name).read_text("utf-8")


@route(
    bp,
    "/docs",
    "GET",
    name="docs",
    summary="The API documentation (Swagger UI) rendering the OpenAPI document",
    tag="meta",
    content_type="text/html",
)
def docs(call: Call) -> Response:
    return Response(
        body=DOCS_PAGE,
        status_code=200,
        headers={"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": DOCS_CSP},
    )


@route(
    bp,
    "/docs/{asset}",
    "GET",
    name="docs.asset",
    summary="The docs page's scripts and styles (Swagger UI, served from the app)",
    tag="meta",
    content_type="text/plain",
    path=DocsAssetPath,
)
def docs_assets(call: Call) -> Response:
    name = call.params["asset"]
    if name not in DOCS_ASSETS:
        raise NotFound(f"No docs asset {name!r}.", code="not_found")
    return Response(
        body=docs_asset(name),
        status_code=200,
        headers={"Content-Type": DOCS_ASSETS[name], "Cache-Control": "public, max-age=86400"},
    )
