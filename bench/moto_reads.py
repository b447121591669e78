"""The local stack's index read on moto: stock `moto.server` against the project's
`infra.moto_server`, in one run.

Each server gets the keyed fingerprint layout (pk, sk, a string set of postings) with
``--items`` items; a "query" is what a 5 s trace reads at 100,000 registered hours
(bench/query_cost.py: 74 BatchGetItem of 100 keys), sent 8 at a time as KeyedIndex does.
The servers take turns, round by round, so the machine's noise falls on both.

    .venv/bin/python bench/moto_reads.py [--rounds 5] [--items 7400]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from infra.local_stack import free_port, wait_for_port  # noqa: E402

SERVERS = {"moto.server (stock)": "moto.server", "infra.moto_server": "infra.moto_server"}
TABLE = "bench-index"
REQUESTS, KEYS = 74, 100  # a 5 s query at 100,000 h (bench/query_cost.py)


def start(module: str, port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [sys.executable, "-m", module, "-H", "127.0.0.1", "-p", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout_s=60)
    except RuntimeError:
        server.kill()
        raise
    return server


def dynamodb(port: int) -> Any:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "testing")  # moto accepts any credentials
    return boto3.client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="ap-northeast-1",
        config=Config(max_pool_connections=16, retries={"max_attempts": 1}),
    )


def fill(ddb: Any, items: int) -> None:
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for start_at in range(0, items, 25):
        batch = [
            {
                "PutRequest": {
                    "Item": {
                        "pk": {"S": f"k#{i}"},
                        "sk": {"S": "keyed"},
                        "p": {"SS": [f"V-{i % 97:06d}:{i * 7 + j}" for j in range(4)]},
                    }
                }
            }
            for i in range(start_at, min(items, start_at + 25))
        ]
        ddb.batch_write_item(RequestItems={TABLE: batch})


def query(ddb: Any, items: int) -> int:
    """One trace's reads: REQUESTS BatchGetItem of KEYS keys, 8 at a time; items read."""

    def get(n: int) -> int:
        keys = [
            {"pk": {"S": f"k#{(n * KEYS + k) % items}"}, "sk": {"S": "keyed"}} for k in range(KEYS)
        ]
        reply = ddb.batch_get_item(
            RequestItems={TABLE: {"Keys": keys, "ProjectionExpression": "pk, p"}}
        )
        assert not reply.get("UnprocessedKeys"), "moto left keys unprocessed"
        return len(reply["Responses"][TABLE])

    with ThreadPoolExecutor(8) as pool:
        return sum(pool.map(get, range(REQUESTS)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--items", type=int, default=REQUESTS * KEYS)
    args = parser.parse_args()
    servers, clients = {}, {}
    try:
        for name, module in SERVERS.items():
            port = free_port()
            servers[name] = start(module, port)
            clients[name] = dynamodb(port)
            fill(clients[name], args.items)
            query(clients[name], args.items)  # warm: moto builds its apps on first use
        times: dict[str, list[float]] = {name: [] for name in SERVERS}
        read: dict[str, int] = {}
        for _ in range(args.rounds):
            for name, ddb in clients.items():
                began = time.perf_counter()
                read[name] = query(ddb, args.items)
                times[name].append(time.perf_counter() - began)
    finally:
        for server in servers.values():
            server.kill()
    print(f"{REQUESTS} BatchGetItem x {KEYS} keys per query, {args.items:,} items, 8 threads")
    print(f"{'server':<22}{'median s':>10}{'min s':>8}{'max s':>8}{'ms/request':>12}{'items':>8}")
    for name, values in times.items():
        median = statistics.median(values)
        print(
            f"{name:<22}{median:>10.2f}{min(values):>8.2f}{max(values):>8.2f}"
            f"{1000 * median / REQUESTS:>12.1f}{read[name]:>8}"
        )
    stock, ours = (statistics.median(v) for v in times.values())
    print(f"speed-up (median): {stock / ours:.1f}x")


if __name__ == "__main__":
    main()
