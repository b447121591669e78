"""The local stand-in for Lambda's event source mappings: it long-polls the ingest queue and the
audit table's stream on the moto server and invokes the very handlers Lambda runs, with Lambda's
event shapes and partial-batch-failure semantics; it also fires the scheduled handlers."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

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
    """One DynamoDB Streams event source mapping (starting at the trim horizon).

    A fresh iterator is taken after the last sequence number on every poll: moto replaces a
    table's stream shard object when a transaction is cancelled, which strands old iterators.
    """

    def __init__(self, handler: Handler, name: str, stream_arn: str, batch_size: int = 100) -> None:
        self.handler, self.name, self.stream_arn = handler, name, stream_arn
        self.batch_size = batch_size
        self.positions: dict[str, str] = {}

    def poll_once(self) -> int:
        streams = client("dynamodbstreams")
        shards = streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        delivered = 0
        for shard in shards:
            shard_id = shard["ShardId"]
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
            records = streams.get_records(ShardIterator=iterator, Limit=self.batch_size).get(
                "Records", []
            )
            if not records:
                continue
            event = {"Records": [self._record(r) for r in records]}
            # Lambda retries a failing stream batch until it succeeds (or the records age
            # out): the position only moves on once the handler returned without failures.
            result = self.handler(event, LambdaContext(self.name)) or {}
            if result.get("batchItemFailures"):
                continue
            self.positions[shard_id] = records[-1]["dynamodb"]["SequenceNumber"]
            delivered += len(records)
        return delivered

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

    def loop(self, name: str, step: Callable[[], Any], idle_s: float = 0.2) -> None:
        def run() -> None:
            while not self.stop.is_set():
                try:
                    if not step():
                        self.stop.wait(idle_s)
                except Exception:
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
