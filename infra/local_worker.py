"""The local stand-in for Lambda's event source mappings: it long-polls the ingest queue and the
audit table's stream on the moto server and invokes the very handlers Lambda runs, with Lambda's
event shapes and partial-batch-failure semantics; it also fires the scheduled handlers."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from infra.event_sources import STREAM_BATCH_SIZE, STREAM_MAX_RECORD_AGE_S, STREAM_MAX_RETRIES
from shared.aws import client
from shared.logging import logger


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    timeout_s: int = 900
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = ""
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_s
        self.invoked_function_arn = (
            f"arn:aws:lambda:ap-northeast-1:123456789012:function:{self.function_name}"
        )

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


Handler = Callable[[dict[str, Any], Any], Any]


class SqsPoller:
    """One SQS event source mapping: receive, invoke, delete what succeeded.

    Lambda runs several invocations of one function at once (up to its concurrency), so one slow
    file does not hold up the others; here each message is its own invocation on a pool of
    ``concurrency`` threads, and messages are received only while a thread is free.
    """

    def __init__(
        self,
        handler: Handler,
        name: str,
        queue_url: str,
        queue_arn: str,
        batch_size: int = 5,
        retry_after_s: int = 2,
        concurrency: int = 4,
    ) -> None:
        self.handler, self.name = handler, name
        self.queue_url, self.queue_arn = queue_url, queue_arn
        self.batch_size = batch_size
        # Lambda leaves a failed message invisible for the queue's visibility timeout (90 min);
        # locally it comes back after a couple of seconds so that retries are visible.
        self.retry_after_s = retry_after_s
        self.concurrency = concurrency
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=name)
        self.free = threading.Semaphore(concurrency)
        self.in_flight: set[Future[None]] = set()
        self.lock = threading.Lock()

    def poll_once(self, wait_s: int = 1) -> int:
        """Receive as many messages as there are free invocations and start them; 0 if none."""
        slots = 0
        while slots < min(self.batch_size, self.concurrency) and self.free.acquire(
            timeout=0 if slots else wait_s
        ):
            slots += 1
        if not slots:
            return 0
        try:
            messages = (
                client("sqs")
                .receive_message(
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=slots,
                    WaitTimeSeconds=wait_s,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                )
                .get("Messages", [])
            )
        except Exception:
            for _ in range(slots):
                self.free.release()
            raise
        for _ in range(slots - len(messages)):
            self.free.release()
        for message in messages:
            future = self.pool.submit(self._invoke, message)
            with self.lock:
                self.in_flight.add(future)
            future.add_done_callback(self._done)
        return len(messages)

    def _done(self, future: Future[None]) -> None:
        with self.lock:
            self.in_flight.discard(future)
        self.free.release()

    def wait_idle(self, timeout_s: float = 60.0) -> None:
        """Until every started invocation has finished (tests)."""
        with self.lock:
            pending = set(self.in_flight)
        wait(pending, timeout=timeout_s)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)

    def _invoke(self, message: dict[str, Any]) -> None:
        sqs = client("sqs")
        event = {"Records": [self._record(message)]}
        try:
            result = self.handler(event, LambdaContext(self.name)) or {}
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        except Exception:
            logger.exception("handler failed the whole batch", extra={"function": self.name})
            failed = {message["MessageId"]}
        if message["MessageId"] in failed:
            sqs.change_message_visibility(
                QueueUrl=self.queue_url,
                ReceiptHandle=message["ReceiptHandle"],
                VisibilityTimeout=self.retry_after_s,
            )
        else:
            sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": "ap-northeast-1",
        }


class StreamPoller:
    """One DynamoDB Streams event source mapping (starting at the trim horizon), with the
    failure handling of the deployed one (infra/event_sources.py): a record reported failed is
    retried from its own position, the batch halved each time (bisection), at most
    ``max_retries`` times; then Lambda's on-failure message is sent to the events failure
    queue and delivery goes on after it. Records older than ``max_age_s`` go there unprocessed.

    A fresh iterator is taken after the last sequence number on every poll: moto replaces a
    table's stream shard object when a transaction is cancelled, which strands old iterators.
    """

    def __init__(
        self,
        handler: Handler,
        name: str,
        stream_arn: str,
        failure_queue_url: str | None = None,
        batch_size: int = STREAM_BATCH_SIZE,
        max_retries: int = STREAM_MAX_RETRIES,
        max_age_s: int = STREAM_MAX_RECORD_AGE_S,
        retry_after_s: float = 0.2,
    ) -> None:
        self.handler, self.name, self.stream_arn = handler, name, stream_arn
        self.failure_queue_url = failure_queue_url
        self.batch_size, self.max_retries, self.max_age_s = batch_size, max_retries, max_age_s
        self.retry_after_s = retry_after_s
        self.positions: dict[str, str] = {}
        self.attempts: dict[str, int] = {}  # sequence number → failed attempts so far
        self.limits: dict[str, int] = {}  # shard → batch size while bisecting
        self.set_aside = 0

    def poll_once(self) -> int:
        streams = client("dynamodbstreams")
        shards = streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        delivered = 0
        for shard in shards:
            delivered += self._poll_shard(streams, shard["ShardId"])
        return delivered

    def _poll_shard(self, streams: Any, shard_id: str) -> int:
        position = self.positions.get(shard_id)
        iterator = streams.get_shard_iterator(
            StreamArn=self.stream_arn,
            ShardId=shard_id,
            **(
                {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": position}
                if position
                else {"ShardIteratorType": "TRIM_HORIZON"}
            ),
        )["ShardIterator"]
        limit = self.limits.get(shard_id, self.batch_size)
        records = streams.get_records(ShardIterator=iterator, Limit=limit).get("Records", [])
        if not records:
            return 0
        stale = [r for r in records if self._age_s(r) > self.max_age_s]
        if stale:
            self._give_up(shard_id, stale, "RecordAgeExceeded")
            return len(stale)
        failed = self._invoke(records)
        if not failed:
            self._advance(shard_id, records[-1])
            self.limits.pop(shard_id, None)
            return len(records)
        # Lambda checkpoints before the first failed record and retries from it.
        first = next(i for i, r in enumerate(records) if self._seq(r) in failed)
        if first:
            self._advance(shard_id, records[first - 1])
        record = records[first]
        tries = self.attempts.get(self._seq(record), 0) + 1
        self.attempts[self._seq(record)] = tries
        if tries > self.max_retries:
            self._give_up(shard_id, [record], "RetryAttemptsExhausted")
        else:
            self.limits[shard_id] = max(1, len(records[first:]) // 2)  # bisect
            time.sleep(self.retry_after_s)
        return len(records)  # attempted: a retry is still work to do

    def _invoke(self, records: list[dict[str, Any]]) -> set[str]:
        event = {"Records": [self._record(r) for r in records]}
        try:
            result = self.handler(event, LambdaContext(self.name)) or {}
        except Exception:
            logger.exception("handler failed the whole batch", extra={"function": self.name})
            return {self._seq(r) for r in records}
        return {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}

    def _advance(self, shard_id: str, record: dict[str, Any]) -> None:
        self.positions[shard_id] = self._seq(record)
        self.attempts.pop(self._seq(record), None)

    def _give_up(self, shard_id: str, records: list[dict[str, Any]], condition: str) -> None:
        """Lambda's on-failure destination message, then move past the records."""
        first, last = records[0], records[-1]
        message = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": LambdaContext(self.name).invoked_function_arn,
                "condition": condition,
                "approximateInvokeCount": self.attempts.get(self._seq(first), 0),
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": self._seq(first),
                "endSequenceNumber": self._seq(last),
                "approximateArrivalOfFirstRecord": _iso(first),
                "approximateArrivalOfLastRecord": _iso(last),
                "batchSize": len(records),
                "streamArn": self.stream_arn,
            },
        }
        if self.failure_queue_url:
            client("sqs").send_message(
                QueueUrl=self.failure_queue_url, MessageBody=json.dumps(message)
            )
        self.set_aside += len(records)
        logger.error(
            "domain events set aside in the failure queue",
            extra={"condition": condition, "records": len(records), "first": self._seq(first)},
        )
        self._advance(shard_id, last)
        self.limits.pop(shard_id, None)

    @staticmethod
    def _seq(record: dict[str, Any]) -> str:
        return str(record["dynamodb"]["SequenceNumber"])

    @staticmethod
    def _age_s(record: dict[str, Any]) -> float:
        created = record["dynamodb"].get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            return (datetime.now(UTC) - created.astimezone(UTC)).total_seconds()
        return 0.0

    def _record(self, record: dict[str, Any]) -> dict[str, Any]:
        body = dict(record["dynamodb"])
        created = body.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            body["ApproximateCreationDateTime"] = created.timestamp()
        return {
            **record,
            "dynamodb": body,
            "eventSourceARN": self.stream_arn,
            "awsRegion": "ap-northeast-1",
        }


def _iso(record: dict[str, Any]) -> str:
    created = record["dynamodb"].get("ApproximateCreationDateTime")
    moment = created if isinstance(created, datetime) else datetime.now(UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def scheduled_event() -> dict[str, Any]:
    """EventBridge's scheduled event, as Lambda receives it."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "ap-northeast-1",
        "resources": [],
        "detail": {},
    }


class Worker:
    """Runs the pollers and schedules in background threads until stopped."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def loop(
        self, name: str, step: Callable[[], Any], idle_s: float = 0.2, max_idle_s: float = 0.8
    ) -> None:
        """Call ``step`` until stopped; while it finds nothing to do, wait ``idle_s``, doubling
        up to ``max_idle_s`` (an idle stack polls a few times a second, not dozens)."""

        def run() -> None:
            wait = idle_s
            while not self.stop.is_set():
                try:
                    if step():
                        wait = idle_s
                    else:
                        self.stop.wait(wait)
                        wait = min(max_idle_s, wait * 2)
                except Exception:
                    if self.stop.is_set():
                        break  # shutting down: calls in flight may fail, and that is fine
                    logger.exception("worker loop error", extra={"loop": name})
                    self.stop.wait(1.0)

        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def every(self, name: str, seconds: float, handler: Handler) -> None:
        def tick() -> bool:
            if self.stop.wait(seconds):
                return True
            handler(scheduled_event(), LambdaContext(name))
            return True

        self.loop(name, tick)

    def shutdown(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=5)
