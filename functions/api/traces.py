"""Tracking routes (トラッキング): trace a clip, or a fingerprint computed on the client."""

from __future__ import annotations

import numpy as np
from chalice import Blueprint

from functions.api.http import Call, PathModel, TraceId, route
from functions.api.voices import PRESIGNED_UPLOAD, UPLOAD_STEPS, poll_link
from shared.errors import ValidationFailed
from shared.traces import service
from shared.traces.models import (
    FingerprintMatches,
    FingerprintQuery,
    Trace,
    TraceCreated,
    TraceRequest,
)

bp = Blueprint(__name__)
TAG = "traces"


class TracePath(PathModel):
    trace_id: TraceId


@route(
    bp,
    "/v1/traces",
    "POST",
    name="traces.create",
    tag=TAG,
    body=TraceRequest,
    response=TraceCreated,
    status=201,
    summary="Trace a clip: a presigned upload matched by the ingest pipeline (member)",
    description=UPLOAD_STEPS.format(link="trace"),
    links=poll_link("trace", "trace_id", "done or failed"),
    extensions=PRESIGNED_UPLOAD,
)
def create(call: Call) -> TraceCreated:
    trace, upload = service.create(call.body.file, call.require_principal())
    return TraceCreated(trace_id=trace["trace_id"], status=trace["status"], upload=upload)


# Declared before /v1/traces/{trace_id}: the local router matches routes in order.
@route(
    bp,
    "/v1/traces/fingerprint",
    "POST",
    name="traces.fingerprint",
    tag=TAG,
    body=FingerprintQuery,
    response=FingerprintMatches,
    summary="Match a fingerprint computed on the client; no audio leaves it (member)",
)
def fingerprint(call: Call) -> FingerprintMatches:
    from shared.audio.fingerprint import ALGORITHM_VERSION, Peaks  # numpy-heavy: on first use

    if call.body.algorithm != ALGORITHM_VERSION:
        raise ValidationFailed(
            f"This registry indexes {ALGORITHM_VERSION}; update the client.",
            code="unsupported_algorithm",
        )
    frames, hz = call.body.arrays()
    order = np.lexsort((hz, frames))
    found = Peaks(frames[order].astype(np.int64), hz[order].astype(np.float64))
    matches, cost = service.match(found)
    return FingerprintMatches(
        algorithm=ALGORITHM_VERSION, peaks=len(frames), matches=matches, cost=cost
    )


@route(
    bp,
    "/v1/traces/{trace_id}",
    "GET",
    name="traces.get",
    tag=TAG,
    response=Trace,
    summary="A trace and its matches (its owner)",
    path=TracePath,
)
def get_trace(call: Call) -> Trace:
    return Trace.model_validate(service.require_own(call.path.trace_id, call.require_principal()))
