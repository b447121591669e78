"""Domain events. Every audit entry is an event; the audit table's DynamoDB stream delivers them
(at least once, in order per chain) to ``functions/events/domain.py``, which calls the
subscribers registered here.

- What an event carries is declared once, in shared/actions.py; a subscriber names the fields it
  reads and is refused at import if any action under its prefix does not declare them.
- Subscribers are idempotent: a batch may be delivered again, and delivering an event twice
  changes nothing the second time.
- One subscriber failing does not keep the others from an event; the event is then reported
  failed, retried a bounded number of times by the event source and, if it keeps failing, set
  aside in the events failure queue for an operator (``python -m infra.ops events``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from shared import actions, aws, keys, store
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


@dataclass(frozen=True)
class Subscription:
    prefix: str
    requires: tuple[str, ...]
    handler: Subscriber

    @property
    def name(self) -> str:
        return f"{self.handler.__module__}.{self.handler.__qualname__}"


_SUBSCRIPTIONS: list[Subscription] = []


def subscribe(prefix: str, requires: tuple[str, ...] = ()) -> Callable[[Subscriber], Subscriber]:
    """Call the decorated function for every event whose action starts with ``prefix``.

    ``requires`` names the data fields it reads; every action under the prefix must declare
    them as required (shared/actions.py), else this raises at import time.
    """

    def register(fn: Subscriber) -> Subscriber:
        for action in actions.actions_under(prefix):
            missing = set(requires) - actions.required_fields(action)
            if missing:
                raise actions.UndeclaredAction(
                    f"{fn.__qualname__} reads {sorted(missing)}, which {action} does not declare"
                )
        _SUBSCRIPTIONS.append(Subscription(prefix, tuple(requires), fn))
        return fn

    return register


def subscriptions() -> list[Subscription]:
    return list(_SUBSCRIPTIONS)


class DeliveryFailed(Exception):
    """One or more subscribers raised on an event (the others were still called)."""

    def __init__(self, event: DomainEvent, failed: list[str]) -> None:
        super().__init__(f"event #{event.seq} {event.action}: {', '.join(failed)} failed")
        self.failed = failed


def dispatch(event: DomainEvent) -> int:
    """Call every subscriber of the event; raise DeliveryFailed after all ran if any failed."""
    called, failed = 0, []
    for subscription in _SUBSCRIPTIONS:
        if not event.action.startswith(subscription.prefix):
            continue
        called += 1
        try:
            subscription.handler(event)
        except Exception:
            logger.exception(
                "subscriber failed",
                extra={"seq": event.seq, "action": event.action, "subscriber": subscription.name},
            )
            failed.append(subscription.name)
    if failed:
        raise DeliveryFailed(event, failed)
    return called


def record_delivery(event: DomainEvent, subscribers: int) -> None:
    """Remember how far delivery got (shown by /v1/health, so event lag is visible)."""
    try:
        store.registry().update_item(
            Key=keys.EVENTS_CURSOR,
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
    return store.get(keys.EVENTS_CURSOR, consistent=False)


def stream_arn() -> str:
    s = get_settings()
    return s.audit_stream_arn or (
        f"arn:aws:dynamodb:{s.region}:{s.account_id}:table/{s.audit_table}/stream/latest"
    )


def failure_queue_url() -> str:
    """The queue where events that kept failing are set aside (the stream's on-failure
    destination in AWS; the local poller sends the same messages)."""
    return aws.sqs.stage_queue(get_settings().events_failed_queue_url, "events-failed")


def dead_letters() -> dict[str, int | None]:
    """Messages that failed their retries and wait in a dead-letter queue, by queue: uploads
    (ingest) and audit polls (None when a count cannot be read)."""
    settings = get_settings()
    return {
        "ingest": _waiting(settings.ingest_dlq_url, "ingest-dlq"),
        "audit_poll": _waiting(settings.audit_poll_dlq_url, "audit-poll-dlq"),
    }


def set_aside_count() -> int | None:
    """How many failed event batches wait for an operator (None when it cannot be read)."""
    return _waiting(get_settings().events_failed_queue_url, "events-failed")


def _waiting(configured: str, name: str) -> int | None:
    try:
        return aws.sqs.waiting(aws.sqs.stage_queue(configured, name))
    except ClientError:
        return None
