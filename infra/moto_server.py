"""The local stack's moto server, made faithful to DynamoDB in two ways.

- Atomic writes: moto checks a write's condition and applies it without a lock, so two
  concurrent conditional writes could both succeed; here each write and each transaction is
  applied under one lock, as DynamoDB serialises them, and reads take it too, so none sees a
  cancelled transaction half applied or half undone.
- Speed: moto backs up *every* table it touches before each transaction action (a deep copy,
  O(table) per action), which makes 100-update transactions on the fingerprint index take
  seconds; here only the items a transaction touches are backed up and restored on failure.
- Speed: moto answers a Query on a table's own key by sorting *every* item of the table
  (O(n log n) per request), which makes the fingerprint index unusable past a few thousand
  items. Here a base-table Query reads only the items of its partition; results are identical
  (the same filters and ordering follow).
- Its access log keeps only the requests moto failed (5xx): a line for every call (the worker
  polls SQS all day) filled moto.log and spent moto's time in the log's lock.
"""

from __future__ import annotations

import copy
import inspect
import logging
import threading
from typing import Any

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.dynamodbstreams.models import DynamoDBStreamsBackend
from moto.server import main

_original_query = Table.query
_query_signature = inspect.signature(_original_query)
_original_all_items = Table.all_items
_scope = threading.local()  # the partition the current thread's Query is reading


def _all_items(self: Table) -> Any:
    partition = getattr(_scope, "partition", None)
    if partition is None or partition[0] is not self:
        return _original_all_items(self)
    items = partition[1]
    if items is None:
        return []
    if self.range_key_attr:
        return sorted(items.values(), key=lambda item: item.range_key)
    return [items]


def _query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    # bound by name against moto's own signature: a reordered parameter cannot be misread
    call = _query_signature.bind(self, hash_key, *args, **kwargs).arguments
    index_name = call.get("index_name")
    conditions = call.get("hash_key_conditions") or []
    key = hash_key
    if key is None and len(conditions) == 1 and conditions[0][0] == self.hash_key_attr:
        key = conditions[0][1]
    if index_name is not None or key is None:
        return _original_query(self, hash_key, *args, **kwargs)
    _scope.partition = (self, self.items.get(key))
    try:
        return _original_query(self, hash_key, *args, **kwargs)
    finally:
        _scope.partition = None


def _serialised(method: Any) -> Any:
    """DynamoDB applies each write (and each transaction) atomically; moto checks conditions
    and writes without a lock, so two concurrent conditional writes could both succeed."""

    def locked(*args: Any, **kwargs: Any) -> Any:
        with _writes:
            return method(*args, **kwargs)

    return locked


class _TableCopies:
    """``copy`` as moto's DynamoDB backend sees it: a whole-table backup is skipped (the
    transaction backs up the items it touches instead); every other copy is a real one."""

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


_original_transact = DynamoDBBackend.transact_write_items


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """moto applies a transaction's writes one by one and, on a failed condition, undoes them;
    DynamoDB writes none. So the items are restored, and the stream records the attempt and its
    undoing appended are dropped: a cancelled transaction emits nothing (stream reads take the
    same lock, so no reader sees them in between)."""
    backups = []
    streams = {
        shard: len(shard.items)
        for shard in {
            getattr(self.get_table(next(iter(e.values()))["TableName"]), "stream_shard", None)
            for e in transact_items
        }
        if shard is not None
    }
    for entry in transact_items:
        op = next(iter(entry.values()))
        table = self.get_table(op["TableName"])
        key = op.get("Key") or {
            a: op["Item"][a] for a in (table.hash_key_attr, table.range_key_attr) if a
        }
        before = self.get_item(op["TableName"], key)
        backups.append((op["TableName"], key, copy.deepcopy(before)))
    try:
        _original_transact(self, transact_items)
    except Exception:
        for table_name, key, before in backups:
            if self.get_item(table_name, key) is not None:
                self.delete_item(table_name, key)
            if before is not None:
                self.put_item(table_name, before.to_json()["Attributes"])
        for shard, length in streams.items():
            del shard.items[length:]
        raise


dynamodb_models.copy = _TableCopies  # type: ignore[assignment]
DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
_writes = threading.RLock()
# Reads take the lock too: moto applies a cancelled transaction's writes before undoing them
# (and the undoing deletes and puts each item back), so a read in between would see an item
# changed or missing that DynamoDB never changed (seen as a 404 for an existing AI system while
# twelve label applications raced).
_READS = ("get_item", "batch_get_item", "query", "scan", "transact_get_items")
for _name in ("put_item", "update_item", "delete_item", "transact_write_items", *_READS):
    setattr(DynamoDBBackend, _name, _serialised(getattr(DynamoDBBackend, _name)))
DynamoDBStreamsBackend.get_records = _serialised(DynamoDBStreamsBackend.get_records)  # type: ignore[method-assign]

Table.all_items = _all_items  # type: ignore[method-assign]
Table.query = _query  # type: ignore[method-assign]


class _ServerFailuresOnly(logging.Filter):
    """werkzeug logs each request as ('"<request line>" %s %s', code, size) at INFO; other
    records (the start banner, errors) pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        if record.levelno != logging.INFO or len(args) != 3:
            return True
        return str(args[1]).startswith("5")


logging.getLogger("werkzeug").addFilter(_ServerFailuresOnly())

if __name__ == "__main__":
    main()
