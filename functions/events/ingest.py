"""The ingest Lambda: S3 ObjectCreated notifications, delivered through the ingest SQS queue.

Partial batch failures: a record that raises is reported in ``batchItemFailures`` and stays on
the queue; after three receives SQS moves it to the dead-letter queue.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from chalice import Blueprint

from shared import uploads
from shared.audits import service as audit_service  # noqa: F401 - registers its processor
from shared.logging import logger
from shared.screens import service as screen_service  # noqa: F401 - registers its processor
from shared.settings import get_settings
from shared.traces import service as trace_service  # noqa: F401 - registers its processor
from shared.voices import ingest as voice_ingest  # noqa: F401 - registers its processor

bp = Blueprint(__name__)
_settings = get_settings()


def ingest_queue_arn() -> str:
    s = _settings
    return f"arn:aws:sqs:{s.region}:{s.account_id}:ailas-{s.stage}-ingest"


def handle_record(record: SQSRecord) -> None:
    for obj in uploads.objects_in_notification(record.body):
        process = uploads.processor_for(obj.key)
        if process is None:
            logger.warning("no processor for upload", extra={"key": obj.key})
            continue
        logger.info("ingest", extra={"key": obj.key, "size": obj.size})
        process(obj)


@bp.on_sqs_message(queue_arn=ingest_queue_arn(), batch_size=5, name="ingest")
def ingest(event: Any) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event.to_dict(),
        record_handler=handle_record,
        # One processor per invocation: it holds the batch's results, and the local worker
        # runs several invocations at once in one process (Lambda runs one per environment).
        processor=BatchProcessor(event_type=EventType.SQS),
        context=event.context,
    )
