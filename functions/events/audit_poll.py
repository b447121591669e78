"""The audit_poll Lambda: the audit-poll SQS queue, whose delayed messages each ask "has this
audit's Athena query finished?", or "score this range of its result" (shared/audits/poll.py,
ranges.py). One message an invocation: scoring a result (or a range of a large one) takes the
function's whole timeout, not a share of it.

A message that raises is reported in ``batchItemFailures`` and comes back after the queue's
visibility timeout; after five receives SQS moves it to the audit-poll dead-letter queue."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from chalice import Blueprint

from functions.events import queue_arn, sqs_batch
from shared.audits import poll
from shared.logging import logger

bp = Blueprint(__name__)


def handle_record(record: SQSRecord) -> None:
    message = json.loads(record.body)
    outcome = poll.handle(message)
    logger.info("audit poll", extra={"audit_id": message.get("audit_id"), "outcome": outcome})


@bp.on_sqs_message(queue_arn=queue_arn("audit-poll"), batch_size=1, name="audit_poll")
def audit_poll(event: Any) -> PartialItemFailureResponse:
    return sqs_batch(event, handle_record)
