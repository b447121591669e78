"""How fast a label follows consent on the local stack: a performer withdraws TTS → the label
reads ``suspended``; restores it → ``valid``; a contract is revoked → ``suspended``.

    .venv/bin/python bench/label_follow_latency.py [--repeats 5]

Starts the local stack on free ports (as the end-to-end tests do), issues one label over HTTP
and times each change from the write's answer to the label's new status (polled every 50 ms).
The end-to-end test checks that labels follow; this script says how fast.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import start_stack, stop_stack  # noqa: E402
from tests.e2e.test_event_stream import INTENT, WITHDRAWN, issue_label, seconds_until  # noqa: E402
from tests.http import http_api  # noqa: E402
from tests.scenario import Registry  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    repeats = parser.parse_args().repeats
    with tempfile.TemporaryDirectory() as folder:
        stack = start_stack(Path(folder))
        try:
            registry = Registry(http_api(stack.base_url), stack.operator_token)
            times: dict[str, list[float]] = {"withdrawn → suspended": [], "restored → valid": []}
            for n in range(repeats):
                performer, label_no = issue_label(registry, seed=7000 + n)
                intent = f"/v1/performers/{performer.member_id}/intent"
                registry.api.put(intent, WITHDRAWN, token=performer.token)
                times["withdrawn → suspended"].append(
                    seconds_until(registry, label_no, "suspended")
                )
                registry.api.put(intent, INTENT, token=performer.token)
                times["restored → valid"].append(seconds_until(registry, label_no, "valid"))
        finally:
            stop_stack(stack)
    print(f"| change (local stack, {repeats} labels) | median | max |")
    print("|---|---|---|")
    for change, seconds in times.items():
        print(f"| {change} | {statistics.median(seconds):.2f} s | {max(seconds):.2f} s |")


if __name__ == "__main__":
    main()
