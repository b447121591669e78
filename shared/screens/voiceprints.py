"""Performers' voiceprints: speaker embeddings of their registered voices, never their audio.

When a voice names exactly one member performer, the ingest worker stores the embedding of its
speech under that performer (``PERFORMER#<id> / SPEAKER#<voice_no>``). The performer's
voiceprint is the normalised mean of the embeddings of their voices that are ``registered``
now, weighted by seconds of speech; it is recomputed from those items whenever a voice event
arrives (registered, rejected, conflict, …), so a voice that leaves the registry leaves the
voiceprint too. Voiceprints live in one partition (``VOICEPRINT / <performer_id>``) that a screen
reads whole: 1.1 KB a performer.

Pure Python on purpose: the domain-events function recomputes voiceprints and carries no numpy.
"""

from __future__ import annotations

import math
from array import array
from typing import Any

from boto3.dynamodb.conditions import Key
from boto3.dynamodb.types import Binary

from shared import events, keys, store
from shared.clock import now_iso
from shared.logging import logger
from shared.voices import service as voices

PARTITION = "VOICEPRINT"
DIMENSIONS = 256


def vector_bytes(vector: list[float] | Any) -> bytes:
    return array("f", [float(v) for v in vector]).tobytes()


def vector_of(stored: Any) -> list[float]:
    raw = stored.value if isinstance(stored, Binary) else bytes(stored)
    return array("f", raw).tolist()


def sole_performer(voice: dict[str, Any]) -> str | None:
    """The performer a voice's speech belongs to: only when it names exactly one member
    performer and nobody else (a duet or a named non-member would blur the voiceprint)."""
    performers = voice.get("performer_ids") or []
    if len(performers) != 1 or voice.get("performer_names"):
        return None
    return performers[0]


def put_voice_embedding(
    voice: dict[str, Any], vector: list[float] | Any, speech_s: float, model: str
) -> bool:
    """Keep one voice's embedding (idempotent: the same voice writes the same item)."""
    performer_id = sole_performer(voice)
    if performer_id is None:
        return False
    store.registry().put_item(
        Item={
            **keys.marker(keys.performer_pk(performer_id), keys.SPEAKER, voice["voice_no"]),
            "voice_no": voice["voice_no"],
            "performer_id": performer_id,
            "vector": Binary(vector_bytes(vector)),
            "speech_s": store.to_dynamo(round(float(speech_s), 2)),
            "model": model,
            "created_at": now_iso(),
        }
    )
    return True


def voice_embeddings(performer_id: str) -> list[dict[str, Any]]:
    return store.query_all(
        Key("pk").eq(keys.performer_pk(performer_id)) & Key("sk").begins_with(keys.SPEAKER),
        consistent=True,
    )


def weighted_mean(parts: list[tuple[list[float], float]]) -> list[float] | None:
    """The unit-length mean of unit vectors, each weighted by its seconds of speech."""
    total = [0.0] * DIMENSIONS
    for vector, weight in parts:
        if not all(math.isfinite(v) for v in vector):
            continue  # a damaged embedding stored before it was refused: not part of anyone
        for i, v in enumerate(vector):
            total[i] += v * weight
    norm = math.sqrt(sum(v * v for v in total))
    return [v / norm for v in total] if norm > 0 else None


def recompute(performer_id: str) -> dict[str, Any] | None:
    """Rebuild a performer's voiceprint from their voices registered now; None if none is."""
    parts, used, model = [], [], None
    embeddings = voice_embeddings(performer_id)
    found = voices.VOICE.get_many(e["voice_no"] for e in embeddings)
    for item in embeddings:
        voice = found.get(item["voice_no"])
        if voice is None or voice["status"] != "registered":
            continue
        speech_s = float(item["speech_s"])
        parts.append((vector_of(item["vector"]), speech_s))
        used.append({"voice_no": item["voice_no"], "speech_s": speech_s})
        model = item["model"]
    mean = weighted_mean(parts) if parts else None
    record: dict[str, Any] = {
        "pk": PARTITION,
        "sk": performer_id,
        "performer_id": performer_id,
        "speech_s": round(sum(s for _, s in parts), 2) if mean else 0.0,
        "voices": sorted(used, key=lambda v: v["voice_no"]) if mean else [],
        "updated_at": now_iso(),
    }
    if mean is not None:
        record |= {"vector": Binary(vector_bytes(mean)), "model": model}
    # Overwritten, never deleted: the functions that write voiceprints need no DeleteItem.
    store.registry().put_item(Item=store.to_dynamo(record))
    return record if mean is not None else None


def get(performer_id: str) -> dict[str, Any] | None:
    return store.get({"pk": PARTITION, "sk": performer_id})


def status(performer_id: str) -> dict[str, Any]:
    """What a performer sees: whether screening can recognise them, and on how much speech."""
    record = get(performer_id)
    if record is None or "vector" not in record:
        return {"performer_id": performer_id, "status": "none", "speech_s": 0.0, "voices": []}
    return {
        "performer_id": performer_id,
        "status": "active",
        "speech_s": float(record["speech_s"]),
        "voices": record["voices"],
        "model": record["model"],
        "updated_at": record["updated_at"],
    }


def all_voiceprints() -> list[dict[str, Any]]:
    """Every voiceprint (one partition, paginated): what a screen compares against."""
    return [
        {
            "performer_id": item["performer_id"],
            "vector": item["vector"],
            "speech_s": float(item["speech_s"]),
            "model": item["model"],
        }
        for item in store.query_all(Key("pk").eq(PARTITION))
        if "vector" in item  # a performer with no registered voice left has none
    ]


@events.subscribe("voice.", requires=("voice_no",))
def on_voice_event(event: events.DomainEvent) -> None:
    """A voice changed state: its performer's voiceprint follows (idempotent: a recompute
    reads the current state only)."""
    if event.action in ("voice.created", "voice.processing"):
        return  # not yet registered: nothing for a voiceprint
    voice = voices.get(event.data["voice_no"])
    performer_id = sole_performer(voice) if voice else None
    if performer_id is None:
        return
    record = recompute(performer_id)
    logger.info(
        "voiceprint updated",
        extra={
            "performer_id": performer_id,
            "speech_s": record["speech_s"] if record else 0.0,
            "voice_no": event.data["voice_no"],
        },
    )
