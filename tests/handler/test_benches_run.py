"""The README quotes figures from bench/ scripts with the commands that print them. Two of them
had stopped running on the code (a rule grew stricter, an event's fields were declared) while
their figures stayed quoted: the quick ones run here, at a small size, to their table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("script", "args", "row"),
    [
        ("bench/verify_speed.py", [], "DynamoDB requests per verification"),
        ("bench/log_verify.py", ["--entries", "20"], "ailas log verify, first run"),
    ],
)
def test_a_quoted_bench_still_prints_its_table(script: str, args: list[str], row: str) -> None:
    done = subprocess.run(
        [sys.executable, script, *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert row in done.stdout and "Traceback" not in done.stderr
