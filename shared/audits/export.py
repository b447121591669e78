"""The registry's fingerprint export for bulk audits: every registered voice's distinct (key,
anchor frame) postings of the deployed keyed fingerprint, as Parquet in S3, partitioned by
algorithm and key bucket, kept current by the event stream. Keys the index stop-lists are
left out by the audit's SQL (it counts each key's postings over the export), not here: whether
a key is too common depends on every voice, not on the one being exported.

Two steps, so that no Lambda carries a Parquet writer:
1. ingest (and rebuild-index) stage the pairs the fingerprint index was just given, as one small
   gzip CSV per voice (``stage``) — numpy only;
2. the ``voice.*`` subscriber publishes the voice's Parquet from its staging object when the voice
   is registered (or in conflict: traces still report those) and withdraws it otherwise. The local
   stack writes one Parquet per voice and bucket with DuckDB; in AWS the subscriber starts an
   Athena ``INSERT INTO`` (Athena writes the Parquet) and audits filter the voices by status.

The audit's algorithm (engine.AUDIT_ALGORITHM, the deployed ALGORITHM_VERSION) names the
``algorithm=`` partition: a new one is filled by rebuild-index from retained audio. A lost
export of voices in the current keyed index is restored from it, audio or not (restore.py)."""

from __future__ import annotations

import gzip
import io
import secrets
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from shared import aws, events, store
from shared.audio.engine import AUDIT_ALGORITHM
from shared.audits import engine
from shared.audits.staging import staging_key
from shared.clock import now_iso
from shared.logging import logger
from shared.settings import get_settings
from shared.voices import service as voices

BUCKETS = 16  # hash buckets (hash % 16): the partitions a join or compaction can take apart
PARQUET = "fingerprint-export/parquet"


def parquet_key(algorithm: str, bucket: int, voice_no: str) -> str:
    return f"{PARQUET}/algorithm={algorithm}/bucket={bucket:02d}/{voice_no}.parquet"


@events.subscribe("voice.", requires=("voice_no",))
def on_voice_event(event: events.DomainEvent) -> None:
    """The export follows the voice's current state (reads it afresh: a repeat changes nothing)."""
    if event.action in ("voice.created", "voice.processing"):
        return
    voice = voices.get(event.data["voice_no"])
    if voice is None:
        return
    if not voice.get("index"):
        # never indexed, so nothing was staged: not fingerprinted yet, or a conflict found
        # before indexing (its audio is another voice's, which is in the export)
        return
    algorithm = AUDIT_ALGORITHM  # ingest stages the index's own postings for the export
    if voice["status"] in voices.IN_REGISTRY:
        publish(voice["voice_no"], algorithm)
    else:
        withdraw(voice["voice_no"], algorithm)


def publish(voice_no: str, algorithm: str) -> None:
    if engine.name() == "athena":
        _insert_once(voice_no, algorithm)
        return
    _publish_with_duckdb(voice_no, algorithm)


def _insert_once(voice_no: str, algorithm: str) -> None:
    """Start the voice's Athena INSERT once (a repeat would count its pairs twice). A start that
    fails (throttled, a quota, a 5xx) gives the claim back, so the event's retry starts it, with
    the same request token; a started one is followed by the audit-poll worker (``follow``)."""
    claim = _claim(voice_no, algorithm)
    if claim is None:
        return  # started (or done) by an earlier delivery
    try:
        sql = engine.export_insert_sql(voice_no, algorithm)
        execution = engine.athena_start(sql, request=f"{voice_no}-{algorithm}-{claim}")
    except Exception:
        _mark(voice_no, algorithm, claim, {"state": "released"})
        raise
    _mark(voice_no, algorithm, claim, {"state": "started", "execution": execution})
    engine.watch_export(voice_no, algorithm, execution)


def republish(voice_no: str, algorithm: str, reinsert: bool = False) -> bool:
    """Publish a voice's export again from its (restored) staging object. Locally its Parquet
    files are rewritten (idempotent). In AWS its rows sit in Athena's files beside other
    voices', so the INSERT runs again only when asked (``reinsert``: the rows are gone, e.g.
    the export was lost); returns whether anything was published."""
    if engine.name() == "athena":
        if not reinsert:
            return False
        store.registry().delete_item(Key=_export_key(voice_no, algorithm))
    publish(voice_no, algorithm)
    return True


def _claim(voice_no: str, algorithm: str) -> str | None:
    """Claim the voice's export for this algorithm; its token, or None when an INSERT was
    started already (or ended). A claim whose start failed (``released``) or never reported
    (``starting``: the function died, or the answer was lost) is taken again with its token,
    which is Athena's ClientRequestToken: a start that did reach Athena is not made twice."""
    current = store.get(_export_key(voice_no, algorithm))
    if current is not None and current.get("state") not in ("released", "starting"):
        return None  # started, exported or failed (or an older release's claim: exported)
    token = str((current or {}).get("claim") or secrets.token_hex(16))
    taken = store.conditionally(
        lambda: store.registry().put_item(
            Item={**_export_key(voice_no, algorithm), "at": now_iso(), "claim": token}
            | {"state": "starting"},
            ConditionExpression="attribute_not_exists(pk) OR claim = :token",
            ExpressionAttributeValues={":token": token},
        )
    )
    return token if taken else None


def _mark(voice_no: str, algorithm: str, claim: str, fields: dict[str, Any]) -> bool:
    """Record what became of this claim (if it is still this claim's)."""
    expression, names, values = store.set_fields({**fields, "updated_at": now_iso()})
    return store.conditionally(
        lambda: store.registry().update_item(
            Key=_export_key(voice_no, algorithm),
            UpdateExpression=expression,
            ConditionExpression="claim = :claim",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values | {":claim": claim},
        )
    )


def _export_key(voice_no: str, algorithm: str) -> dict[str, str]:
    return {"pk": f"EXPORT#{voice_no}", "sk": algorithm}


def follow(message: dict[str, Any]) -> str:
    """The audit-poll worker's look at a voice's INSERT: waiting (looked at again later),
    exported, or failed. A failed INSERT may have written part of its rows, so it is not
    started again by itself: the claim says ``failed`` with Athena's reason, an error is
    logged, and an operator restores it (``infra.ops restore-export --voice V --reinsert``)."""
    voice_no, algorithm = str(message["export_of"]), str(message["algorithm"])
    execution = str(message["execution_id"])
    claim = store.get(_export_key(voice_no, algorithm)) or {}
    if claim.get("execution") != execution or claim.get("state") != "started":
        return "ignored"  # a repeated message, or a newer INSERT of the voice
    state, stats = engine.athena_state(execution)
    if state in engine.RUNNING:
        engine.watch_export(voice_no, algorithm, execution, int(message.get("attempt", 0)) + 1)
        return "waiting"
    done = state == "SUCCEEDED"
    fields = {"state": "exported" if done else "failed", "reason": stats["reason"] or state}
    _mark(voice_no, algorithm, claim["claim"], fields)
    if not done:
        logger.error(
            "export insert failed: restore it with infra.ops restore-export --reinsert",
            extra={"voice_no": voice_no, "state": state, "reason": stats["reason"]},
        )
    return "exported" if done else "export failed"


def _publish_with_duckdb(voice_no: str, algorithm: str) -> None:
    from shared.audits import duck

    bucket = get_settings().bucket
    body = aws.s3.get(bucket, staging_key(algorithm, voice_no))
    if body is None:
        logger.warning("no staged fingerprint", extra={"voice_no": voice_no})
        return
    pairs = np.loadtxt(io.BytesIO(gzip.decompress(body)), dtype=np.int64, delimiter=",", ndmin=2)
    with tempfile.TemporaryDirectory() as work:
        for b in range(BUCKETS):
            rows = pairs[pairs[:, 0] % BUCKETS == b]
            if len(rows) == 0:
                continue
            path = Path(work) / f"{b}.parquet"
            duck.write_parquet(
                path,
                {"voice_no": np.array([voice_no] * len(rows)), "hash": rows[:, 0], "t": rows[:, 1]},
            )
            aws.s3.upload_from(path, bucket, parquet_key(algorithm, b, voice_no))
    logger.info("fingerprint exported", extra={"voice_no": voice_no, "pairs": len(pairs)})


def withdraw(voice_no: str, algorithm: str) -> None:
    """A voice no longer searchable leaves the export (locally; in AWS the audit's status filter
    and the periodic compaction drop it)."""
    bucket = get_settings().bucket
    for b in range(BUCKETS):
        aws.s3.delete(bucket, parquet_key(algorithm, b, voice_no))


def download(algorithm: str, into: Path) -> list[Path]:
    """The export's Parquet files for one algorithm, fetched for the local DuckDB engine."""
    bucket = get_settings().bucket
    paths = []
    for key in aws.s3.keys(bucket, f"{PARQUET}/algorithm={algorithm}/"):
        path = into / key.replace("/", "_")
        aws.s3.download_to(bucket, key, path)
        paths.append(path)
    return paths
