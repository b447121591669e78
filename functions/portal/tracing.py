"""Tracing a clip from the portal (トラッキング): a member who found a recording somewhere —
a performer hearing their voice in a video, a holder checking a product — uploads it, and the
page shows which registered voices it holds, where, and whose they are. The same trace jobs as
``POST /v1/traces``: the file goes straight to storage by the presigned POST, and is deleted
once matched."""

from __future__ import annotations

from chalice import Blueprint, Response
from pydantic import ValidationError

from functions.api.http import status_of
from functions.portal.web import Web, field_errors, json_reply, page, uploaded_file
from shared import ids
from shared.errors import ApiError
from shared.traces import service as traces
from shared.traces.models import TraceRequest

bp = Blueprint(__name__)
FINAL = ("done", "failed")


@page(bp, "/portal/trace", name="portal.trace", methods=("GET", "POST"))
def trace(web: Web) -> Response:
    """GET: the form. POST (from the page's script): the file's facts → the trace and its
    presigned upload, as JSON."""
    if web.method == "GET":
        return web.render("trace.html")
    try:
        request = TraceRequest.model_validate({"file": uploaded_file(web)})
        job, upload = traces.create(request.file, web.session.principal)  # type: ignore[union-attr]
    except ValidationError as error:
        return json_reply({"errors": field_errors(error, web.lang)}, 422)
    except ApiError as error:
        return json_reply({"errors": {"form": error.message}}, status_of(error))
    return json_reply({"trace_id": job["trace_id"], "upload": upload}, 201)


@page(bp, "/portal/traces/{trace_id}", name="portal.trace")
def trace_result(web: Web, trace_id: str) -> Response:
    """What the clip holds (its owner only), readable without the script."""
    job = _own(web, trace_id)
    matches = traces.described(job, web.session.principal)  # type: ignore[union-attr]
    return web.render("trace_result.html", trace=job, matches=matches, final=job["status"] in FINAL)


@page(bp, "/portal/traces/{trace_id}/status", name="portal.trace")
def trace_status(web: Web, trace_id: str) -> Response:
    """The trace page's live status (JSON, same session)."""
    job = _own(web, trace_id)
    return json_reply({"status": job["status"], "final": job["status"] in FINAL})


def _own(web: Web, trace_id: str) -> dict:
    number = ids.normalize(trace_id, "trace") or trace_id
    return traces.require_own(number, web.session.principal)  # type: ignore[union-attr]
