"""Event handlers: the ingest queue, the domain-event stream, schedules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared.settings import get_settings


def queue_arn(name: str) -> str:
    """The ARN of this stage's ``ailas-<stage>-<name>`` SQS queue."""
    s = get_settings()
    return f"arn:aws:sqs:{s.region}:{s.account_id}:ailas-{s.stage}-{name}"


def sqs_batch(event: Any, handle_record: Callable[[SQSRecord], None]) -> PartialItemFailureResponse:
    """An SQS batch, a record at a time: one that raises is reported in ``batchItemFailures``
    and stays on the queue. One processor per invocation: it holds the batch's results, and the
    local worker runs several invocations at once in one process (Lambda runs one per
    environment)."""
    return process_partial_response(
        event=event.to_dict(),
        record_handler=handle_record,
        processor=BatchProcessor(event_type=EventType.SQS),
        context=event.context,
    )
