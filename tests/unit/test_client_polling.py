"""``ailas`` waits for a trace or a registration by polling: soon after the upload (a trace is
done within a second of it), then backing off so a long registration costs few requests."""

from __future__ import annotations

from typing import Any

import pytest

from ailas import cli


class _Records:
    def __init__(self, statuses: list[str]) -> None:
        self.statuses = statuses
        self.gets = 0

    def get(self, path: str) -> dict[str, Any]:
        status = self.statuses[min(self.gets, len(self.statuses) - 1)]
        self.gets += 1
        return {"status": status, "path": path}


def _wait(monkeypatch: pytest.MonkeyPatch, statuses: list[str]) -> tuple[dict, list[float], int]:
    pauses: list[float] = []
    monkeypatch.setattr(cli.time, "sleep", pauses.append)
    ctx = cli.Context("http://registry.invalid", None, as_json=True)
    records = _Records(statuses)
    ctx.client = records  # type: ignore[assignment]
    record = cli.wait_for(ctx, "/v1/traces/T-1", ("done", "failed"), timeout_s=600)
    return record, pauses, records.gets


def test_a_quick_result_is_seen_soon(monkeypatch: pytest.MonkeyPatch) -> None:
    record, pauses, gets = _wait(monkeypatch, ["processing", "processing", "done"])
    assert record["status"] == "done" and gets == 3
    assert sum(pauses) <= 0.3  # seen within 0.3 s of the second poll, not a fixed 0.5 s step


def test_a_long_wait_backs_off_to_once_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    record, pauses, gets = _wait(monkeypatch, ["processing"] * 60 + ["done"])
    assert record["status"] == "done" and gets == 61
    assert pauses == sorted(pauses) and max(pauses) == 1.0
    assert sum(pauses) > 45  # 60 polls spread over most of a minute, not 6 s of hammering
