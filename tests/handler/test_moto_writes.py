"""The local DynamoDB's write speed-ups (infra/moto_server.py): a condition parsed once per
(expression, names, values read) and an update expression parsed once per text answer exactly
as moto's own parse, through the client and at the parser."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from moto.dynamodb.comparisons import ConditionExpressionParser
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

import infra.moto_server as local_moto
from shared.aws import client
from shared.settings import get_settings


def _table() -> str:
    return get_settings().fingerprint_table


def _key(pk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": "keyed"}}


def _add(
    dynamodb: Any, pk: str, element: str, cap: int, names: dict[str, str] | None = None
) -> bool:
    """The index's own update (shared/fingerprint_index.py); False when the condition fails."""
    request: dict[str, Any] = {
        "TableName": _table(),
        "Key": _key(pk),
        "UpdateExpression": "ADD p :p",
        "ConditionExpression": "attribute_not_exists(#stop) AND "
        "(attribute_not_exists(p) OR size(p) < :cap)",
        "ExpressionAttributeNames": names or {"#stop": "s"},
        "ExpressionAttributeValues": {":p": {"SS": [element]}, ":cap": {"N": str(cap)}},
    }
    try:
        dynamodb.transact_write_items(TransactItems=[{"Update": request}])
    except dynamodb.exceptions.TransactionCanceledException:
        return False
    return True


def _postings(dynamodb: Any, pk: str) -> set[str]:
    item = dynamodb.get_item(TableName=_table(), Key=_key(pk)).get("Item", {})
    return set(item.get("p", {}).get("SS", []))


def test_a_condition_is_decided_on_the_values_and_names_of_each_request(aws: Any) -> None:
    dynamodb = client("dynamodb")
    assert _add(dynamodb, "k", "a", cap=2) and _add(dynamodb, "k", "b", cap=2)
    assert not _add(dynamodb, "k", "c", cap=2)  # the same text, the same :cap: full
    assert _add(dynamodb, "k", "c", cap=3)  # the same text, another :cap
    assert _postings(dynamodb, "k") == {"a", "b", "c"}
    # the same text and values, another name: "#stop" now reads p, which exists
    assert not _add(dynamodb, "k", "d", cap=9, names={"#stop": "p"})
    assert _add(dynamodb, "k", "d", cap=9)
    assert _postings(dynamodb, "k") == {"a", "b", "c", "d"}


ITEM = Item(
    DynamoType({"S": "k"}),
    DynamoType({"S": "keyed"}),
    {"pk": {"S": "k"}, "sk": {"S": "keyed"}, "p": {"SS": ["a", "b"]}, "n": {"N": "5"}},
)


def _outcome(op: Any, item: Item | None) -> tuple[Any, ...]:
    try:
        return ("value", op.expr(item))
    except ValueError as error:
        return ("error", str(error))


@pytest.mark.parametrize(
    ("expression", "names", "values"),
    [
        ("size(p) < :cap", None, {":cap": {"N": "3"}, ":unused": {"S": "x"}}),
        ("size(p) < :cap", None, {":cap": {"N": "2"}}),
        (
            "attribute_not_exists(#a) AND n BETWEEN :lo AND :hi",
            {"#a": "s"},
            {":lo": {"N": "1"}, ":hi": {"N": "9"}},
        ),
        (
            "attribute_not_exists(#a) AND n BETWEEN :lo AND :hi",
            {"#a": "p"},
            {":lo": {"N": "1"}, ":hi": {"N": "9"}},
        ),
        (
            "contains(p, :v) OR n IN (:lo, :hi)",
            None,
            {":v": {"S": "b"}, ":lo": {"N": "1"}, ":hi": {"N": "5"}},
        ),
        ("n = :b", None, {":b": {"B": b"\x00\x01"}}),  # binary: not plain JSON, parsed each time
        ("", None, None),
    ],
)
def test_a_kept_parse_is_moto_own(expression: str, names: Any, values: Any) -> None:
    def parse() -> tuple[Any, ConditionExpressionParser]:
        parser = ConditionExpressionParser(expression, names, values)
        return parser.parse(), parser

    (first, parser_1), (again, parser_2) = parse(), parse()
    moto_own = ConditionExpressionParser(expression, names, values)
    expected = local_moto._original_condition_parse(moto_own)
    for op, parser in ((first, parser_1), (again, parser_2)):
        assert _outcome(op, ITEM) == _outcome(expected, ITEM)
        assert _outcome(op, None) == _outcome(expected, None)  # no item yet
        assert parser.expr_attr_names_found == moto_own.expr_attr_names_found
        assert parser.expr_attr_values_found == moto_own.expr_attr_values_found
    binary = values is not None and any("B" in v for v in values.values())
    assert (again is first) != binary  # kept, except where a value read is binary


def test_other_values_than_those_read_share_the_parse_and_missing_ones_still_fail() -> None:
    kept = ConditionExpressionParser("size(p) < :cap", None, {":cap": {"N": "4"}}).parse()
    other_unread: Any = {":cap": {"N": "4"}, ":p": {"SS": ["z"]}}
    assert ConditionExpressionParser("size(p) < :cap", None, other_unread).parse() is kept
    with pytest.raises(KeyError):
        ConditionExpressionParser("size(p) < :cap", None, {":p": {"S": "z"}}).parse()


def test_a_malformed_condition_fails_every_time() -> None:
    for _ in range(2):
        with pytest.raises(ValueError, match="Bad comparison"):
            ConditionExpressionParser("size(p) <", None, {}).parse()
    assert not any(key[0] == "size(p) <" for key in local_moto._parsed)


def test_an_update_tree_is_parsed_once_and_never_changed(aws: Any) -> None:
    expression = "SET n = n + :one, t = :t ADD p :p"
    tree = UpdateExpressionParser.make(expression)
    pristine = pickle.dumps(tree)
    assert pristine == pickle.dumps(
        local_moto._original_update_make(UpdateExpressionParser, expression)
    )
    dynamodb = client("dynamodb")
    dynamodb.put_item(TableName=_table(), Item={**_key("u"), "n": {"N": "1"}})
    for i in range(3):
        dynamodb.update_item(
            TableName=_table(),
            Key=_key("u"),
            UpdateExpression=expression,
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":t": {"S": f"text {i}"},
                ":p": {"SS": [f"e{i}"]},
            },
        )
    item = dynamodb.get_item(TableName=_table(), Key=_key("u"))["Item"]
    assert item["n"] == {"N": "4"} and item["t"] == {"S": "text 2"}
    assert set(item["p"]["SS"]) == {"e0", "e1", "e2"}
    assert UpdateExpressionParser.make(expression) is tree
    assert pickle.dumps(tree) == pristine  # the validator worked on its own copy


def test_one_key_written_at_once_by_several_clients_never_fails(aws: Any) -> None:
    """The same file POSTed several times at once: each write succeeds and is notified (moto
    closed the replaced object's buffer before the notification read its ETag)."""
    import os
    import threading

    from shared.aws import client as aws_client

    s3, sqs = aws_client("s3"), aws_client("sqs")
    queue = sqs.create_queue(QueueName="race-notifications")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    s3.create_bucket(
        Bucket="race-bucket", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
    )
    s3.put_bucket_notification_configuration(
        Bucket="race-bucket",
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arn["QueueArn"], "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    failures: list[str] = []

    def writer() -> None:
        for _ in range(10):
            try:
                s3.put_object(Bucket="race-bucket", Key="same", Body=os.urandom(200_000))
            except Exception as error:  # what the client would see: a 500
                failures.append(repr(error))

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    notified = sqs.get_queue_attributes(
        QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert int(notified["ApproximateNumberOfMessages"]) == 40 + 1  # and the s3:TestEvent
