"""Rebuilding the fingerprint index after an algorithm change: voices whose audio was retained
are fingerprinted again from it; the others are listed, since the association kept only their
old fingerprints and their holders must upload them again."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from typing import Any

from boto3.dynamodb.conditions import Attr

from shared import audit, aws, fingerprint_index, store
from shared.audio.engine import AUDIT_ALGORITHM, audit_postings
from shared.audits import staging
from shared.settings import get_settings
from shared.voices import constellations, service


@dataclass
class Reindex:
    algorithm: str
    current: list[str] = field(default_factory=list)
    rebuilt: list[str] = field(default_factory=list)
    need_upload: list[dict[str, Any]] = field(default_factory=list)
    # current voices whose constellation (traces' verification on the peaks) was missing and
    # has been made from their retained audio
    constellations: list[str] = field(default_factory=list)


def registered_voices() -> list[dict[str, Any]]:
    """An operator batch job, so a scan of the voices is acceptable here."""
    return store.scan_all(Attr("sk").eq("VOICE") & Attr("status").eq("registered"))


def rebuild(dry_run: bool = False) -> Reindex:
    from shared.audio.fingerprint import ALGORITHM_VERSION

    result = Reindex(ALGORITHM_VERSION)
    bucket = get_settings().bucket
    for voice in registered_voices():
        facts = voice.get("audio", {})
        if facts.get("fingerprint_algorithm") == ALGORITHM_VERSION:
            result.current.append(voice["voice_no"])
            _backfill_constellation(voice, bucket, dry_run, result)
            continue
        if voice.get("retention") != "retain":
            result.need_upload.append(
                {
                    "voice_no": voice["voice_no"],
                    "holder_id": voice["holder_id"],
                    "title": voice["title"],
                }
            )
            continue
        if dry_run:
            result.rebuilt.append(voice["voice_no"])
            continue
        _rebuild_one(voice, facts, bucket, ALGORITHM_VERSION)
        result.rebuilt.append(voice["voice_no"])
    return result


def _backfill_constellation(
    voice: dict[str, Any], bucket: str, dry_run: bool, result: Reindex
) -> None:
    """A voice registered before constellations were stored gets one from its retained audio."""
    if voice.get("retention") != "retain" or constellations.exists(voice["voice_no"]):
        return
    if not dry_run:
        constellations.store(voice["voice_no"], _decode_retained(voice, bucket).peaks)
    result.constellations.append(voice["voice_no"])


def _decode_retained(voice: dict[str, Any], bucket: str) -> Any:
    from shared import audio

    with tempfile.NamedTemporaryFile(suffix=".audio") as handle:
        aws.s3.download(bucket, f"retained/{voice['voice_no']}/original", handle)
        handle.flush()
        return audio.decode(handle.name, max_duration_s=get_settings().max_duration_s)


def _rebuild_one(voice: dict[str, Any], facts: dict[str, Any], bucket: str, algorithm: str) -> None:
    """Fingerprint a retained voice again: index, audit staging, constellation, audit entry."""
    decoded = _decode_retained(voice, bucket)
    postings = decoded.hashes, decoded.times
    fingerprint_index.write(voice["voice_no"], algorithm, *postings)
    staging.stage(voice["voice_no"], AUDIT_ALGORITHM, *audit_postings(*postings))
    constellations.store(voice["voice_no"], decoded.peaks)
    tx = store.Transaction()
    tx.update(
        get_settings().registry_table,
        service.key(voice["voice_no"]),
        "SET audio.fingerprint_algorithm = :a, audio.hashes = :n",
        None,
        {":a": algorithm, ":n": len(decoded.hashes)},
    )
    audit.commit(
        tx,
        audit.Event(
            actor="system:reindex",
            action="voice.reindexed",
            entity=f"voice:{voice['voice_no']}",
            state={**facts, "fingerprint_algorithm": algorithm},
            data={"voice_no": voice["voice_no"], "algorithm": algorithm},
        ),
    )
