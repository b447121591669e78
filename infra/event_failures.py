"""Domain events that failed their retries and were set aside in the events failure queue
(the audit stream's on-failure destination): find what they were, and deliver them again.

A set-aside message is Lambda's on-failure record: it names the stream shard and a range of
sequence numbers, not the records. While the stream still holds them (24 h in AWS) they are
read back and named by their audit entries; an event is always redelivered from the audit log
itself (permanent), through the very handler the stream calls — in-process on the local stack,
by invoking the domain-events function in AWS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError

from shared import audit, events, store
from shared.aws import client
from shared.settings import get_settings


@dataclass
class SetAside:
    message_id: str
    receipt: str
    condition: str
    arrived: str
    batch: dict[str, Any]
    entries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def seqs(self) -> list[int]:
        return [e["seq"] for e in self.entries]


def _records_between(batch: dict[str, Any]) -> list[dict[str, Any]]:
    """The audit entries of the stream records from start to end sequence number."""
    streams = client("dynamodbstreams")
    try:
        iterator = streams.get_shard_iterator(
            StreamArn=batch["streamArn"],
            ShardId=batch["shardId"],
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=batch["startSequenceNumber"],
        )["ShardIterator"]
    except ClientError:  # trimmed from the stream: the operator names seqs instead
        return []
    end = int(batch["endSequenceNumber"])
    found: list[dict[str, Any]] = []
    while iterator:
        page = streams.get_records(ShardIterator=iterator, Limit=100)
        for record in page.get("Records", []):
            if int(record["dynamodb"]["SequenceNumber"]) > end:
                return found
            image = record["dynamodb"].get("NewImage")
            if image and image.get("pk", {}).get("S") == audit.AUDIT:
                found.append(store.deserialize(image))
        if not page.get("Records"):
            break
        iterator = page.get("NextShardIterator")
    return found


def set_aside(limit: int = 10) -> list[SetAside]:
    """The messages waiting in the failure queue (made visible again at once)."""
    sqs = client("sqs")
    url = events.failure_queue_url()
    found: list[SetAside] = []
    seen: set[str] = set()
    while True:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=limit, VisibilityTimeout=30, WaitTimeSeconds=0
        ).get("Messages", [])
        fresh = [m for m in messages if m["MessageId"] not in seen]
        if not fresh:
            break
        for message in fresh:
            seen.add(message["MessageId"])
            body = json.loads(message["Body"])
            batch = body.get("DDBStreamBatchInfo", {})
            found.append(
                SetAside(
                    message_id=message["MessageId"],
                    receipt=message["ReceiptHandle"],
                    condition=body.get("requestContext", {}).get("condition", "?"),
                    arrived=batch.get("approximateArrivalOfFirstRecord", "?"),
                    batch=batch,
                    entries=_records_between(batch) if batch else [],
                )
            )
    for item in found:  # leave them visible for the next look
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=item.receipt, VisibilityTimeout=0)
    return found


def stream_event(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """A DynamoDB Streams event carrying ``entries`` as Lambda would deliver them."""
    serializer = TypeSerializer()
    arn = events.stream_arn()
    return {
        "Records": [
            {
                "eventID": f"redrive-{entry['seq']}",
                "eventName": "INSERT",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": get_settings().region,
                "eventSourceARN": arn,
                "dynamodb": {
                    "Keys": {"pk": {"S": entry["pk"]}, "sk": {"S": entry["sk"]}},
                    "NewImage": {
                        k: serializer.serialize(v) for k, v in store.to_dynamo(entry).items()
                    },
                    "SequenceNumber": f"{entry['seq']:021d}",
                    "SizeBytes": 1,
                    "StreamViewType": "NEW_IMAGE",
                },
            }
            for entry in entries
        ]
    }


def audit_entries(seqs: list[int]) -> list[dict[str, Any]]:
    table = store.audit_table()
    found = []
    for seq in seqs:
        item = table.get_item(Key={"pk": audit.AUDIT, "sk": f"{seq:012d}"}).get("Item")
        if item is None:
            raise LookupError(f"audit entry {seq} does not exist")
        found.append(store.from_dynamo(item))
    return found


def deliver(entries: list[dict[str, Any]]) -> list[int]:
    """Deliver audit entries through the domain-events handler; returns the seqs that failed."""
    event = stream_event(entries)
    settings = get_settings()
    if settings.stage == "local":  # the local stack: the same handler, in this process
        from app import app
        from infra.local_worker import LambdaContext

        result = app.handler_map["domain_events"](event, LambdaContext("domain_events")) or {}
    else:
        reply = client("lambda").invoke(
            FunctionName=f"ailas-{settings.stage}-domain_events", Payload=json.dumps(event)
        )
        result = json.loads(reply["Payload"].read() or b"{}")
        if reply.get("FunctionError"):
            return [e["seq"] for e in entries]
    failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
    return [e["seq"] for e in entries if f"{e['seq']:021d}" in failed]


def redrive(item: SetAside) -> list[int]:
    """Deliver a set-aside batch again; the message is deleted once every event went through."""
    failed = deliver(item.entries) if item.entries else [-1]
    if not failed:
        client("sqs").delete_message(
            QueueUrl=events.failure_queue_url(), ReceiptHandle=item.receipt
        )
    return failed
