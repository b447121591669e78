"""Traces: a member's query (an uploaded clip, or a fingerprint computed on the client) matched
against the registered voices. Only the owner reads a trace; the audio is deleted once matched."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared import aws, query_jobs
from shared.access import Principal
from shared.logging import logger
from shared.uploads import TRACE_PREFIX, Rejected, UploadedObject, processes
from shared.voices import service as voices
from shared.voices.models import FileFacts

if TYPE_CHECKING:
    from shared.audio.fingerprint import Peaks


def key(trace_id: str) -> dict[str, str]:
    return query_jobs.key("trace", trace_id)


def get(trace_id: str) -> dict[str, Any] | None:
    return query_jobs.get("trace", trace_id)


def require_own(trace_id: str, principal: Principal) -> dict[str, Any]:
    return query_jobs.require_own("trace", trace_id, principal)


def create(file: FileFacts, owner: Principal) -> tuple[dict[str, Any], dict[str, Any]]:
    return query_jobs.create("trace", TRACE_PREFIX, file, owner)


def described(trace: dict[str, Any], principal: Principal) -> list[dict[str, Any]]:
    """The trace's matches as a person reads them: each voice's performers by name, and
    whether the voice is the reader's own (as its holder or one of its performers)."""
    matches = trace.get("matches") or []
    found = voices.VOICE.get_many({m["voice_no"] for m in matches})
    rows = []
    for m in matches:
        voice = found.get(m["voice_no"])
        performers = voices.performers_of(voice) if voice else []
        mine = bool(voice) and principal.member_id in voices.owners(voice or {})
        rows.append({**m, "performers": [p["display_name"] for p in performers], "mine": mine})
    return rows


def match(found: Peaks) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Matches of a query's peaks among registered voices, and the lookup's cost."""
    from shared.audio import engine
    from shared.fingerprint_index import index_for
    from shared.voices import constellations

    index = index_for(engine.ALGORITHM_VERSION)
    matches = []
    for m in engine.trace(found, index.lookup, constellations.fetch_all):
        voice = voices.get(m.voice_id)
        if voice is None or voice["status"] not in voices.IN_REGISTRY:
            continue  # index items of a voice that never finished registering
        matches.append(
            {
                "voice_no": m.voice_id,
                "title": voice["title"],
                "voice_status": voice["status"],
                "score": round(float(m.score), 4),
                "query_start_s": round(float(m.query_start_s), 2),
                "voice_start_s": round(float(m.voice_start_s), 2),
                "duration_s": round(float(m.duration_s), 2),
                "votes": int(m.votes),
                "found_by": m.found_by,
            }
        )
    cost = {
        "requests": index.stats.requests,
        "hashes": index.stats.hashes,
        "items": index.stats.items,
    }
    return matches, cost


@processes(TRACE_PREFIX)
def process_trace_upload(obj: UploadedObject) -> None:
    from shared.voices.ingest import INTERNAL_ERROR, decode_upload, transient

    trace_id = obj.key[len(TRACE_PREFIX) :].split("/", 1)[0]
    trace = get(trace_id)
    if trace is None or trace.get("upload_key") != obj.key:
        logger.warning("upload for no awaiting trace", extra={"key": obj.key})
        return
    if not query_jobs.claim_or_discard("trace", trace_id, obj):  # delivered twice: once
        return
    try:
        _, decoded = decode_upload(obj, (trace.get("file") or {}).get("size_bytes"))
        matches, cost = match(decoded.peaks)
        query_jobs.finish(
            "trace",
            trace_id,
            "done",
            {"matches": matches, "cost": cost, "duration_s": round(decoded.duration_s, 3)},
        )
    except Rejected as rejection:
        query_jobs.fail("trace", trace_id, rejection.code, rejection.message)
    except Exception as error:
        if transient(error):
            raise  # SQS retries; the claim lets the retry take processing up again
        # Deterministic on these bytes (see shared/voices/ingest.py): end the trace now.
        logger.exception("trace failed", extra={"trace_id": trace_id})
        query_jobs.fail("trace", trace_id, *INTERNAL_ERROR)
    aws.s3.delete(obj.bucket, obj.key)
