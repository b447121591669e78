"""The hash-chained audit log, and the public transparency log beside it.

Every state change of the system is committed in one DynamoDB transaction together with its
audit entry; an entry carries the SHA-256 of the previous one, so any later edit breaks the chain.
Public events (approvals, intents, labels) are also appended to the separate ``public`` chain,
which anyone can read and verify. The audit table's stream is the domain-event bus
(``functions/events/domain.py``).
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import dataclass, field
from typing import Any

from shared import actions, store
from shared.clock import now_iso
from shared.errors import ApiError, Conflict
from shared.settings import get_settings

AUDIT, PUBLIC = "audit", "public"
HASHED_FIELDS = (
    "seq",
    "prev_hash",
    "at",
    "actor",
    "action",
    "entity",
    "digest",
    "data",
    "subject",
    "summary",
)
GENESIS = "0" * 64


def canonical(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode("utf-8")


def digest(state: Any) -> str:
    return hashlib.sha256(canonical(store.from_dynamo(state))).hexdigest()


def entry_hash(entry: dict[str, Any]) -> str:
    return digest({k: entry[k] for k in HASHED_FIELDS if k in entry})


@dataclass
class Event:
    """One state change: who did what to which entity, the new state, and what to publish."""

    actor: str
    action: str
    entity: str
    state: dict[str, Any]
    data: dict[str, Any] = field(default_factory=dict)
    public: dict[str, Any] | None = None


def commit(
    tx: store.Transaction | None,
    event: Event,
    attempts: int = 10,
    *,
    conflict: ApiError | None = None,
) -> dict[str, Any]:
    """Commit ``tx`` and the event's audit entries atomically; returns the audit entry.

    Concurrent writers race for the next sequence number; the loser retries with the new head.
    A failed condition of ``tx`` itself raises ``conflict`` when given, else
    :class:`store.TransactionFailed` (indices as in ``tx``).
    """
    table = get_settings().audit_table
    base = list(tx.operations) if tx else []
    for attempt in range(attempts):
        at = now_iso()
        attempt_tx = store.Transaction(list(base))
        entry = _next_entry(
            AUDIT,
            at,
            event.actor,
            action=event.action,
            entity=event.entity,
            digest=digest(event.state),
            data=store.from_dynamo(actions.checked(event.action, event.data)),
        )
        attempt_tx.put(table, entry, "attribute_not_exists(pk)")
        if event.public is not None:
            public = _next_entry(
                PUBLIC,
                at,
                event.actor,
                action=event.action,
                subject=event.entity,
                summary=store.from_dynamo(event.public),
            )
            attempt_tx.put(table, public, "attribute_not_exists(pk)")
        try:
            attempt_tx.commit()
            return entry
        except store.TransactionFailed as failure:
            if any(failure.failed_at(i) for i in range(len(base))):
                # the caller's own condition failed: a domain conflict, not a race
                if conflict is not None:
                    raise conflict from None
                raise
            # Another writer took this sequence number (or the items were contended): retry.
            time.sleep(random.uniform(0.005, 0.03) * (attempt + 1))
    raise Conflict("The audit log is busy; try again.", code="busy")


def _next_entry(chain: str, at: str, actor: str, **fields: Any) -> dict[str, Any]:
    head = latest(chain)
    seq = (head["seq"] + 1) if head else 1
    entry = {
        "pk": chain,
        "sk": f"{seq:012d}",
        "seq": seq,
        "prev_hash": head["hash"] if head else GENESIS,
        "at": at,
        "actor": actor,
        **fields,
    }
    entry["hash"] = entry_hash(entry)
    return entry


def latest(chain: str) -> dict[str, Any] | None:
    page = store.audit_table().query(
        KeyConditionExpression="pk = :c",
        ExpressionAttributeValues={":c": chain},
        ScanIndexForward=False,
        Limit=1,
        ConsistentRead=True,
    )
    items = page.get("Items", [])
    return store.from_dynamo(items[0]) if items else None


def entries(
    chain: str, *, after: int = 0, limit: int = 50, descending: bool = False
) -> list[dict[str, Any]]:
    if descending:
        condition = "pk = :c AND sk < :s" if after else "pk = :c"
        values = {":c": chain, ":s": f"{after:012d}"} if after else {":c": chain}
    else:
        condition = "pk = :c AND sk > :s"
        values = {":c": chain, ":s": f"{after:012d}"}
    page = store.audit_table().query(
        KeyConditionExpression=condition,
        ExpressionAttributeValues=values,
        ScanIndexForward=not descending,
        Limit=limit,
    )
    return [store.from_dynamo(i) for i in page.get("Items", [])]


def for_entity(
    entity: str, limit: int = 100, cursor: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    kwargs: dict[str, Any] = {
        "IndexName": "by-entity",
        "KeyConditionExpression": "entity = :e",
        "ExpressionAttributeValues": {":e": entity},
        "Limit": limit,
    }
    if start := store.decode_cursor(cursor):
        kwargs["ExclusiveStartKey"] = start
    page = store.audit_table().query(**kwargs)
    return (
        [store.from_dynamo(i) for i in page.get("Items", [])],
        store.encode_cursor(page.get("LastEvaluatedKey")),
    )


@dataclass
class Verification:
    chain: str
    checked: int
    ok: bool
    broken_at: int | None = None
    reason: str | None = None


def verify(chain: str = AUDIT, page: int = 500) -> Verification:
    """Recompute every hash and link of ``chain``; name the first broken link."""
    previous_hash, expected_seq, checked, after = GENESIS, 1, 0, 0
    while True:
        batch = entries(chain, after=after, limit=page)
        for entry in batch:
            checked += 1
            if entry["seq"] != expected_seq or entry["sk"] != f"{expected_seq:012d}":
                return Verification(
                    chain, checked, False, expected_seq, f"entry {expected_seq} is missing"
                )
            if entry["prev_hash"] != previous_hash:
                return Verification(
                    chain,
                    checked,
                    False,
                    entry["seq"],
                    "prev_hash does not match the previous entry's hash",
                )
            if entry_hash(entry) != entry["hash"]:
                return Verification(
                    chain,
                    checked,
                    False,
                    entry["seq"],
                    "the entry's content does not match its hash",
                )
            previous_hash, expected_seq, after = entry["hash"], expected_seq + 1, entry["seq"]
        if len(batch) < page:
            return Verification(chain, checked, True)
