"""The hash-chained audit log, and the public transparency log beside it.

Every state change of the system is committed in one DynamoDB transaction together with its
audit entry; an entry carries the SHA-256 of the previous one, so any later edit breaks the chain.
Public events (approvals, intents, labels) are also appended to the separate ``public`` chain,
which anyone can read and verify. The audit table's stream is the domain-event bus
(``functions/events/domain.py``).

Entries are stored and hashed in one canonical form (``shared/canonical.py``), so what is read
back re-hashes equal; ``shared/logchain.py`` checks a chain, ``shared/checkpoints.py`` signs heads.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from boto3.dynamodb.conditions import Key

from shared import actions, store
from shared.clock import now_iso
from shared.errors import ApiError, Conflict
from shared.formats import canonical, logchain
from shared.settings import get_settings

AUDIT, PUBLIC = canonical.AUDIT, canonical.PUBLIC
GENESIS = canonical.GENESIS
# Writers racing for the chain's next entry back off 10 ms, 20 ms, … up to 250 ms (jittered):
# 30 attempts span several seconds of contention, well inside an API request's 29 s.
BACKOFF_BASE_S, BACKOFF_CAP_S = 0.01, 0.25


def digest(state: Any) -> str:
    """SHA-256 of the state's canonical form (what DynamoDB keeps of it)."""
    return canonical.sha256_hex(state)


def entry_hash(entry: dict[str, Any]) -> str:
    return canonical.entry_hash(entry)


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
    attempts: int = 30,
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
            data=canonical.normalize(actions.checked(event.action, event.data)),
        )
        attempt_tx.put(table, entry, "attribute_not_exists(pk)")
        if event.public is not None:
            public = _next_entry(
                PUBLIC,
                at,
                event.actor,
                action=event.action,
                subject=event.entity,
                summary=canonical.normalize(event.public),
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
            _back_off(attempt)  # another writer took this sequence number: retry
    raise Conflict("The audit log is busy; try again.", code="busy")


def _back_off(attempt: int) -> None:
    """Exponential backoff with full jitter, so that a burst of writers spreads out (24 at once
    lost 3 writes to `busy` with a linear 5–30 ms step)."""
    time.sleep(random.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt)))


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
    return store.query_page(
        Key("entity").eq(entity),
        limit=limit,
        cursor=cursor,
        index="by-entity",
        table=store.audit_table(),
    )


def walk(chain: str = AUDIT, page: int = 500, keep: set[int] | None = None) -> logchain.Walker:
    """Recompute every hash and link of ``chain``, to its end; every problem is collected.

    Pages by the stored key, not by ``seq``: an inserted item with a forged number is still read.
    """
    walker = logchain.Walker(chain, keep=keep or set())
    kwargs: dict[str, Any] = {
        "KeyConditionExpression": "pk = :c",
        "ExpressionAttributeValues": {":c": chain},
        "Limit": page,
        "ConsistentRead": True,
    }
    while True:
        result = store.audit_table().query(**kwargs)
        walker.add_all(store.from_dynamo(i) for i in result.get("Items", []))
        if "LastEvaluatedKey" not in result:
            return walker
        kwargs["ExclusiveStartKey"] = result["LastEvaluatedKey"]
