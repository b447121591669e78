"""The local DynamoDB's read speed-ups (infra/moto_server.py) answer as moto does: a
BatchGetItem written with json.dumps, top-level projections that keep the stored values and a
set-based duplicate check return what GetItem and moto's own projection return, for every
attribute type (binary values included, which keep moto's serializer)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto import backends
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.responses import DynamoHandler

import infra.moto_server as local_moto
from shared.aws import client
from shared.settings import get_settings

EVERY_TYPE: dict[str, Any] = {
    "s": {"S": "声の登録"},
    "n": {"N": "1.50"},
    "b": {"B": b"\x00\xffbinary"},
    "ss": {"SS": ["b", "a", "c"]},
    "ns": {"NS": ["3", "1.5"]},
    "bs": {"BS": [b"\x01", b"\x02"]},
    "l": {"L": [{"S": "x"}, {"N": "2"}, {"M": {"deep": {"BOOL": True}}}]},
    "m": {"M": {"inner": {"S": "y"}, "other": {"NULL": True}}},
    "yes": {"BOOL": False},
    "nothing": {"NULL": True},
}


def _table() -> str:
    return get_settings().fingerprint_table  # the index's own table: keys pk, sk


def _key(pk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": "keyed"}}


@pytest.fixture
def table(aws: dict[str, str]) -> Any:
    dynamodb = client("dynamodb")
    dynamodb.put_item(TableName=_table(), Item={**_key("all"), **EVERY_TYPE})
    dynamodb.put_item(
        TableName=_table(), Item={**_key("text"), "s": {"S": "only text"}, "ss": {"SS": ["p", "q"]}}
    )
    return dynamodb


def _batch(dynamodb: Any, keys: list[str], **request: Any) -> list[dict[str, Any]]:
    reply = dynamodb.batch_get_item(
        RequestItems={_table(): {"Keys": [_key(k) for k in keys], **request}}
    )
    assert not reply["UnprocessedKeys"]
    return list(reply["Responses"][_table()])


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Equal as DynamoDB values: a set's members in any order."""

    def norm(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: frozenset(v) if k in ("SS", "NS", "BS") else norm(v) for k, v in value.items()
            }
        if isinstance(value, list):
            return [norm(v) for v in value]
        return value

    return bool(norm(a) == norm(b))


def test_batch_get_returns_what_get_item_returns_for_every_type(table: Any) -> None:
    found = {item["pk"]["S"]: item for item in _batch(table, ["all", "text", "missing"])}
    assert set(found) == {"all", "text"}  # a missing key is simply absent
    for pk in ("all", "text"):
        assert _same(found[pk], table.get_item(TableName=_table(), Key=_key(pk))["Item"])
    assert found["all"]["b"] == {"B": b"\x00\xffbinary"}  # binary kept moto's serializer
    (text,) = _batch(table, ["text"])  # no binary: written with json.dumps
    assert _same(text, table.get_item(TableName=_table(), Key=_key("text"))["Item"])


def _stored() -> Item:
    attrs = {**_key("all"), **EVERY_TYPE}
    return Item(DynamoType(attrs["pk"]), DynamoType(attrs["sk"]), attrs)


@pytest.mark.parametrize(
    ("projection", "paths", "names"),
    [
        (
            "pk, n, ss, yes, nothing",
            [["pk"], ["n"], ["ss"], ["yes"], ["nothing"]],
            {"pk", "n", "ss", "yes", "nothing"},
        ),
        ("b, bs, l, m", [["b"], ["bs"], ["l"], ["m"]], {"b", "bs", "l", "m"}),
        ("m.inner", [["m", "inner"]], {"m"}),
        ("l[2].deep", [["l[2]", "deep"]], {"l"}),
        ("absent, #s", [["absent"], ["s"]], {"s"}),
    ],
)
def test_projections_return_what_moto_projects(
    table: Any, projection: str, paths: list[list[str]], names: set[str]
) -> None:
    request: dict[str, Any] = {"ProjectionExpression": projection}
    if "#s" in projection:
        request["ExpressionAttributeNames"] = {"#s": "s"}
    (got,) = _batch(table, ["all"], **request)
    assert set(got) == names
    assert _same(got, table.get_item(TableName=_table(), Key=_key("all"), **request)["Item"])
    ours, moto_own = (
        local_moto._project(_stored(), paths),
        local_moto._original_project(_stored(), paths),
    )
    assert ours.to_regular_json() == moto_own.to_regular_json()


def test_duplicate_keys_in_a_batch_are_still_rejected(table: Any) -> None:
    with pytest.raises(ClientError, match="duplicates"):
        _batch(table, ["text", "text"])


def test_moto_lists_its_services_once() -> None:
    modules = backends.list_of_moto_modules()
    assert {"dynamodb", "s3", "sqs", "kms"} <= set(modules)
    assert backends.list_of_moto_modules() is modules


def test_a_batch_request_parses_as_moto_parses_it() -> None:
    """The JSON read of a BatchGetItem without binary values equals moto's shape-driven parse;
    one with a binary key takes moto's parser (which base64-decodes it)."""
    from moto.core.request import Request
    from werkzeug.test import EnvironBuilder

    body = {
        "RequestItems": {
            "t": {
                "Keys": [_key("a"), {"pk": {"N": "12"}, "sk": {"S": 'BOOL "B"'}}],
                "ProjectionExpression": "pk, #s",
                "ExpressionAttributeNames": {"#s": "s"},
                "ConsistentRead": True,
            }
        },
        "ReturnConsumedCapacity": "TOTAL",
    }
    binary = {"RequestItems": {"t": {"Keys": [{"pk": {"B": "AAE="}}]}}}
    for request_body, fast in ((body, True), (binary, False)):
        request = Request(
            EnvironBuilder(
                method="POST",
                json=request_body,
                headers=[("X-Amz-Target", "DynamoDB_20120810.BatchGetItem")],
                content_type="application/x-amz-json-1.0",
            ).get_environ()
        )
        ours, moto_own = DynamoHandler(), DynamoHandler()
        for handler in (ours, moto_own):
            handler.headers, handler.querystring, handler.uri_match = request.headers, {}, {}
        ours.parse_parameters(request)
        local_moto._original_parse(moto_own, request)
        assert ours.params == moto_own.params
        assert (ours.params is not None) and (
            isinstance(ours.params["RequestItems"]["t"]["Keys"][0]["pk"].get("B"), bytes) != fast
        )
