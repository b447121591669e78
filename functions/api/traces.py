"""Tracking routes (トラッキング): trace a clip, or a fingerprint computed on the client."""

from __future__ import annotations

import numpy as np
from chalice import Blueprint

from functions.api.http import Call, route
from shared import ids
from shared.errors import NotFound, ValidationFailed
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
)
def get_trace(call: Call) -> Trace:
    trace_id = ids.normalize(call.params["trace_id"], "trace")
    if trace_id is None:
        raise NotFound("No such trace.", code="trace_not_found")
    return Trace.model_validate(service.require_own(trace_id, call.require_principal()))
