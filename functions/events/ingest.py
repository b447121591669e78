"""The ingest Lambda: S3 ObjectCreated notifications, delivered through the ingest SQS queue.

Partial batch failures: a record that raises is reported in ``batchItemFailures`` and stays on
the queue; after three receives SQS moves it to the dead-letter queue.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from chalice import Blueprint

from functions.events import queue_arn, sqs_batch
from shared import uploads
from shared.audits import service as audit_service  # noqa: F401 - registers its processor
from shared.logging import logger
from shared.screens import service as screen_service  # noqa: F401 - registers its processor
from shared.traces import service as trace_service  # noqa: F401 - registers its processor
from shared.voices import ingest as voice_ingest  # noqa: F401 - registers its processor

bp = Blueprint(__name__)


def handle_record(record: SQSRecord) -> None:
    for obj in uploads.objects_in_notification(record.body, record.message_id):
        process = uploads.processor_for(obj.key)
        if process is None:
            logger.warning("no processor for upload", extra={"key": obj.key})
            continue
        logger.info("ingest", extra={"key": obj.key, "size": obj.size})
        process(obj)


# One upload an invocation, as the local worker runs it: a long file (up to the decode budget)
# must not hold other uploads past the function's timeout, to come back 90 minutes later.
@bp.on_sqs_message(queue_arn=queue_arn("ingest"), batch_size=1, name="ingest")
def ingest(event: Any) -> PartialItemFailureResponse:
    return sqs_batch(event, handle_record)
