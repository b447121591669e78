"""Cross-cutting concerns for every function: structured logs with the request id, and the
last-resort error answer (500 JSON with the request id, nothing internal leaked)."""

from __future__ import annotations

import re
import time
from typing import Any, cast

from chalice import Chalice, Response

from functions.api.http import internal_error, json_response, request_id_of
from shared import openapi
from shared.logging import logger

# Cross-origin reads: public operations answered to GET or HEAD, plus token verification
# (a POST that only reads). A browser sends no cookies with these, and none are honoured.
CORS_POSTS = frozenset({"labels.verify"})


def cross_origin_readable(request: Any) -> bool:
    path = (getattr(request, "context", None) or {}).get("resourcePath")
    for op in openapi.OPERATIONS:
        if op.path == path and op.method == request.method:
            # op.access, not POLICY[op.name]: portal pages register one operation per method
            # under a derived name, and a lookup miss here was a 500 on every portal page.
            public = op.access == "public"
            return public and (op.method in ("GET", "HEAD") or op.name in CORS_POSTS)
    return False


def api_shaped(response: Response, request_id: str) -> Response:
    """Chalice answers some requests itself (405 for PATCH or an unknown method on a known path,
    415) with ``{"Code", "Message"}``: give them the API's error shape."""
    body = response.body
    if not (isinstance(body, dict) and set(body) == {"Code", "Message"}):
        return response
    code = re.sub(r"(?<!^)(?=[A-Z])", "_", str(body["Code"])).lower().removesuffix("_error")
    headers = {k: v for k, v in (response.headers or {}).items() if k.lower() != "content-type"}
    return json_response(
        {"code": code, "message": str(body["Message"]), "request_id": request_id},
        response.status_code,
        # Chalice takes a list as a multi-value header and passes it through as it came.
        headers=cast(dict[str, str], headers),
    )


# Every answer: no content sniffing (a badge is SVG, an answer JSON), framed by no one (no page
# is meant to be embedded: the badge is an <img>), and no Referer off the site.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def install(app: Chalice) -> None:
    @app.middleware("http")
    def observe_http(request: Any, get_response: Any) -> Response:
        request_id = request_id_of(request)
        logger.thread_safe_append_keys(
            request_id=request_id, method=request.method, path=request.path
        )
        started = time.perf_counter()
        try:
            response = get_response(request)
        except Exception:
            logger.exception("unhandled error")
            response = internal_error(request_id)
        response = api_shaped(response, request_id)
        response.headers.setdefault("X-Request-Id", request_id)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.method != "GET" or request.headers.get("authorization"):
            # a member's answer (a new token, private records) is kept by no cache
            response.headers.setdefault("Cache-Control", "no-store")
        if cross_origin_readable(request):
            # Anyone's web page may read public answers: no credentials, no preflight needed.
            response.headers.setdefault("Access-Control-Allow-Origin", "*")
        if request.method == "HEAD":
            response.body = ""  # the local server would send it; API Gateway drops it
        logger.info(
            "request",
            extra={
                "status": response.status_code,
                "ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        logger.thread_safe_remove_keys(["request_id", "method", "path"])
        return response

    def observe_event(event: Any, get_response: Any) -> Any:
        logger.thread_safe_append_keys(request_id=getattr(event.context, "aws_request_id", None))
        try:
            return get_response(event)
        finally:
            logger.thread_safe_remove_keys(["request_id"])

    for event_type in ("sqs", "dynamodb", "scheduled"):
        app.register_middleware(observe_event, event_type)
