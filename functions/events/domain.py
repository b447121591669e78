"""The domain-event Lambda: the audit table's stream. Each new audit entry is a domain event
(intent changed, contract confirmed, voice in conflict…) handed to the subscribers in shared/.

A record whose subscribers fail is reported in ``batchItemFailures``: the event source retries
from it a bounded number of times (infra/event_sources.py), then sends it to the events failure
queue and goes on, so one bad event never blocks the ones behind it."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
)
from chalice import Blueprint

import shared.checkpoints  # noqa: F401 - signs a checkpoint after a burst of entries
from shared import events, store
from shared.audit import AUDIT
from shared.audits import export  # noqa: F401 - the fingerprint export follows voice events
from shared.labels import consent  # noqa: F401 - subscribes labels to consent events
from shared.members import notices  # noqa: F401 - tells an address's owner of an application
from shared.portal import mails  # noqa: F401 - mails approved members their sign-in link
from shared.screens import voiceprints  # noqa: F401 - voiceprints follow voice events

bp = Blueprint(__name__)
processor = BatchProcessor(
    event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False
)


def handle_record(record: DynamoDBRecord) -> None:
    if record.raw_event.get("eventName", "INSERT") != "INSERT":
        # the audit log is append-only: a MODIFY is tampering (which the chain's verification
        # reports), never a new event to act on again
        return
    image = record.raw_event.get("dynamodb", {}).get("NewImage")
    if not image or image.get("pk", {}).get("S") != AUDIT:
        return  # public-log twins, checkpoints and removals carry no new event
    event = events.DomainEvent.from_audit_entry(store.deserialize(image))
    events.record_delivery(event, events.dispatch(event))


@bp.on_dynamodb_record(
    stream_arn=events.stream_arn(),
    batch_size=50,
    starting_position="TRIM_HORIZON",
    name="domain_events",
)
def domain_events(event: Any) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event.to_dict(),
        record_handler=handle_record,
        processor=processor,
        context=event.context,
    )
