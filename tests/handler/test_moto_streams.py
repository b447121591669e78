"""The local DynamoDB (infra/moto_server.py) behaves as DynamoDB where the event stream depends
on it: a cancelled transaction writes nothing and emits no stream record. moto applies the
writes one by one and undoes them, and its stream once carried the undone writes, so the
domain-event worker delivered an audit entry that never was (seen as one event delivered
three times)."""

from __future__ import annotations

import sys
import threading
from typing import Any

import pytest
from botocore.exceptions import ClientError

from shared.aws import client
from shared.settings import get_settings


def _records(table: str) -> list[dict[str, Any]]:
    streams = client("dynamodbstreams")
    arn = client("dynamodb").describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    return streams.get_records(ShardIterator=iterator)["Records"]


def test_a_cancelled_transaction_emits_no_stream_record(aws: dict[str, str]) -> None:
    table = get_settings().audit_table
    dynamodb = client("dynamodb")
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "t"}, "sk": {"S": "1"}})
    before = _records(table)
    with pytest.raises(ClientError, match="TransactionCanceled"):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"pk": {"S": "t"}, "sk": {"S": "2"}}}},
                {
                    "Put": {  # the second write's condition fails: the first must not happen
                        "TableName": table,
                        "Item": {"pk": {"S": "t"}, "sk": {"S": "1"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    assert "Item" not in dynamodb.get_item(
        TableName=table, Key={"pk": {"S": "t"}, "sk": {"S": "2"}}
    )
    assert _records(table) == before
    dynamodb.transact_write_items(
        TransactItems=[{"Put": {"TableName": table, "Item": {"pk": {"S": "t"}, "sk": {"S": "3"}}}}]
    )
    after = _records(table)
    assert len(after) == len(before) + 1
    assert after[-1]["dynamodb"]["Keys"]["sk"] == {"S": "3"}


def test_a_reader_never_sees_a_cancelled_transaction_half_applied(aws: dict[str, str]) -> None:
    """moto writes a transaction's items one by one and undoes them when a condition fails; a
    read in between once saw an existing item changed or missing (a 404 for an AI system while
    label applications raced)."""
    table = get_settings().registry_table
    dynamodb = client("dynamodb")
    key = {"pk": {"S": "AI#race"}, "sk": {"S": "META"}}
    dynamodb.put_item(TableName=table, Item={**key, "v": {"N": "1"}})
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "AI#race"}, "sk": {"S": "LABEL"}})
    seen: list[Any] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            seen.append(dynamodb.get_item(TableName=table, Key=key).get("Item", {}).get("v"))

    reader = threading.Thread(target=read)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, inside the transaction too
    reader.start()
    try:
        for _ in range(150):
            with pytest.raises(ClientError, match="TransactionCanceled"):
                dynamodb.transact_write_items(
                    TransactItems=[
                        {"Put": {"TableName": table, "Item": {**key, "v": {"N": "2"}}}},
                        {
                            "Put": {  # the label exists: the whole transaction is cancelled
                                "TableName": table,
                                "Item": {"pk": {"S": "AI#race"}, "sk": {"S": "LABEL"}},
                                "ConditionExpression": "attribute_not_exists(pk)",
                            }
                        },
                    ]
                )
    finally:
        done.set()
        reader.join()
        sys.setswitchinterval(interval)
    assert seen and all(v == {"N": "1"} for v in seen)
