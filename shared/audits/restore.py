"""Restoring voices' audit export from the keyed fingerprint index in DynamoDB, with no audio:
for a voice whose audio was not retained, the index is the only copy of its fingerprint left,
and its postings ("<voice_no>:<frame hex>" in each key's set) are exactly the pairs ingest
staged (engine.audit_postings: the distinct (key, anchor frame) pairs). A lost staging object
or export, or a change to the export's layout, is restored from it (``python -m infra.ops
restore-export``).

The keyed index has one item per key, not per voice, so the voices' postings are gathered by
one parallel Scan of the algorithm's items (an operator job: a read of the whole table, as
``export-tables`` does). Keys the index stop-listed (CAP postings or more) hold no postings any
more: their pairs are not restored, and the audit's SQL would leave such a key out anyway while
the export still holds CAP postings of it."""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shared import fingerprint_index
from shared.audio.engine import AUDIT_ALGORITHM, audit_postings
from shared.audits import export, staging
from shared.aws import client
from shared.settings import get_settings
from shared.voices import service as voices

SEGMENTS = 4  # parallel Scan segments


@dataclass
class Restored:
    algorithm: str
    staged: dict[str, int] = field(default_factory=dict)  # voice_no → pairs staged
    published: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # no posting in the index


Pairs = tuple[list[int], list[int]]  # keys, frames


def _scan_segment(algorithm: str, wanted: set[str], segment: int) -> dict[str, Pairs]:
    """One Scan segment → per wanted voice, its postings."""
    found: dict[str, Pairs] = defaultdict(lambda: ([], []))
    pages = client("dynamodb").get_paginator("scan")
    for page in pages.paginate(
        TableName=get_settings().fingerprint_table,
        Segment=segment,
        TotalSegments=SEGMENTS,
        FilterExpression="begins_with(pk, :alg) AND sk = :k AND attribute_exists(p)",
        ExpressionAttributeValues={":alg": {"S": f"{algorithm}#"}, ":k": {"S": "k"}},
        ProjectionExpression="pk, p",
    ):
        for item in page.get("Items", []):
            key = int(item["pk"]["S"].rpartition("#")[2], 16)
            owners, frames = fingerprint_index.parse_elements(item["p"]["SS"])
            for voice_no, frame in zip(owners, frames, strict=True):
                if voice_no in wanted:
                    found[voice_no][0].append(key)
                    found[voice_no][1].append(frame)
    return found


def index_postings(algorithm: str, voice_nos: set[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The keyed index's (keys, frames) of each of ``voice_nos`` that has any."""
    if not fingerprint_index.is_keyed(algorithm):
        raise ValueError(f"{algorithm} is not a keyed index: its postings are per voice")
    gathered: dict[str, Pairs] = defaultdict(lambda: ([], []))
    with ThreadPoolExecutor(SEGMENTS) as pool:
        segments = pool.map(lambda s: _scan_segment(algorithm, voice_nos, s), range(SEGMENTS))
        for found in segments:
            for voice_no, (keys, frames) in found.items():
                gathered[voice_no][0].extend(keys)
                gathered[voice_no][1].extend(frames)
    return {
        voice_no: (np.array(keys, np.int64), np.array(frames, np.int64))
        for voice_no, (keys, frames) in gathered.items()
    }


def indexed_voices(algorithm: str) -> list[str]:
    """Every searchable voice whose fingerprint is indexed with ``algorithm``."""
    from boto3.dynamodb.conditions import Attr

    from shared import store

    searchable = Attr("status").is_in(list(voices.IN_REGISTRY))
    # as export.on_voice_event: a voice put in conflict before it was indexed has a fingerprint
    # algorithm but no index (nor postings): its audio is the other voice's
    indexed = Attr("audio.fingerprint_algorithm").eq(algorithm) & Attr("index").exists()
    return sorted(
        v["voice_no"] for v in store.scan_all(Attr("sk").eq("VOICE") & searchable & indexed)
    )


def restore(voice_nos: list[str] | None = None, reinsert: bool = False) -> Restored:
    """Stage the voices' export rows from the index (default: every searchable voice indexed
    with the audit's algorithm) and publish those that are searchable again: locally their
    Parquet is rewritten; on Athena the INSERT runs again only with ``reinsert`` (Athena's files
    are not per voice: rows still in the export would then be there twice)."""
    algorithm = AUDIT_ALGORITHM
    wanted = list(voice_nos) if voice_nos else indexed_voices(algorithm)
    result = Restored(algorithm)
    postings = index_postings(algorithm, set(wanted))
    for voice_no in wanted:
        if voice_no not in postings:
            result.missing.append(voice_no)
            continue
        hashes, times = audit_postings(*postings[voice_no])
        staging.stage(voice_no, algorithm, hashes, times)
        result.staged[voice_no] = len(hashes)
        if _publish(voices.get(voice_no), algorithm, reinsert):
            result.published.append(voice_no)
    return result


def _publish(voice: dict[str, Any] | None, algorithm: str, reinsert: bool) -> bool:
    if voice is None or voice["status"] not in voices.IN_REGISTRY:
        return False
    return export.republish(voice["voice_no"], algorithm, reinsert)
