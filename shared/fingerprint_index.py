"""The fingerprint index in DynamoDB, shaped for the tracing query path.

One item per (hash, voice): ``pk = "<algorithm>#<hash:08x>"``, ``sk = <voice_no>``, ``t`` = the
anchor times (frames, uint32 little-endian) at which the voice has that hash. A query therefore
costs one Query per distinct query hash: bounded by the query's length and independent of the
registry's size: each hash reads one page (1 MB) of its partition, so a hash shared by very
many voices (one that says little about any of them) is truncated rather than paged. The algorithm
version is part of the key, so an index for a new version is built beside the old one.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shared.audio.keyed_match import Postings
from shared.aws import client
from shared.settings import get_settings

BATCH = 25  # BatchWriteItem's limit


def is_keyed(algorithm: str) -> bool:
    """Whether an algorithm's keys are specific enough for the keyed layout (below)."""
    from shared.audio import keyed

    return algorithm == keyed.ALGORITHM_VERSION


def index_for(algorithm: str) -> DynamoIndex | KeyedIndex:
    """The matcher's lookup for an algorithm's layout."""
    return KeyedIndex(algorithm) if is_keyed(algorithm) else DynamoIndex(algorithm)


def partition(algorithm: str, hash_value: int) -> str:
    return f"{algorithm}#{int(hash_value):08x}"


def postings(hashes: np.ndarray, times: np.ndarray) -> dict[int, np.ndarray]:
    """hash -> sorted anchor times."""
    order = np.lexsort((times, hashes))
    hashes, times = hashes[order], times[order]
    unique, starts = np.unique(hashes, return_index=True)
    return {
        int(h): times[s:e].astype("<u4")
        for h, s, e in zip(unique, starts, [*starts[1:], len(hashes)], strict=True)
    }


@dataclass
class WriteStats:
    items: int = 0
    requests: int = 0
    retries: int = 0
    bytes: int = 0


def write(
    voice_no: str, algorithm: str, hashes: np.ndarray, times: np.ndarray, max_attempts: int = 10
) -> WriteStats:
    """Write a voice's postings in its algorithm's layout (per voice: BatchWriteItem, retrying
    unprocessed items with backoff; keyed: see ``write_keyed``)."""
    if is_keyed(algorithm):
        return write_keyed(voice_no, algorithm, hashes, times, max_attempts=max_attempts)
    table = get_settings().fingerprint_table
    ddb = client("dynamodb")
    stats = WriteStats()
    requests: list[dict[str, Any]] = [
        {
            "PutRequest": {
                "Item": {
                    "pk": {"S": partition(algorithm, h)},
                    "sk": {"S": voice_no},
                    "t": {"B": t.tobytes()},
                }
            }
        }
        for h, t in postings(hashes, times).items()
    ]
    stats.items = len(requests)
    stats.bytes = sum(len(r["PutRequest"]["Item"]["t"]["B"]) + 30 for r in requests)
    for start in range(0, len(requests), BATCH):
        pending = requests[start : start + BATCH]
        for attempt in range(max_attempts):
            stats.requests += 1
            reply = ddb.batch_write_item(RequestItems={table: pending})
            pending = reply.get("UnprocessedItems", {}).get(table, [])
            if not pending:
                break
            stats.retries += 1
            time.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.0))
        else:
            raise RuntimeError(f"{len(pending)} index items stayed unprocessed")
    return stats


def delete(voice_no: str, algorithm: str, hashes: Iterable[int]) -> int:
    table = get_settings().fingerprint_table
    keys = [{"pk": {"S": partition(algorithm, h)}, "sk": {"S": voice_no}} for h in set(hashes)]
    ddb = client("dynamodb")
    for start in range(0, len(keys), BATCH):
        pending = [{"DeleteRequest": {"Key": k}} for k in keys[start : start + BATCH]]
        while pending:
            pending = (
                ddb.batch_write_item(RequestItems={table: pending})
                .get("UnprocessedItems", {})
                .get(table, [])
            )
    return len(keys)


@dataclass
class LookupStats:
    requests: int = 0
    items: int = 0
    hashes: int = 0
    truncated: int = 0
    voices: set[str] = field(default_factory=set)


class DynamoIndex:
    """The postings lookup the matcher needs, backed by the fingerprint table."""

    def __init__(self, algorithm: str, threads: int = 8) -> None:
        self.algorithm = algorithm
        self.threads = threads
        self.stats = LookupStats()

    def _query(self, hash_value: int) -> list[tuple[int, str, np.ndarray]]:
        # The low-level client: boto3 clients are thread-safe, resources are not.
        ddb = client("dynamodb")
        kwargs: dict[str, Any] = {
            "TableName": get_settings().fingerprint_table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": partition(self.algorithm, hash_value)}},
        }
        page = ddb.query(**kwargs)
        self.stats.requests += 1
        found = [
            (hash_value, item["sk"]["S"], np.frombuffer(item["t"]["B"], dtype="<u4"))
            for item in page.get("Items", [])
        ]
        # One page (1 MB, ~19,000 voices) per hash, whatever the registry's size: a hash
        # shared by more voices than that carries almost no evidence of any one of them.
        if "LastEvaluatedKey" in page:
            self.stats.truncated += 1
        return found

    def lookup(self, hashes: np.ndarray) -> Iterator[tuple[int, str, int]]:
        """(hash, voice_no, voice_time) for every posting of every distinct hash."""
        distinct = [int(h) for h in np.unique(hashes)]
        self.stats.hashes += len(distinct)
        with ThreadPoolExecutor(self.threads) as pool:
            for found in pool.map(self._query, distinct):
                for hash_value, voice_no, times in found:
                    self.stats.items += 1
                    self.stats.voices.add(voice_no)
                    for t in times:
                        yield hash_value, voice_no, int(t)


# --- The keyed layout (algorithms whose keys carry enough bits to be read by key) -----------
#
# One item per key: ``pk = "<algorithm>#<key:010x>"``, ``sk = "k"``, ``p`` = a string set of the
# key's postings, "<voice_no>:<frame hex>". A query reads its keys with BatchGetItem, 100 a
# request, so its cost is bounded by the query, not the registry. A voice is written with
# TransactWriteItems of 100 set-ADD updates (postings land in shared items without a read, and a
# retried request adds nothing twice). A key whose set reaches CAP postings says little about any
# voice: it is stop-listed (``s`` set, ``p`` removed) and reads skip it.

KEYED_SK = "k"
CAP = 1024  # postings per key
BATCH_GET = 100  # BatchGetItem's limit
TRANSACT = 100  # TransactWriteItems' limit


def keyed_partition(algorithm: str, key: int) -> str:
    return f"{algorithm}#{int(key):010x}"


def _elements(voice_no: str, times: np.ndarray) -> list[str]:
    return [f"{voice_no}:{int(t):x}" for t in times]


def parse_elements(elements: Iterable[str]) -> tuple[list[str], list[int]]:
    """A keyed item's postings as ``_elements`` wrote them → (voices, anchor frames)."""
    voices: list[str] = []
    frames: list[int] = []
    for element in elements:
        voice_no, _, frame = element.rpartition(":")
        voices.append(voice_no)
        frames.append(int(frame, 16))
    return voices, frames


def _add_action(table: str, algorithm: str, key: int, elements: list[str]) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": table,
            "Key": {"pk": {"S": keyed_partition(algorithm, key)}, "sk": {"S": KEYED_SK}},
            "UpdateExpression": "ADD p :p",
            "ConditionExpression": "attribute_not_exists(s) AND "
            "(attribute_not_exists(p) OR size(p) < :cap)",
            "ExpressionAttributeValues": {":p": {"SS": elements}, ":cap": {"N": str(CAP)}},
            # a key that is full returns its item: a stop marker is written only the first time
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def _stop(table: str, key: dict[str, Any]) -> None:
    """Mark a full key stop-listed and drop its postings (reads skip it from now on)."""
    client("dynamodb").update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET s = :one REMOVE p",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )


def _transact(actions: list[dict[str, Any]], max_attempts: int) -> tuple[int, int]:
    """One TransactWriteItems of up to 100 updates; keys that are full are stop-listed and
    left out, conflicts and throttling retried with backoff. (requests, retries)"""
    ddb = client("dynamodb")
    for attempt in range(max_attempts):
        if not actions:
            return attempt, max(0, attempt - 1)
        try:
            ddb.transact_write_items(TransactItems=actions)
            return attempt + 1, attempt
        except ddb.exceptions.TransactionCanceledException as error:
            reasons = error.response.get("CancellationReasons", [])
            full = {i for i, r in enumerate(reasons) if r.get("Code") == "ConditionalCheckFailed"}
            for i in sorted(full):
                if "s" not in reasons[i].get("Item", {}):
                    _stop(actions[i]["Update"]["TableName"], actions[i]["Update"]["Key"])
            actions = [a for i, a in enumerate(actions) if i not in full]
        time.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.0))
    raise RuntimeError(f"{len(actions)} index updates stayed unapplied")


def write_keyed(
    voice_no: str,
    algorithm: str,
    hashes: np.ndarray,
    times: np.ndarray,
    threads: int = 8,
    max_attempts: int = 10,
) -> WriteStats:
    """Add a voice's postings to the keyed index, 100 keys per request, ``threads`` at once."""
    table = get_settings().fingerprint_table
    actions = [
        _add_action(table, algorithm, key, _elements(voice_no, t))
        for key, t in postings(hashes, times).items()
    ]
    stats = WriteStats(items=len(actions), bytes=len(voice_no) * len(hashes) + 4 * len(hashes))
    chunks = [actions[i : i + TRANSACT] for i in range(0, len(actions), TRANSACT)]
    with ThreadPoolExecutor(threads) as pool:
        for requests, retries in pool.map(lambda c: _transact(c, max_attempts), chunks):
            stats.requests += requests
            stats.retries += retries
    return stats


class KeyedIndex:
    """The matcher's lookup on the keyed layout: BatchGetItem, 100 keys a request."""

    def __init__(self, algorithm: str, threads: int = 8) -> None:
        self.algorithm = algorithm
        self.threads = threads
        self.stats = LookupStats()

    def _get(self, keys: list[int]) -> list[tuple[int, list[str]]]:
        ddb = client("dynamodb")
        table = get_settings().fingerprint_table
        by_pk = {keyed_partition(self.algorithm, k): k for k in keys}
        wanted: dict[str, Any] = {
            table: {
                "Keys": [{"pk": {"S": pk}, "sk": {"S": KEYED_SK}} for pk in by_pk],
                "ProjectionExpression": "pk, p, s",
            }
        }
        found: list[tuple[int, list[str]]] = []
        for attempt in range(10):
            reply = ddb.batch_get_item(RequestItems=wanted)
            self.stats.requests += 1
            for item in reply.get("Responses", {}).get(table, []):
                if "s" in item:
                    self.stats.truncated += 1  # stop-listed: too common to be evidence
                    continue
                found.append((by_pk[item["pk"]["S"]], item.get("p", {}).get("SS", [])))
            wanted = reply.get("UnprocessedKeys") or {}
            if not wanted:
                return found
            time.sleep(min(1.0, 0.02 * 2**attempt))
        raise RuntimeError("index reads stayed unprocessed")

    def lookup(self, hashes: np.ndarray) -> Postings:
        """Every posting of every distinct key, as columns (key, voice, registered frame)."""
        distinct = [int(h) for h in np.unique(hashes)]
        self.stats.hashes += len(distinct)
        chunks = [distinct[i : i + BATCH_GET] for i in range(0, len(distinct), BATCH_GET)]
        keys: list[int] = []
        voices: list[str] = []
        frames: list[int] = []
        with ThreadPoolExecutor(self.threads) as pool:
            for found in pool.map(self._get, chunks):
                for key, elements in found:
                    self.stats.items += 1
                    keys.extend([key] * len(elements))
                    item_voices, item_frames = parse_elements(elements)
                    voices.extend(item_voices)
                    frames.extend(item_frames)
        self.stats.voices.update(voices)
        return Postings.of_columns(keys, voices, frames)
