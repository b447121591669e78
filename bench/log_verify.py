"""The logs' verification cost: canonical hashing alone, `verify-audit`'s walk over DynamoDB (moto
in-process), and `ailas log verify` over the API (Chalice's test client): the first full mirror,
then a later run with a few new entries.

    .venv/bin/python bench/log_verify.py [--entries 300]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.update(
    {
        "AILAS_STAGE": "local",
        "AWS_DEFAULT_REGION": "ap-northeast-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }
)

SUMMARY = {"member_id": "M-0000-0000-0", "display_name": "声優 花子", "status": "active"}


def timed(fn: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=300)
    n = parser.parse_args().entries

    from chalice.test import Client
    from moto import mock_aws

    import infra.moto_server  # noqa: F401 - the local stack's faithful moto
    from ailas import log as transparency
    from infra.provision import Provisioner
    from shared import audit, checkpoints
    from shared.formats import canonical
    from tests.http import chalice_api

    entry = {"chain": "public", "seq": 1, "prev_hash": "0" * 64, "at": "2026-01-01T00:00:00Z",
             "actor": "M-0000-0000-0", "action": "member.approved", "subject": "member:M-0",
             "summary": SUMMARY}  # fmt: skip
    _, hashing = timed(lambda: [canonical.entry_hash(entry) for _ in range(20000)])
    rows = [("canonical hash of a public entry", f"{20000 / hashing:,.0f} entries/s")]

    with mock_aws():
        Provisioner(None, "ap-northeast-1", "local").run()  # type: ignore[arg-type]
        from app import app

        def write(count: int) -> None:
            for i in range(count):
                event = audit.Event("M-BENCH", "member.approved", f"member:{i}", SUMMARY,
                                    data={"from": "pending", "to": "active",
                                          "kind": "performer"}, public=SUMMARY)  # fmt: skip
                audit.commit(None, event)

        _, writing = timed(lambda: write(n))
        checkpoints.create_all()
        rows.append(("entries written (audit + public twin, moto)", f"{n:,} in {writing:.1f} s"))
        walker, walking = timed(lambda: audit.walk(audit.PUBLIC))
        assert not walker.problems
        rows.append(("verify-audit walk, one chain", f"{n / walking:,.0f} entries/s"))
        with Client(app, stage_name="local") as client, tempfile.TemporaryDirectory() as tmp:
            api = chalice_api(client)

            class Source:
                def get(self, path: str) -> Any:
                    return api.get(path).json

            mirror = Path(tmp) / "mirror.jsonl"
            report, first = timed(lambda: transparency.verify(Source(), mirror, "http://bench"))
            assert report.ok and report.size == n
            rows.append(
                ("ailas log verify, first run (full mirror)", f"{n / first:,.0f} entries/s")
            )
            write(10)
            report, later = timed(lambda: transparency.verify(Source(), mirror, "http://bench"))
            assert report.ok and report.new_entries == 10
            rows.append(("ailas log verify, later run (10 new entries)", f"{later * 1000:.0f} ms"))
            rows.append(("mirror size", f"{mirror.stat().st_size / n:,.0f} B per entry"))

    width = max(len(r[0]) for r in rows)
    print(f"| {'measure':<{width}} | value |\n|{'-' * (width + 2)}|-------|")
    for name, value in rows:
        print(f"| {name:<{width}} | {value} |")


if __name__ == "__main__":
    main()
