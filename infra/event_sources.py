"""The settings of the audit stream's event source mapping, shared by the deployed template
(infra/merge.py) and the local stack's poller (infra/local_worker.py), so that a failing event
meets the same fate in both: retried from its own position a bounded number of times (batches
bisected to isolate it), then sent to the events failure queue while delivery goes on.

Also the SQS mappings' concurrency caps (deployed template only)."""

from __future__ import annotations

from typing import Any

STREAM_BATCH_SIZE = 50
STREAM_MAX_RETRIES = 3  # retries after the first attempt
STREAM_MAX_RECORD_AGE_S = 6 * 3600  # older records go to the failure queue unprocessed
STREAM_BISECT_ON_ERROR = True
EVENTS_FAILED_QUEUE = "EventsFailedQueue"  # logical id in infra/resources.yaml

# How many audit_poll invocations its SQS mapping runs at once (ScalingConfig.MaximumConcurrency,
# 2-1000). A large Athena result fans out into one message per 256 MB range (shared/audits/
# ranges.py); without a cap K ranges are K concurrent invocations from the account's pool. The
# mapping's cap leaves the rest queued and unreceived, so they neither throttle nor count towards
# the queue's maxReceiveCount; reserved concurrency would instead throttle received messages
# into the DLQ and withhold the slots from every other function. 10: the 1,000 h x 100,000 h
# audit's ~1 GB result is ~4 ranges, so two such audits score side by side (README, #17).
AUDIT_POLL_MAX_CONCURRENCY = 10
SQS_MAX_CONCURRENCY: dict[str, int] = {"audit_poll": AUDIT_POLL_MAX_CONCURRENCY}


def stream_event_properties() -> dict[str, Any]:
    """SAM ``DynamoDB`` event properties for the domain-events function."""
    return {
        "Stream": {"Fn::GetAtt": ["AuditTable", "StreamArn"]},
        "StartingPosition": "TRIM_HORIZON",
        "BatchSize": STREAM_BATCH_SIZE,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "BisectBatchOnFunctionError": STREAM_BISECT_ON_ERROR,
        "MaximumRetryAttempts": STREAM_MAX_RETRIES,
        "MaximumRecordAgeInSeconds": STREAM_MAX_RECORD_AGE_S,
        "DestinationConfig": {
            "OnFailure": {
                "Type": "SQS",
                "Destination": {"Fn::GetAtt": [EVENTS_FAILED_QUEUE, "Arn"]},
            }
        },
    }
