"""Domain events. Every audit entry is an event; the audit table's DynamoDB stream delivers them
(at least once, in order per chain) to ``functions/events/domain.py``, which calls the
subscribers registered here. Subscribers must be idempotent: a batch may be delivered again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from shared import store
from shared.clock import now_iso
from shared.logging import logger
from shared.settings import get_settings


@dataclass(frozen=True)
class DomainEvent:
    seq: int
    action: str
    entity: str
    actor: str
    at: str
    data: dict[str, Any]

    @classmethod
    def from_audit_entry(cls, entry: dict[str, Any]) -> DomainEvent:
        return cls(
            seq=entry["seq"],
            action=entry["action"],
            entity=entry["entity"],
            actor=entry["actor"],
            at=entry["at"],
            data=entry.get("data") or {},
        )


Subscriber = Callable[[DomainEvent], None]
_SUBSCRIBERS: list[tuple[str, Subscriber]] = []


def subscribe(action_prefix: str) -> Callable[[Subscriber], Subscriber]:
    """Call the decorated function for every event whose action starts with the prefix."""

    def register(fn: Subscriber) -> Subscriber:
        _SUBSCRIBERS.append((action_prefix, fn))
        return fn

    return register


def dispatch(event: DomainEvent) -> int:
    called = 0
    for prefix, subscriber in _SUBSCRIBERS:
        if event.action.startswith(prefix):
            subscriber(event)
            called += 1
    return called


def record_delivery(event: DomainEvent, subscribers: int) -> None:
    """Remember how far delivery got (shown by /v1/health, so event lag is visible)."""
    try:
        store.registry().update_item(
            Key={"pk": "EVENTS", "sk": "CURSOR"},
            UpdateExpression="SET last_seq = :s, last_action = :a, delivered_at = :t",
            ConditionExpression="attribute_not_exists(last_seq) OR last_seq < :s",
            ExpressionAttributeValues={":s": event.seq, ":a": event.action, ":t": now_iso()},
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise  # an older event delivered again leaves the cursor where it is
    logger.info(
        "domain event delivered",
        extra={"seq": event.seq, "action": event.action, "subscribers": subscribers},
    )


def delivery_cursor() -> dict[str, Any] | None:
    item = store.registry().get_item(Key={"pk": "EVENTS", "sk": "CURSOR"}).get("Item")
    return store.from_dynamo(item) if item else None


def stream_arn() -> str:
    s = get_settings()
    return s.audit_stream_arn or (
        f"arn:aws:dynamodb:{s.region}:{s.account_id}:table/{s.audit_table}/stream/latest"
    )
