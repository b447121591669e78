"""Screens: does a member's clip sound like a registered performer? The clip's speaker
embedding against every voiceprint; only the owner reads a screen; the audio is deleted as soon
as it is embedded (before the comparison, whatever happens)."""

from __future__ import annotations

from typing import Any, BinaryIO, cast

from shared import aws, query_jobs
from shared.access import Principal
from shared.intents import service as intents
from shared.logging import logger
from shared.members import service as members
from shared.screens import voiceprints
from shared.uploads import SCREEN_PREFIX, Rejected, UploadedObject, processes
from shared.voices.models import FileFacts

SCREENED_USES = ("tts", "voice_conversion", "singing")


def key(screen_id: str) -> dict[str, str]:
    return query_jobs.key("screen", screen_id)


def get(screen_id: str) -> dict[str, Any] | None:
    return query_jobs.get("screen", screen_id)


def require_own(screen_id: str, principal: Principal) -> dict[str, Any]:
    return query_jobs.require_own("screen", screen_id, principal)


def create(file: FileFacts, owner: Principal) -> tuple[dict[str, Any], dict[str, Any]]:
    return query_jobs.create("screen", SCREEN_PREFIX, file, owner)


def intent_for_screen(performer_id: str) -> dict[str, str]:
    record = intents.current(performer_id)
    if record is None:  # no intent: every use needs a contract
        return dict.fromkeys(SCREENED_USES, "contract")
    uses = intents.in_force_decisions(record)["uses"]
    return {use: uses[use] for use in SCREENED_USES}


def compare(vector: Any) -> tuple[list[dict[str, Any]], int]:
    """Matches of a clip's embedding among every voiceprint, best first, and how many were
    compared. Only voiceprints of the same model count."""
    import numpy as np

    from shared.speaker import MODEL_VERSION, calibration

    prints = [p for p in voiceprints.all_voiceprints() if p["model"] == MODEL_VERSION]
    if not prints:
        return [], 0
    matrix = np.stack([np.asarray(voiceprints.vector_of(p["vector"]), np.float32) for p in prints])
    similarities = matrix @ np.asarray(vector, np.float32)
    matches = []
    for p, similarity in zip(prints, similarities.tolist(), strict=True):
        if not calibration.is_match(similarity):
            continue
        member = members.get(p["performer_id"]) or {}
        matches.append(
            {
                "performer_id": p["performer_id"],
                "display_name": member.get("display_name") or member.get("name", ""),
                "similarity": round(similarity, 4),
                "score": round(calibration.score(similarity), 4),
                "intent": intent_for_screen(p["performer_id"]),
                "voiceprint_speech_s": p["speech_s"],
            }
        )
    matches.sort(key=lambda m: (-m["score"], -m["similarity"], m["performer_id"]))
    return matches, len(prints)


@processes(SCREEN_PREFIX)
def process_screen_upload(obj: UploadedObject) -> None:
    screen_id = obj.key[len(SCREEN_PREFIX) :].split("/", 1)[0]
    screen = get(screen_id)
    if screen is None or screen.get("upload_key") != obj.key:
        logger.warning("upload for no awaiting screen", extra={"key": obj.key})
        aws.s3.delete(obj.bucket, obj.key)
        return
    if not query_jobs.claim_or_discard("screen", screen_id, obj):  # delivered twice: once
        return
    from shared.voices.ingest import INTERNAL_ERROR, transient

    try:
        decoded, embedding = _embed(obj, screen)
        matches, compared = compare(embedding.vector)
    except Rejected as rejection:
        aws.s3.delete(obj.bucket, obj.key)  # no audio is kept
        query_jobs.fail("screen", screen_id, rejection.code, rejection.message)
        return
    except Exception as error:
        if transient(error):
            raise  # SQS retries (the upload stays for it); the claim lets it take processing up
        aws.s3.delete(obj.bucket, obj.key)
        logger.exception("screen failed", extra={"screen_id": screen_id})
        query_jobs.fail("screen", screen_id, *INTERNAL_ERROR)
        return
    aws.s3.delete(obj.bucket, obj.key)  # no audio is kept: only the answer
    query_jobs.finish(
        "screen",
        screen_id,
        "done",
        {
            "matches": matches,
            "duration_s": round(decoded.duration_s, 3),
            "speech_s": embedding.speech_s,
            "voiceprints_compared": compared,
            "threshold": _threshold(),
            "model": embedding.model,
        },
    )


def _embed(obj: UploadedObject, screen: dict[str, Any]) -> tuple[Any, Any]:
    """The upload decoded within the registry's bounds (its rejection codes, as for voices and
    traces) and its speaker embedding, both from the one object notified (its ETag)."""
    from shared import speaker
    from shared.voices.ingest import S3Audio, decode_upload

    download, decoded = decode_upload(obj, (screen.get("file") or {}).get("size_bytes"))
    reader = S3Audio(obj.bucket, obj.key, download.size, etag=obj.etag or None)
    try:
        with reader.failures_said():
            embedding = speaker.embed_file(cast(BinaryIO, reader))  # an io.RawIOBase
    except speaker.NoSpeech as error:
        raise Rejected("no_speech", str(error)) from None
    return decoded, embedding


def _threshold() -> float:
    from shared.speaker import calibration

    return calibration.THRESHOLD
