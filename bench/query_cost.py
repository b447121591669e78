"""DynamoDB requests per trace query against registries of 1 to 100,000 hours.

(One Query per distinct hash, one page each: the count is the query's, not the registry's;
what grows is the share of very common hashes whose partition is read truncated.)

A registry of a thousand hours cannot be written into moto on a laptop, so its partitions are
simulated from measurements: the hash distribution of an hour of speech (how often each 20-bit
hash value occurs), the items per registered hour, and the item size. A query costs one Query
per distinct hash, plus one more per extra 1 MB page of a partition. A real moto stack with a
small registry confirms the per-hash count (--moto).

    .venv/bin/python bench/query_cost.py [--moto]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared.audio.fingerprint import fingerprint, peaks_of  # noqa: E402
from shared.audio.match import query_hashes  # noqa: E402
from shared.fingerprint_index import postings  # noqa: E402
from tests.unit.audio.speechlike import speechlike  # noqa: E402

SR = 16000
PAGE = 1_000_000  # DynamoDB returns at most 1 MB per Query page
ITEM_BYTES = 53


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--moto", action="store_true", help="also count on a real moto stack")
    args = parser.parse_args()
    # an hour of speech from 60 speakers: how often each hash value gets an item per hour
    items_per_value = np.zeros(1 << 20, dtype=np.float64)
    for seed in range(60):
        hashes, times = fingerprint(speechlike(60, SR, seed=seed), SR)
        for value in postings(hashes, times):
            items_per_value[value] += 1  # one item per (hash, voice)
    items_per_hour = items_per_value.sum()
    queries = [query_hashes(peaks_of(speechlike(5, SR, seed=10_000 + i), SR)) for i in range(20)]
    distinct = [np.unique(np.concatenate([h for _, h, _ in q])) for q in queries]
    print(
        f"items per registered hour: {items_per_hour:,.0f}; "
        f"distinct hashes per 5 s query: {int(np.median([len(d) for d in distinct]))}"
    )
    print(
        f"{'registry':>16s} {'items in a queried partition (mean / max)':>44s} "
        f"{'requests per query':>20s} {'hashes read truncated':>22s}"
    )
    for hours in (1, 10, 100, 1_000, 10_000, 100_000):
        requests, means, maxima, truncated = [], [], [], []
        for values in distinct:
            expected = items_per_value[values] * hours
            # one Query per distinct hash; partitions past one page are read truncated
            requests.append(len(values))
            truncated.append(np.mean(expected * ITEM_BYTES > PAGE))
            means.append(expected.mean())
            maxima.append(expected.max())
        print(
            f"{hours:>12,d} h   {np.mean(means):>20,.1f} / {np.max(maxima):>12,.0f}"
            f"          {np.median(requests):>14,.0f} {100 * np.mean(truncated):>20.2f} %"
        )
    if args.moto:
        moto_count(distinct[0])


def moto_count(values: np.ndarray) -> None:
    """Count the Query requests one lookup makes on moto with a small registry."""
    import os

    from moto import mock_aws

    os.environ.update(
        {
            "AWS_DEFAULT_REGION": "ap-northeast-1",
            "AWS_ACCESS_KEY_ID": "b",
            "AWS_SECRET_ACCESS_KEY": "b",
            "AILAS_STAGE": "local",
        }
    )
    import infra.moto_server  # noqa: F401
    from infra.provision import Provisioner
    from shared.audio.fingerprint import ALGORITHM_VERSION
    from shared.fingerprint_index import DynamoIndex, write

    with mock_aws():
        Provisioner(None, "ap-northeast-1", "local").run()  # type: ignore[arg-type]
        for seed in range(5):
            write(f"V{seed}", ALGORITHM_VERSION, *fingerprint(speechlike(60, SR, seed=seed), SR))
        index = DynamoIndex(ALGORITHM_VERSION)
        found = sum(1 for _ in index.lookup(values))
        print(
            f"moto, 5 min registered: {index.stats.requests} Query requests for "
            f"{len(values)} distinct hashes ({found} postings)"
        )


if __name__ == "__main__":
    main()
