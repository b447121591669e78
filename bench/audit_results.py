"""How the audit_poll worker reads an Athena result: the CSV streamed from S3 (engine.result_rows)
against the same rows held in a list (what reading every GetQueryResults page into memory did).

A moto server (infra/moto_server.py) on a free port stands in for S3, so the body really comes
over HTTP in chunks. Prints, per result size, the CSV's size, rows per second and the Python heap's
peak (tracemalloc) while the rows are consumed. With --scored N, a result of N rows shaped like
the audit's (rows grouped by file, voice and tempo factor; votes, background bins and anchor
times) is scored as the audit_poll worker scores a result within one range (score.scored over
engine.result_rows), then as K byte ranges (--ranges K, shared/audits/ranges.py: what K
invocations score side by side), each range timed alone; per scoring its rows, seconds and rows
scored per second are printed, and the ranges' matches are checked to be exactly the whole's.

    .venv/bin/python bench/audit_results.py [--rows 100000 1000000]
    .venv/bin/python bench/audit_results.py --scored 1000000 --ranges 4
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
from typing import Any

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
    parser.add_argument("--scored", type=int, default=0, help="score a grouped result of N rows")
    parser.add_argument("--ranges", type=int, default=4, help="with --scored: as K byte ranges")
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
        _bucket()
        if args.scored:
            _run_scored(args.scored, args.ranges)
        else:
            _run(args.rows)
    finally:
        moto.terminate()
        moto.wait(timeout=10)


def _bucket() -> None:
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


def _run(sizes: list[int]) -> None:
    from shared.audits import engine
    from shared.audits.sql import COLUMNS
    from shared.aws import client

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


def _group(rng: random.Random, file_id: int, voice_no: str, names: tuple[str, ...]) -> list[str]:
    """One (file, voice)'s rows as the audit SQL returns them: per tempo factor kept, its best
    bin pair's votes (query and registered anchor), with the evidence repeated on each row. One
    group in five is a copy (many votes over a quiet background), the rest chance."""
    lines, copy = [], rng.random() < 0.2
    for tempo_id in sorted(rng.sample(range(13), rng.randint(1, 3))):
        votes = rng.randint(25, 60) if copy else rng.randint(8, 14)
        start, offset = rng.randrange(4000), rng.randrange(50_000)
        qt = sorted(start + rng.randrange(1500) for _ in range(votes))
        bins = [str(rng.randint(1, 4) if copy else rng.randint(5, 12)) for _ in names[8:-2]]
        bins[-1] = ""  # a background bin that is NULL
        evidence = [str(tempo_id), str(votes), str(votes * 30), "60000", "5600", "40", *bins]
        for q in qt:
            values = [str(file_id), voice_no, *evidence, str(q), str(q + offset)]
            lines.append(",".join(f'"{v}"' if v else "" for v in values))
    return lines


def _grouped_csv(path: Path, rows: int, names: tuple[str, ...]) -> None:
    rng = random.Random(11)
    with path.open("w", encoding="utf-8") as out:
        out.write(",".join(f'"{n}"' for n in names) + "\n")
        written, group = 0, 0
        while written < rows:
            voice_no = f"V-{group % 7:04d}-{group:06d}-1"  # ascending within a file
            lines = _group(rng, group // 7, voice_no, names)
            out.write("\n".join(lines) + "\n")
            written, group = written + len(lines), group + 1


def _run_scored(rows: int, ranges: int) -> None:
    from shared.audits import engine, score
    from shared.audits.sql import COLUMNS
    from shared.aws import client

    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "grouped.csv"
        _grouped_csv(path, rows, COLUMNS)
        client("s3").upload_file(str(path), BUCKET, "athena-results/grouped.csv")
        size_mb = path.stat().st_size / 1e6
    location = f"s3://{BUCKET}/athena-results/grouped.csv"
    started = time.perf_counter()
    whole = score.scored(engine.result_rows(location))
    seconds = time.perf_counter() - started
    print(f"result: {whole.rows:,} rows, {size_mb:.0f} MB, {len(whole.matches):,} matches")
    print("| range | bytes | rows | s | rows scored/s | matches |")
    print("|---|---:|---:|---:|---:|---:|")
    print(
        f"| whole (one range) | all | {whole.rows:,} | {seconds:.1f} | "
        f"{whole.rows / seconds:,.0f} | {len(whole.matches):,} |"
    )
    if ranges > 1:
        _run_ranges(location, ranges, whole)


def _run_ranges(location: str, count: int, whole: Any) -> None:
    """The result as ``count`` byte ranges, each scored alone (side by side in AWS: the audit's
    scoring takes about as long as its slowest range, plus the fan-out and the gathering)."""
    from shared.audits import engine, ranges, score

    size = engine.result_size(location)
    found: list[score.FileMatch] = []
    slowest = 0.0
    for part in range(count):
        start, end = ranges.bounds(part, count, size)
        began = time.perf_counter()
        scored = score.scored(ranges.owned(location, part, count, size))
        seconds = time.perf_counter() - began
        slowest = max(slowest, seconds)
        print(
            f"| {part} | {start:,}–{end:,} | {scored.rows:,} | {seconds:.1f} | "
            f"{scored.rows / seconds:,.0f} | {len(scored.matches):,} |"
        )
        found += scored.matches
    assert found == whole.matches, "the ranges' matches differ from the whole's"
    print(f"slowest range {slowest:.1f} s; the ranges' {len(found):,} matches = the whole's")


if __name__ == "__main__":
    main()
