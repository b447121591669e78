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

from shared.aws import client
from shared.settings import get_settings

BATCH = 25  # BatchWriteItem's limit


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
    """Write a voice's postings with BatchWriteItem, retrying unprocessed items with backoff."""
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
