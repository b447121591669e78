"""DynamoDB access shared by every domain module: tables, (de)serialisation, conditional
transactions, opaque pagination cursors, and the repository of the registry table (typed
get / require / pages / audited transitions; the keys themselves are built in shared/keys.py)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from shared.aws import client, resource
from shared.errors import ApiError, BadRequest, Conflict, NotFound
from shared.formats import canonical
from shared.keys import Key
from shared.logging import logger
from shared.settings import get_settings

if TYPE_CHECKING:
    from boto3.dynamodb.conditions import ConditionBase

    from shared.audit import Event

Item = dict[str, Any]
Page = tuple[list[Item], str | None]

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def registry() -> Any:
    return resource("dynamodb").Table(get_settings().registry_table)


def audit_table() -> Any:
    return resource("dynamodb").Table(get_settings().audit_table)


def to_dynamo(value: Any) -> Any:
    """The canonical form (shared/canonical.py: nulls in objects dropped, integral numbers as
    integers) with the remaining floats as Decimals (DynamoDB has no float type). What is stored
    is therefore exactly what the logs hash."""
    return _decimals(canonical.normalize(value))


def _decimals(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decimals(v) for v in value]
    return value


def from_dynamo(value: Any) -> Any:
    """Decimals back to numbers as the canonical form has them (int below 2**53, else float),
    sets to sorted lists: plain JSON-able values that store again unchanged."""
    if isinstance(value, Decimal):
        return canonical.normalize(value)
    if isinstance(value, dict):
        return {k: from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_dynamo(v) for v in value]
    if isinstance(value, set):
        return sorted(from_dynamo(v) for v in value)
    return value


def serialize(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in to_dynamo(item).items()}


def deserialize(item: dict[str, Any]) -> dict[str, Any]:
    return from_dynamo({k: _deserializer.deserialize(v) for k, v in item.items()})


def set_fields(changes: dict[str, Any]) -> tuple[str, dict[str, str], dict[str, Any]]:
    """An UpdateExpression that sets each field, or removes it where the value is None."""
    names = {f"#{k}": k for k in changes}
    values = {f":{k}": v for k, v in changes.items() if v is not None}
    sets = [f"#{k} = :{k}" for k, v in changes.items() if v is not None]
    expression = "SET " + ", ".join(sets)
    if removed := [f"#{k}" for k, v in changes.items() if v is None]:
        expression += " REMOVE " + ", ".join(removed)
    return expression, names, values


class TransactionFailed(Exception):
    """A condition of the transaction failed; ``reasons`` holds one code per operation."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(", ".join(reasons))
        self.reasons = reasons

    def failed_at(self, index: int) -> bool:
        return index < len(self.reasons) and self.reasons[index] == "ConditionalCheckFailed"


@dataclass
class Transaction:
    """All-or-nothing writes (TransactWriteItems), each with its own condition."""

    operations: list[dict[str, Any]] = field(default_factory=list)

    def put(
        self,
        table: str,
        item: dict[str, Any],
        condition: str | None = None,
        values: dict[str, Any] | None = None,
        names: dict[str, str] | None = None,
    ) -> int:
        op: dict[str, Any] = {"TableName": table, "Item": serialize(item)}
        return self._add("Put", op, condition, values, names)

    def update(
        self,
        table: str,
        key: dict[str, Any],
        expression: str,
        condition: str | None = None,
        values: dict[str, Any] | None = None,
        names: dict[str, str] | None = None,
    ) -> int:
        op = {"TableName": table, "Key": serialize(key), "UpdateExpression": expression}
        return self._add("Update", op, condition, values, names)

    def check(
        self,
        table: str,
        key: dict[str, Any],
        condition: str,
        values: dict[str, Any] | None = None,
        names: dict[str, str] | None = None,
    ) -> int:
        return self._add(
            "ConditionCheck", {"TableName": table, "Key": serialize(key)}, condition, values, names
        )

    def delete(self, table: str, key: dict[str, Any], condition: str | None = None) -> int:
        return self._add(
            "Delete", {"TableName": table, "Key": serialize(key)}, condition, None, None
        )

    def _add(
        self,
        kind: str,
        op: dict[str, Any],
        condition: str | None,
        values: dict[str, Any] | None,
        names: dict[str, str] | None,
    ) -> int:
        if condition:
            op["ConditionExpression"] = condition
        if values:
            op["ExpressionAttributeValues"] = serialize(values)
        if names:
            op["ExpressionAttributeNames"] = names
        self.operations.append({kind: op})
        return len(self.operations) - 1

    def commit(self) -> None:
        if len(self.operations) > 100:
            raise ValueError("a transaction holds at most 100 operations")
        try:
            client("dynamodb").transact_write_items(TransactItems=self.operations)
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = [r.get("Code", "None") for r in error.response.get("CancellationReasons", [])]
            if not reasons:
                reasons = _reasons_from_message(error.response["Error"].get("Message", ""))
            raise TransactionFailed(reasons) from None


def conditionally(write: Callable[[], object]) -> bool:
    """One conditional write (``put_item``/``update_item`` with a ``ConditionExpression``):
    False when its condition did not hold (another delivery or request got there first), any
    other error raised."""
    try:
        write()
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        return False
    return True


def _reasons_from_message(message: str) -> list[str]:
    # "Transaction cancelled, please refer cancellation reasons for specific reasons
    #  [None, ConditionalCheckFailed]"
    if "[" not in message:
        return []
    inner = message[message.rindex("[") + 1 : message.rindex("]")]
    return [part.strip() for part in inner.split(",")]


# Paging cursors are signed (HMAC-SHA256, 128-bit tag): a cursor is handed back to DynamoDB as
# ExclusiveStartKey, so one the API did not give out must be refused before it gets there.
_CURSOR_KEY_ITEM = {"pk": "CONFIG#cursor-key", "sk": "CONFIG"}
_cursor_key: bytes | None = None


def cursor_key() -> bytes:
    """``AILAS_CURSOR_KEY`` when set; otherwise a random key kept in the registry table (written
    once, conditionally, so every API instance of a stage signs with the same key)."""
    global _cursor_key
    if _cursor_key is None:
        configured = get_settings().cursor_key
        if configured is not None:
            _cursor_key = hashlib.sha256(configured.get_secret_value().encode()).digest()
        else:
            table = registry()
            conditionally(
                lambda: table.put_item(
                    Item={**_CURSOR_KEY_ITEM, "key": secrets.token_hex(32)},
                    ConditionExpression="attribute_not_exists(pk)",
                )
            )
            item = table.get_item(Key=_CURSOR_KEY_ITEM, ConsistentRead=True)["Item"]
            _cursor_key = bytes.fromhex(item["key"])
    return _cursor_key


def forget_cursor_key() -> None:
    """Tests and the local stack start new tables: read the key again."""
    global _cursor_key
    _cursor_key = None


def _tag(payload: bytes) -> str:
    digest = hmac.new(cursor_key(), payload, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def encode_cursor(key: dict[str, Any] | None, scope: str = "") -> str | None:
    """A page's continuation, signed together with ``scope`` (the query it continues): a
    cursor of one list replayed on another is refused (DynamoDB answers a start key outside the
    query's partition with a ValidationException, a 500 had it reached it)."""
    if not key:
        return None
    raw = json.dumps(from_dynamo(key), separators=(",", ":"), sort_keys=True).encode()
    payload = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return f"{payload}.{_tag(scope.encode() + b'\n' + payload.encode())}"


def query_scope(index: str | None, condition: ConditionBase) -> str:
    """The identity of a query for its cursors: index and key condition with its values."""
    from boto3.dynamodb.conditions import ConditionExpressionBuilder

    built = ConditionExpressionBuilder().build_expression(condition, is_key_condition=True)
    names = json.dumps(built.attribute_name_placeholders, sort_keys=True)
    values = json.dumps(built.attribute_value_placeholders, sort_keys=True, default=str)
    return f"{index}|{built.condition_expression}|{names}|{values}"


def decode_cursor(cursor: str | None, scope: str = "") -> dict[str, Any] | None:
    if not cursor:
        return None
    payload, _, tag = cursor.partition(".")
    if (
        len(cursor) > 2048
        or not payload.isascii()
        or not tag.isascii()
        or not hmac.compare_digest(
            tag.encode(), _tag(scope.encode() + b"\n" + payload.encode()).encode()
        )
    ):
        raise _bad_cursor()
    try:
        padded = payload + "=" * (-len(payload) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        raise _bad_cursor() from None
    if not isinstance(key, dict) or not all(isinstance(v, str | int) for v in key.values()):
        raise _bad_cursor()
    return key


def _bad_cursor() -> BadRequest:
    return BadRequest("The cursor is not one this API gave out.", code="invalid_cursor")


def ascii_int(raw: str | None, name: str, minimum: int, maximum: int, code: str) -> int | None:
    """A query-string integer: ASCII digits only (``str.isdigit`` also takes '²' and '٣', which
    ``int`` then refuses or reads), at most 18 of them, within [minimum, maximum]."""
    if raw is None:
        return None
    text = raw.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 18) or not (
        minimum <= int(text) <= maximum
    ):
        raise BadRequest(f"{name} must be an integer from {minimum} to {maximum}.", code=code)
    return int(text)


def page_limit(raw: str | None, default: int = 50, maximum: int = 200) -> int:
    value = ascii_int(raw, "limit", 1, maximum, "invalid_limit")
    return default if value is None else value


# --- the repository of the registry table -------------------------------------------------


def get(key: Key, *, consistent: bool = True) -> Item | None:
    item = registry().get_item(Key=key, ConsistentRead=consistent).get("Item")
    return from_dynamo(item) if item else None


def get_many(keys: Iterable[Key]) -> list[Item]:
    """The items that exist of ``keys`` (BatchGetItem, 100 keys a call, consistent reads):
    one round trip per hundred items instead of one per item."""
    wanted = list({(k["pk"], k["sk"]): k for k in keys}.values())
    table = get_settings().registry_table
    found: list[Item] = []
    for start in range(0, len(wanted), 100):
        request: dict[str, Any] = {
            table: {
                "Keys": [serialize(k) for k in wanted[start : start + 100]],
                "ConsistentRead": True,
            }
        }
        while request:
            reply = client("dynamodb").batch_get_item(RequestItems=request)
            found += [deserialize(i) for i in reply.get("Responses", {}).get(table, [])]
            request = reply.get("UnprocessedKeys") or {}
    return found


@dataclass(frozen=True)
class Entity:
    """One kind of registry item: how its key is built from its id, and the not-found error a
    missing one raises (``No <noun> <id>.``, code ``not_found``)."""

    noun: str
    key: Callable[[str], Key]
    not_found: str

    def get(self, ident: str, *, consistent: bool = True) -> Item | None:
        return get(self.key(ident), consistent=consistent)

    def require(self, ident: str) -> Item:
        item = self.get(ident)
        if item is None:
            raise self.missing(ident)
        return item

    def missing(self, ident: str) -> NotFound:
        return NotFound(f"No {self.noun} {ident}.", code=self.not_found)

    def get_many(self, idents: Iterable[str]) -> dict[str, Item]:
        """The existing items of ``idents``, by id, in the order of ``idents``."""
        wanted = list(dict.fromkeys(idents))
        found = {(i["pk"], i["sk"]): i for i in get_many(self.key(i) for i in wanted)}
        pairs = ((i, self.key(i)) for i in wanted)
        return {i: found[(k["pk"], k["sk"])] for i, k in pairs if (k["pk"], k["sk"]) in found}


def _query_args(
    condition: ConditionBase, index: str | None, forward: bool, filter_: ConditionBase | None
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"KeyConditionExpression": condition, "ScanIndexForward": forward}
    if index:
        kwargs["IndexName"] = index
    if filter_ is not None:
        kwargs["FilterExpression"] = filter_
    return kwargs


def query_page(
    condition: ConditionBase,
    *,
    limit: int,
    cursor: str | None,
    index: str | None = "gsi1",
    forward: bool = True,
    filter_: ConditionBase | None = None,
    table: Any = None,
) -> Page:
    """One page of a query (of the registry, or ``table``), continued from a signed cursor;
    the next cursor or None."""
    kwargs = _query_args(condition, index, forward, filter_) | {"Limit": limit}
    scope = query_scope(index, condition)
    if start := decode_cursor(cursor, scope):
        kwargs["ExclusiveStartKey"] = start
    page = (table or registry()).query(**kwargs)
    return (
        [from_dynamo(i) for i in page.get("Items", [])],
        encode_cursor(page.get("LastEvaluatedKey"), scope),
    )


def query_all(
    condition: ConditionBase,
    *,
    index: str | None = None,
    consistent: bool = False,
    forward: bool = True,
    filter_: ConditionBase | None = None,
) -> list[Item]:
    """Every item of a query, all pages."""
    kwargs = _query_args(condition, index, forward, filter_)
    if consistent:
        kwargs["ConsistentRead"] = True
    items: list[Item] = []
    while True:
        page = registry().query(**kwargs)
        items += [from_dynamo(i) for i in page.get("Items", [])]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def scan_all(filter_: ConditionBase) -> list[Item]:
    """Every item that passes ``filter_``: a scan of the whole table, for operator jobs only."""
    kwargs: dict[str, Any] = {"FilterExpression": filter_}
    items: list[Item] = []
    while True:
        page = registry().scan(**kwargs)
        items += [from_dynamo(i) for i in page.get("Items", [])]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def markers(pk: str, kind: str) -> list[Item]:
    """The markers of ``kind`` (shared/keys.py) under the partition ``pk``."""
    from boto3.dynamodb.conditions import Key as K

    return query_all(K("pk").eq(pk) & K("sk").begins_with(kind))


@dataclass(frozen=True)
class Guard:
    """The condition of a transition: ``field`` holds one of ``allowed`` (as read), or the
    alternative condition ``otherwise`` holds (an expression and its values)."""

    field: str
    allowed: tuple[Any, ...]
    otherwise: tuple[str, dict[str, Any]] | None = None

    def render(self) -> tuple[str, dict[str, Any], dict[str, str]]:
        values = {f":guard{i}": v for i, v in enumerate(self.allowed)}
        condition = "#guard IN (" + ", ".join(values) + ")"
        if self.otherwise:
            condition = f"({condition}) OR ({self.otherwise[0]})"
            values |= self.otherwise[1]
        return condition, values, {"#guard": self.field}


def transition(
    key: Key,
    changes: dict[str, Any],
    *,
    guard: Guard,
    event: Event,
    tx: Transaction | None = None,
    conflict: ApiError | None = None,
) -> Item:
    """Change one item if ``guard`` holds, with the operations of ``tx`` and the event's audit
    entry, in one transaction. The item's update is operation 0, so a lost race is
    ``TransactionFailed.failed_at(0)`` (or ``conflict`` when given). Returns the audit entry."""
    from shared import audit  # audit builds on this module

    expression, names, values = set_fields(changes)
    condition, guard_values, guard_names = guard.render()
    transaction = Transaction()
    transaction.update(
        get_settings().registry_table,
        key,
        expression,
        condition,
        values | guard_values,
        names | guard_names,
    )
    transaction.operations += tx.operations if tx else []
    return audit.commit(transaction, event, conflict=conflict)


@contextlib.contextmanager
def passed_over_if_changed(kind: str, ident: str) -> Iterator[None]:
    """One item of a scheduled sweep: changed by someone else meanwhile (a lost conditional
    write, a domain conflict), it is passed over, and the sweep goes on to the others; the
    next run, or the change's own event, sees it again. Anything else stops the sweep."""
    try:
        yield
    except (TransactionFailed, Conflict) as error:
        logger.warning("changed meanwhile, passed over", extra={kind: ident, "why": str(error)})
