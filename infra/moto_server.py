"""The local stack's moto server, made faithful to DynamoDB and fast enough
for the fingerprint index.

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
- Speed: for every request moto's dispatcher lists its own package directory (~200
  ``isdir`` calls, under the dispatcher's lock, so requests queue behind each other); each
  key of a BatchGetItem looks up its account's backend under a global lock with a linear scan
  of every service's registry; and a batch's keys are checked for duplicates pairwise. A 5 s
  trace's 74 requests of 100 keys spent most of their time there, and the rest projecting
  each item through plain Python and back and writing the reply through moto's shape-driven
  serializer. Here the module list is read once, a known account's backend is returned
  directly (moto's own path still creates and registers a new one), duplicates are found
  with a set, a top-level projection keeps the stored values, and a BatchGetItem's request
  and reply, already DynamoDB's JSON, are read and written with ``json``.
- Speed: moto lexes and parses a write's condition three times and its update expression
  twice, for every update of a 100-update transaction (the index's are all one text); here a
  condition is parsed once per (expression, names, values it reads) and an update expression
  once per text. A voice registers in half the time, and reads wait less on the write lock.
- S3 writes of objects are applied one at a time: moto closed a replaced object's buffer
  before the replacing write's notification read its ETag (two POSTs of one key at once: 500).
- Its access log keeps only the requests moto failed (5xx): a line for every call (the worker
  polls SQS all day) filled moto.log and spent moto's time in the log's lock.
"""

from __future__ import annotations

import copy
import inspect
import json
import logging
import re
import threading
from typing import Any

import moto.backends as moto_backends
import moto.dynamodb.models as dynamodb_models
from moto.core.base_backend import BackendDict
from moto.dynamodb.comparisons import ConditionExpressionParser
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]
from moto.dynamodb.responses import DynamoHandler, DynamoResult
from moto.dynamodbstreams.models import DynamoDBStreamsBackend
from moto.s3.models import S3Backend
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

# S3 applies the writes of one key one after the other. moto closes an object's buffer when a
# new write replaces it, and a write's notification reads its ETag from that buffer afterwards:
# the same file POSTed twice at once answered 500 ("I/O operation on closed file"). Writes of
# objects are applied one at a time here.
_s3_writes = threading.RLock()  # re-entrant: a copy or a multipart completion puts too
_original_put_object = S3Backend.put_object


def _put_object(self: S3Backend, *args: Any, **kwargs: Any) -> Any:
    with _s3_writes:
        return _original_put_object(self, *args, **kwargs)


S3Backend.put_object = _put_object  # type: ignore[method-assign]

Table.all_items = _all_items  # type: ignore[method-assign]
Table.query = _query  # type: ignore[method-assign]


_MOTO_MODULES = frozenset(moto_backends.list_of_moto_modules())
moto_backends.list_of_moto_modules = lambda: _MOTO_MODULES

_original_backend = BackendDict.__getitem__
_registered: set[str] = set()  # the ids of the BackendDicts moto's own path has registered


def _backend(self: BackendDict, account_id: str) -> Any:
    # moto's reset clears both the dict and its registry, so a known account implies registered
    if self._id in _registered and dict.__contains__(self, account_id):
        return dict.__getitem__(self, account_id)
    backend = _original_backend(self, account_id)
    _registered.add(self._id)
    return backend


BackendDict.__getitem__ = _backend  # type: ignore[method-assign]


def _frozen(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def _contains_duplicates(self: DynamoHandler, keys: list[Any]) -> bool:
    """moto compares every key with every other (100 keys: ~5,000 comparisons a request)."""
    try:  # a table key: {name: {type: scalar}}
        distinct = {frozenset((k, frozenset(v.items())) for k, v in key.items()) for key in keys}
    except (AttributeError, TypeError):
        distinct = {_frozen(k) for k in keys}
    return len(distinct) != len(keys)


DynamoHandler._contains_duplicates = _contains_duplicates  # type: ignore[method-assign]

_original_batch_get = DynamoHandler.batch_get_item


def _batch_get_item(self: DynamoHandler) -> Any:
    """A BatchGetItem's result is already DynamoDB's JSON (``{"S": ...}`` values): written with
    ``json.dumps`` instead of moto's shape-driven serializer, which walked every attribute of
    every item and spent half the server's time on a trace's reads. Binary values (bytes,
    which the serializer base64-encodes) keep moto's path. moto sizes each item twice (for
    the 16 MB limit); here once."""
    _scope.sizes = {}
    try:
        result = _original_batch_get(self)
    finally:
        _scope.sizes = None
    if not isinstance(result, DynamoResult):
        return result
    try:
        return json.dumps(result.result)
    except TypeError:
        return result


_original_item_size = Item.size


def _item_size(self: Item) -> int:
    sizes = getattr(_scope, "sizes", None)
    if sizes is None:
        return _original_item_size(self)
    # the item is kept with its size: a freed item's id could be reused by the next one
    if id(self) not in sizes:
        sizes[id(self)] = (self, _original_item_size(self))
    return int(sizes[id(self)][1])


_original_project = Item.project


def _project(self: Item, projection_expressions: list[list[str]]) -> Item:
    """moto projects by converting the whole item to plain Python and back (every posting of
    an index item, for each key of a read); a projection of top-level attributes only takes
    the stored values as they are, which is also what DynamoDB returns."""
    # moto writes a list element as one name with its index ("a[0]"): moto's path resolves it
    if not all(len(path) == 1 and "[" not in path[0] for path in projection_expressions):
        return _original_project(self, projection_expressions)
    names = {path[0] for path in projection_expressions}
    attrs = {name: value for name, value in self.attrs.items() if name in names}
    return Item(hash_key=self.hash_key, range_key=self.range_key, attrs=attrs)


Item.size = _item_size  # type: ignore[method-assign]
Item.project = _project  # type: ignore[method-assign]
DynamoHandler.batch_get_item = _batch_get_item  # type: ignore[method-assign]

_original_parse = DynamoHandler.parse_parameters
_BINARY = re.compile(rb'"BS?"\s*:')  # a binary attribute value, which the parser base64-decodes


def _parse_parameters(self: DynamoHandler, request: Any) -> None:
    """moto parses each request by walking botocore's shapes (every key of a BatchGetItem); a
    BatchGetItem without binary values parses to exactly its JSON."""
    if self._get_action() == "BatchGetItem" and not _BINARY.search(request.data):
        try:
            self.params = json.loads(request.data)
            return
        except ValueError:
            pass  # moto's parser answers a malformed body as it always has
    _original_parse(self, request)


DynamoHandler.parse_parameters = _parse_parameters  # type: ignore[assignment, method-assign]


_original_condition_parse = ConditionExpressionParser.parse
_PARSED_LIMIT = 4096  # distinct (expression, names, values used) kept; cleared when full
_parsed: dict[tuple[Any, ...], tuple[Any, tuple[str, ...], tuple[str, ...]]] = {}
_placeholders: dict[tuple[Any, ...], tuple[str, ...]] = {}  # the values an expression reads


def _parse_key(parser: ConditionExpressionParser, used: tuple[str, ...]) -> tuple[Any, ...] | None:
    """(expression, names, values read), or None where a value is missing or not plain JSON
    (binary): those are parsed by moto each time, and answer as moto does."""
    values = parser.expression_attribute_values or {}
    if not all(p in values for p in used):
        return None
    try:
        return (
            parser.condition_expression,
            json.dumps(parser.expression_attribute_names, sort_keys=True),
            json.dumps([values[p] for p in used], sort_keys=True),
        )
    except TypeError:
        return None


def _condition_parse(self: ConditionExpressionParser) -> Any:
    """moto lexes and parses a write's condition three times (the handler's check, the
    transaction's, update_item's): the index's 100-update transactions spent a quarter of their
    time there, on one expression. A parse depends only on the expression, its names and the
    values it reads, and the condition it returns is evaluated without being changed, so one is
    kept per (expression, names, values read); an expression that fails is parsed each time."""
    shape = (self.condition_expression, repr(self.expression_attribute_names))
    used = _placeholders.get(shape)
    key = None if used is None else _parse_key(self, used)
    kept = None if key is None else _parsed.get(key)  # one read: another thread may clear
    if kept is not None:
        op, names, placeholders = kept
        self.expr_attr_names_found.extend(names)
        self.expr_attr_values_found.extend(placeholders)
        return op
    op = _original_condition_parse(self)
    used = tuple(dict.fromkeys(self.expr_attr_values_found))
    key = _parse_key(self, used)
    if key is not None:
        if len(_parsed) >= _PARSED_LIMIT:
            _parsed.clear()
            _placeholders.clear()
        _placeholders[shape] = used
        _parsed[key] = (op, tuple(self.expr_attr_names_found), tuple(self.expr_attr_values_found))
    return op


_original_update_make = UpdateExpressionParser.make.__func__
_update_trees: dict[str, Any] = {}


def _update_make(cls: Any, expression: str) -> Any:
    """An update expression's syntax tree, parsed once per text: moto's validator works on a
    deep copy of it (``Validator.__init__``), so the parsed tree itself is never changed."""
    tree = _update_trees.get(expression)
    if tree is None:
        tree = _original_update_make(cls, expression)
        if len(_update_trees) >= _PARSED_LIMIT:
            _update_trees.clear()
        _update_trees[expression] = tree
    return tree


ConditionExpressionParser.parse = _condition_parse  # type: ignore[method-assign]
UpdateExpressionParser.make = classmethod(_update_make)


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
