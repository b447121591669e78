"""The hash-chained audit log: every change is recorded, tampering is detected."""

from __future__ import annotations

import itertools

from click.testing import CliRunner

from infra.ops import cli
from shared import audit, store
from tests.scenario import Registry


def _activity(registry: Registry) -> None:
    performer = registry.member("performer")
    registry.member("business")
    registry.api.post(
        f"/v1/members/{performer.member_id}/suspend", {"reason": "調査"}, token=registry.operator
    )


def test_every_change_is_in_the_audit_log_with_a_chain(registry: Registry) -> None:
    _activity(registry)
    page = registry.api.get("/v1/audit?limit=200", token=registry.operator).json["entries"]
    actions = [e["action"] for e in reversed(page)]
    assert actions == [
        "operator.created",
        "member.applied",
        "member.approved",
        "member.applied",
        "member.approved",
        "member.suspended",
    ]
    ordered = list(reversed(page))
    for previous, entry in itertools.pairwise(ordered):
        assert entry["prev_hash"] == previous["hash"]
    assert audit.verify().ok and audit.verify(audit.PUBLIC).ok


def test_audit_filters_by_entity(registry: Registry) -> None:
    performer = registry.member("performer")
    registry.member("business")
    entity = f"member:{performer.member_id}"
    entries = registry.api.get(f"/v1/audit?entity={entity}", token=registry.operator).json
    assert {e["entity"] for e in entries["entries"]} == {entity}
    assert [e["action"] for e in entries["entries"]] == ["member.applied", "member.approved"]


def test_altering_an_entry_is_caught_and_named(registry: Registry) -> None:
    _activity(registry)
    runner = CliRunner()
    assert runner.invoke(cli, ["verify-audit"]).exit_code == 0
    store.audit_table().update_item(
        Key={"pk": "audit", "sk": f"{3:012d}"},
        UpdateExpression="SET actor = :a",
        ExpressionAttributeValues={":a": "M-EVIL-EVIL-0"},
    )
    result = audit.verify()
    assert not result.ok and result.broken_at == 3
    outcome = runner.invoke(cli, ["verify-audit"])
    assert outcome.exit_code == 1
    assert "entry 3" in outcome.output


def test_deleting_an_entry_is_caught(registry: Registry) -> None:
    _activity(registry)
    store.audit_table().delete_item(Key={"pk": "audit", "sk": f"{2:012d}"})
    result = audit.verify()
    assert not result.ok and result.broken_at == 2 and "missing" in (result.reason or "")


def test_rewriting_an_entry_and_its_hash_breaks_the_next_link(registry: Registry) -> None:
    _activity(registry)
    entry = audit.entries(audit.AUDIT, after=1, limit=1)[0]
    forged = {**entry, "actor": "M-EVIL-EVIL-0"}
    forged["hash"] = audit.entry_hash(forged)
    store.audit_table().put_item(Item=store.to_dynamo(forged))
    result = audit.verify()
    assert not result.ok and result.broken_at == 3


def test_public_log_is_chained_and_paginated(registry: Registry) -> None:
    for _ in range(3):
        registry.member("performer")
    api = registry.api
    first = api.get("/v1/log?limit=2").json
    assert len(first["entries"]) == 2 and first["next"] == "2"
    rest = api.get(f"/v1/log?after={first['next']}&limit=2").json
    assert [e["seq"] for e in rest["entries"]] == [3]
    assert rest["entries"][0]["prev_hash"] == first["entries"][1]["hash"]
    assert first["head"] == {"seq": 3, "hash": rest["entries"][0]["hash"]}
    assert all("email" not in str(e) for e in first["entries"] + rest["entries"])
