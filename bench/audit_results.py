"""How the audit_poll worker reads an Athena result: the CSV streamed from S3 (engine.result_rows)
against the same rows held in a list (what reading every GetQueryResults page into memory did).

A moto server (infra/moto_server.py) on a free port stands in for S3, so the body really comes
over HTTP in chunks. Prints, per result size, the CSV's size, rows per second and the Python heap's
peak (tracemalloc) while the rows are consumed.

    .venv/bin/python bench/audit_results.py [--rows 100000 1000000]
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BUCKET = "bench-results"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _csv(path: Path, rows: int, names: tuple[str, ...]) -> None:
    """A result shaped like the audit SQL's: quoted values, NULL bins, ordered by file."""
    rng = random.Random(7)
    with path.open("w", encoding="utf-8") as out:
        out.write(",".join(f'"{n}"' for n in names) + "\n")
        for i in range(rows):
            values = [str(i // 500), f"V-{rng.randrange(10**4):04d}-0001-2"]
            values += [str(rng.randrange(1000)) for _ in names[2:]]
            values[-4] = ""  # a background bin that is NULL
            out.write(",".join(f'"{v}"' if v else "" for v in values) + "\n")


def _measure(consume: Callable[[], int]) -> tuple[int, float, float]:
    started = time.perf_counter()
    count = consume()
    seconds = time.perf_counter() - started
    tracemalloc.start()
    consume()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return count, seconds, peak / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    port = _free_port()
    moto = subprocess.Popen(
        [sys.executable, "-m", "infra.moto_server", "-H", "127.0.0.1", "-p", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.environ.update(
        AILAS_AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",  # noqa: S106 - the moto server's dummy credentials
        AWS_DEFAULT_REGION="ap-northeast-1",
    )
    try:
        _run(args.rows)
    finally:
        moto.terminate()
        moto.wait(timeout=10)


def _run(sizes: list[int]) -> None:
    from shared.audits import engine
    from shared.audits.sql import COLUMNS
    from shared.aws import client

    for _ in range(100):  # until the server answers
        try:
            client("s3").create_bucket(
                Bucket=BUCKET,
                CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"},
            )
            break
        except Exception:
            time.sleep(0.1)
    print("| rows | CSV MB | read as | rows/s | heap peak MB |")
    print("|---:|---:|---|---:|---:|")
    for rows in sizes:
        with tempfile.TemporaryDirectory() as work:
            path = Path(work) / "result.csv"
            _csv(path, rows, COLUMNS)
            client("s3").upload_file(str(path), BUCKET, f"athena-results/{rows}.csv")
            size_mb = path.stat().st_size / 1e6
        location = f"s3://{BUCKET}/athena-results/{rows}.csv"
        ways: dict[str, Callable[[], int]] = {
            "stream (result_rows)": lambda at=location: sum(1 for _ in engine.result_rows(at)),
            "list of every row": lambda at=location: len(list(engine.result_rows(at))),
        }
        for way, consume in ways.items():
            count, seconds, peak = _measure(consume)
            assert count == rows
            print(f"| {rows:,} | {size_mb:.0f} | {way} | {rows / seconds:,.0f} | {peak:.1f} |")


if __name__ == "__main__":
    main()
