"""The hourly sweeps go on past an item changed meanwhile: one contract or label that lost a
conditional write stopped the whole run, and every other due item waited another hour."""

from __future__ import annotations

from typing import Any

import pytest

from shared import store
from shared.business import contracts


def test_a_contract_changed_meanwhile_is_passed_over_and_the_rest_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    due = [{"contract_id": "C-1"}, {"contract_id": "C-2"}, {"contract_id": "C-3"}]
    monkeypatch.setattr(store, "query_all", lambda *a, **k: due)
    monkeypatch.setattr(
        contracts, "get", lambda i: {"contract_id": i, "status": "active", "ends_on": "2020-01-01"}
    )
    changed: list[str] = []

    def change(contract: dict[str, Any], *args: Any) -> None:
        if contract["contract_id"] == "C-1":
            raise store.TransactionFailed(["ConditionalCheckFailed"])  # revoked meanwhile
        changed.append(contract["contract_id"])

    monkeypatch.setattr(contracts, "_change", change)
    assert contracts.end_expired() == ["C-2", "C-3"]
    assert changed == ["C-2", "C-3"]


def test_anything_but_a_change_meanwhile_still_stops_the_sweep(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(store, "query_all", lambda *a, **k: [{"contract_id": "C-1"}])
    monkeypatch.setattr(
        contracts, "get", lambda i: {"contract_id": i, "status": "active", "ends_on": "2020-01-01"}
    )

    def broken(*args: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(contracts, "_change", broken)
    with pytest.raises(RuntimeError):
        contracts.end_expired()
